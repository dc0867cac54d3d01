"""One run per dataset and round at a time, whoever starts it (the CLI, a sensor, the UI).

Two runs of the same round would each read and write the round's work area, and each
print figures that the other had just overwritten. The lock is an exclusive ``flock`` on
``<data>/.locks/<dataset>__<round>.lock``: the kernel releases it when its process ends,
however it ends (``kill -9`` included), so a crash never leaves the round locked, and a
second run simply waits for the first. The file itself stays (empty locks cost nothing
and deleting one under a waiter would split the lock); it says who holds it.

Held per process and re-entrant: the CLI holds the round while its in-process Dagster run
takes it again, and keeps it until it has printed its own run's figures.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO

from domain.layout import Layout
from domain.rounds import Round
from pipelines.leftovers import sweep

LOCKS = ".locks"

_held: dict[Path, tuple[IO[str], int]] = {}  # lock file -> (open file, depth), for this process
_guard = threading.Lock()


def lock_path(layout: Layout, name: str, round_: Round) -> Path:
    return layout.root / LOCKS / f"{name}__{round_.key}.lock"


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """A short critical section between processes (e.g. the first use of a new Dagster instance, whose
    SQLite schema two processes would otherwise both try to create)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def holder(path: Path) -> dict[str, str]:
    """Who holds (or last held) the lock, as it wrote itself into the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def waiting_message(name: str, round_: Round, who: dict[str, str]) -> str:
    pid = who.get("pid", "?")
    since = who.get("since", "?")
    return (
        f"รอให้การประมวลผล {name} รอบ {round_.be_key} ที่กำลังทำอยู่ (pid {pid} เริ่ม {since}) เสร็จก่อน"
        f" / waiting for the run of {name} {round_.key} already in progress (pid {pid}, since {since})"
    )


@contextmanager
def hold(
    layout: Layout, name: str, round_: Round, on_wait: Callable[[str], None] | None = None
) -> Iterator[list[Path]]:
    """Hold ``name``'s ``round_`` for this process; wait (calling ``on_wait`` once) while another holds it.

    On first acquiring, sweeps what killed runs left behind (:func:`pipelines.leftovers.sweep`)
    and yields the removed paths; a re-entrant hold yields an empty list.
    """
    path = lock_path(layout, name, round_)
    with _guard:
        if path in _held:
            handle, depth = _held[path]
            _held[path] = (handle, depth + 1)
            reentrant = True
        else:
            reentrant = False
    if reentrant:
        try:
            yield []
        finally:
            _release(path)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(waiting_message(name, round_, holder(path)))
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        since = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        handle.write(json.dumps({"pid": str(os.getpid()), "since": since}))
        handle.flush()
    except BaseException:
        handle.close()
        raise
    with _guard:
        _held[path] = (handle, 1)
    try:
        yield sweep(layout, name, round_)
    finally:
        _release(path)


def _release(path: Path) -> None:
    with _guard:
        handle, depth = _held[path]
        if depth > 1:
            _held[path] = (handle, depth - 1)
            return
        del _held[path]
    handle.close()  # closing the only descriptor releases the flock


def held(layout: Layout, name: str, round_: Round) -> bool:
    """Whether this process holds the round (for checks and tests)."""
    return lock_path(layout, name, round_) in _held


class RunHolds:
    """The rounds one run holds, each taken at its first step and all released when the run ends.

    Dagster's in-process executor initialises a run's resources once, so the resource that
    makes this object (``pipelines.resources.RunLocks``) spans the whole run.
    """

    def __init__(self, layout: Layout, stack: ExitStack, say: Callable[[str], None]) -> None:
        self.layout, self.stack, self.say = layout, stack, say

    def hold(self, name: str, round_: Round) -> None:
        if held(self.layout, name, round_):
            return
        removed = self.stack.enter_context(hold(self.layout, name, round_, on_wait=self.say))
        if removed:
            self.say(
                f"ลบไฟล์ชั่วคราวที่การประมวลผลที่ถูกหยุดกลางคันทิ้งไว้ {len(removed)} รายการ"
                f" / removed {len(removed)} temporary files left by an interrupted run"
            )
