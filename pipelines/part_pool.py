"""Province parts validated side by side in worker processes (``RoundJob.workers``, ``TAMBON_WORKERS``).

Why processes: a part's validation spends much of its time where one thread works at a time
(Parquet writing, Python between the queries), so two parts at once use a 2-core machine that
one part leaves half idle. Each part's work is the same function as in one process and
writes only its own part's files, so the tables are the same whatever the number of workers.
Dagster runs do the same through ``tambon run --workers N`` (``pipelines.province_workers``);
this is the stages' own path (benchmarks, a whole round run without Dagster).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any, TypeVar

from pipelines.worker_processes import start_pool
from validation.schema_sql import DUCKDB_THREADS

T = TypeVar("T")
_worker: dict[str, Any] = {}


def _start(job: Any, threads: int) -> None:
    _worker["job"] = job
    # the machine's cores shared out: each worker's DuckDB connections use its share (unless told otherwise)
    os.environ.setdefault(DUCKDB_THREADS, str(threads))


def _call(step: Callable[[Any, str], T], province: str) -> T:
    return step(_worker["job"], province)


def _portable(job: Any) -> Any:
    """The job without what it computed (its registry tables): each worker loads its own, once."""
    light = copy.copy(job)
    for cached in ("geography", "provinces", "work"):
        light.__dict__.pop(cached, None)
    return light


def each_part(job: Any, step: Callable[[Any, str], T], provinces: list[str], workers: int) -> list[T]:
    """``step(job, province)`` for every province, in ``workers`` processes (in this one when 1, or one part).

    ``step`` must be a module-level function (or a ``functools.partial`` of one): it is sent to the
    workers by name. Results come back in the provinces' order; the first failure is raised.
    """
    if workers <= 1 or len(provinces) <= 1:
        return [step(job, province) for province in provinces]
    threads = max(1, (os.cpu_count() or 1) // workers)
    pool, _ = start_pool(min(workers, len(provinces)), initializer=_start, initargs=(_portable(job), threads))
    with pool:
        futures = [pool.submit(_call, step, province) for province in provinces]
        return [future.result() for future in futures]
