"""Work done ahead on a thread of its own: results in order, no more than the budget ahead, errors in turn."""

from __future__ import annotations

import time

import pytest

from pipelines.ingest.in_turn import ahead


def test_ahead_gives_results_in_order_and_holds_no_more_than_its_budget():
    started: list[int] = []

    def piece(n: int):
        def run() -> int:
            started.append(n)
            return n * 10

        return run

    work = [(4, piece(0)), (0, "ready"), (4, piece(1)), (4, piece(2)), (4, piece(3))]
    results = ahead(iter(work), budget=8, name="test-ahead")
    assert next(results) == 0
    time.sleep(0.1)  # time for the thread to start whatever was handed to it
    assert started == [0, 1]  # 8 of the budget: piece 2 waits until piece 0 is taken
    assert list(results) == ["ready", 10, 20, 30]
    assert started == [0, 1, 2, 3]


def test_ahead_raises_a_pieces_error_when_its_turn_comes():
    def boom() -> int:
        raise ValueError("unreadable")

    results = ahead(iter([(1, lambda: 1), (1, boom), (1, lambda: 3)]), budget=10, name="test-ahead")
    assert next(results) == 1
    with pytest.raises(ValueError, match="unreadable"):
        next(results)
