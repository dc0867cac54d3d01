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


def test_the_file_probe_times_each_new_file_it_writes(tmp_path) -> None:
    from benchmarks.stage_timing import file_create_us

    created = file_create_us(tmp_path, files=50)
    assert created > 0
    assert len(list((tmp_path / "file_create_probe").iterdir())) == 50  # it wrote them all, left for the folder
