"""A round's province runs side by side, in worker processes of this machine (``tambon run --workers N``).

Each worker is a process started once (the code location loaded once), which then runs one
province partition after another in-process, on the instance of ``DAGSTER_HOME``: every run is
recorded there as if launched by hand, and holds its own province's lock (``pipelines.assets``),
so provinces never wait for each other, only for their own earlier run. The national steps wait
for every province (``pipelines.round_run``).
"""

from __future__ import annotations

import multiprocessing
import sys
from concurrent.futures import ProcessPoolExecutor
from itertools import repeat

import dagster as dg

_worker: dict[str, object] = {}
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


def _start() -> None:
    from pipelines.definitions import defs

    _worker["defs"], _worker["instance"] = defs, dg.DagsterInstance.get()


def _run(job_name: str, key: str) -> bool:
    defs: dg.Definitions = _worker["defs"]  # type: ignore[assignment]
    result = defs.resolve_job_def(job_name).execute_in_process(
        partition_key=key, instance=_worker["instance"], raise_on_error=False, run_config=QUIET
    )
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            while error.cause is not None:
                error = error.cause
            print(f"✗ {key} {event.step_key}: {error.message.strip()}", file=sys.stderr)
    return result.success


def run_in_workers(job_name: str, keys: list[str], workers: int) -> list[bool]:
    """Run ``job_name`` for each partition key in ``workers`` processes; each run's success, in key order."""
    context = multiprocessing.get_context("spawn")  # a clean process: no inherited locks, threads or connections
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_start) as pool:
        return list(pool.map(_run, repeat(job_name), keys))
