"""Worker processes for the stages: spawned clean, and importing only what their work needs.

Spawned, not forked: the parent holds DuckDB's threads, locks and connections (in Dagster, more).
Started without the parent's main module: a spawned process imports ``__main__`` again before it
takes any work, and that is whatever started the parent (the ``tambon`` script: the whole command
line, 0.6 s; ``python -m benchmarks.village_round``: every stage, 0.7 s), where the work needs its
own module only (a parse worker: the readers, half of that). That import was most of a
worker's start, paid by every worker of every round. So what a worker runs must live in an
importable module, never in ``__main__`` (the functions it is sent are found by module and name).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import sys
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any


def _started() -> None:
    """The first task of each worker: done once it has started (and run the pool's initializer)."""


@contextlib.contextmanager
def _main_module_set_aside() -> Iterator[None]:
    """Inside, ``__main__`` is a bare module, so a process spawned here has none to import."""
    main = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        yield
    finally:
        sys.modules["__main__"] = main


def start_pool(
    workers: int, initializer: Callable[..., None] | None = None, initargs: tuple[Any, ...] = ()
) -> tuple[ProcessPoolExecutor, list[Future[None]]]:
    """``workers`` spawned processes, every one started now: the pool, and a future per worker that is done
    once that worker is ready. (A pool starts a process for each task handed over while none is idle, so the
    first ``workers`` tasks start them all, here, and no later task starts one with the main module.)"""
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("spawn"), initializer=initializer, initargs=initargs
    )
    with _main_module_set_aside():
        ready = [pool.submit(_started) for _ in range(workers)]
    return pool, ready
