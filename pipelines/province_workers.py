"""A round's province runs side by side, in worker processes of this machine (``tambon run --workers N``).

Each worker is a process started once (the code location loaded once), which then runs one
province partition after another, as ``tambon run`` launches a run (in the worker itself, or on
the executor ``TAMBON_EXECUTOR`` names), on the instance of ``DAGSTER_HOME``: every run is
recorded there as if launched by hand, and holds its own ``province|round`` lock, so provinces
never wait for each other, only for their own earlier run. The national steps wait for every
province (``pipelines.round_run``).
"""

from __future__ import annotations

from itertools import repeat

import dagster as dg

from pipelines.worker_processes import start_pool

_worker: dict[str, object] = {}


def _start() -> None:
    from pipelines.definitions import defs

    _worker["defs"], _worker["instance"] = defs, dg.DagsterInstance.get()


def _run(job_name: str, key: str) -> bool:
    from pipelines.cli import execute_run  # the run as tambon run launches it: the configured executor, its reasons

    defs: dg.Definitions = _worker["defs"]  # type: ignore[assignment]
    return execute_run(defs.resolve_job_def(job_name), key, _worker["instance"])


def run_in_workers(job_name: str, keys: list[str], workers: int) -> list[bool]:
    """Run ``job_name`` for each partition key in ``workers`` processes; each run's success, in key order."""
    pool, _ = start_pool(workers, initializer=_start)
    with pool:
        return list(pool.map(_run, repeat(job_name), keys))
