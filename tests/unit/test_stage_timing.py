"""The benchmarks' stage timer counts the CPU of a stage's worker processes, not only its own."""

from __future__ import annotations

import multiprocessing
import time
from concurrent.futures import ProcessPoolExecutor

from benchmarks.stage_timing import TimedRound


def _burn(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_a_stage_counts_its_workers_cpu_and_its_wall_time() -> None:
    timed = TimedRound()
    with timed.stage("work"), ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(_burn, [0.3, 0.3]))
    with timed.stage("rest"):
        time.sleep(0.2)
    assert timed.cpu_seconds["work"] >= 0.6  # both workers' CPU, which this process never spent itself
    assert timed.seconds["work"] > 0.3
    assert timed.cpu_seconds["rest"] < 0.1 <= timed.seconds["rest"]  # waiting is wall time, not CPU
