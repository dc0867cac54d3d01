"""One run per dataset and partition at a time, whoever starts it (the CLI, a sensor, the UI).

Two runs of the same round would each read and write the round's work area, and each
print figures that the other had just overwritten. The lock is an exclusive ``flock`` on
``<data>/.locks/<name>__<key>.lock``: the kernel releases it when its process ends,
however it ends (``kill -9`` included), so a crash never leaves the round locked, and a
second run simply waits for the first. The file itself stays (empty locks cost nothing
and deleting one under a waiter would split the lock); it says who holds it, and for
which Dagster run.

A lock is a name (the dataset, or a scorecard) and a key string: today the round
(``2020-10``), tomorrow perhaps a multi-dimensional partition (``2020-10|47``). Only a key
that is exactly a round sweeps what killed runs left in the round's folders (a province's
run must not clear the folders its round's other provinces are writing).

Who holds it, executor by executor (``pipelines/executors.py``):

* the process that orchestrates a run holds every lock of the run from before its first
  step to after its last, and writes the run's id into the lock file (:func:`hold` with
  ``run_id``). With the in-process executor that process also runs the steps; with the
  multiprocess or Celery executor it only launches them.
* a step (the ``RunLocks`` resource, :class:`RunHolds`) joins the lock (:func:`join`): it
  takes nothing exclusive when the lock is held for its own run by another live process (the
  orchestrator, or a sibling step), and waits, polling, while another run holds it. It
  never blocks on the flock itself, so a step never deadlocks against the process that
  launched its run or against its sibling steps. When nobody holds the lock (a run
  without the orchestrator's hold, e.g. ``dg.materialize`` in a test) the step takes it
  for as long as its resources live.
* a joined step shares a second file, ``<name>__<key>.steps``, while it works, and whoever
  takes the lock waits until nobody shares it any more: a step still running in a worker
  after its orchestrator was killed keeps the next run waiting until it ends (or dies).
  A Celery task of a killed run that a worker only picks up later finds the lock free or
  held for another run, and takes it or waits like any step: never alongside another run.

Held per process and re-entrant: the CLI holds the round while the run it launches takes
it again in the same process, and keeps it until it has printed its own run's figures.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import quote

from domain.layout import Layout
from domain.rounds import Round, RoundError, parse_round
from domain.work import LOCKS
from pipelines.leftovers import sweep

POLL_SECONDS = 0.2  #: how often a waiting step looks at the lock again

Key = Round | str  #: a round, or any partition key string ("2020-10|47")

_held: dict[Path, tuple[IO[str], int]] = {}  # lock file -> (open file, depth), for this process
_guard = threading.Lock()


def key_text(key: Key) -> str:
    """The partition key a lock is named by: a round's Gregorian key, or the string as given."""
    return key.key if isinstance(key, Round) else key


def _shown(key: Key) -> str:
    """The key as people read it: a round in both calendars, any other key as it is."""
    return f"{key.be_key} ({key.key})" if isinstance(key, Round) else key


def _round_of(key: Key) -> Round | None:
    """The round when the key is exactly one (only then is the round's work folder the run's own)."""
    if isinstance(key, Round):
        return key
    try:
        return parse_round(key)
    except RoundError:
        return None


def lock_path(layout: Layout, name: str, key: Key) -> Path:
    """``<data>/.locks/<name>__<key>.lock``; a key's ``|`` and other non-file characters are %-escaped, so two
    different keys never share a file (a round's key, ``2020-10``, is unchanged)."""
    return layout.root / LOCKS / f"{name}__{quote(key_text(key), safe='-._')}.lock"


def holder(path: Path) -> dict[str, str]:
    """Who holds (or last held) the lock, as it wrote itself into the file."""
    try:
        return json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def waiting_message(name: str, key: Key, who: dict[str, str]) -> str:
    pid = who.get("pid", "?")
    since = who.get("since", "?")
    run = f", run {who['run_id'][:8]}" if who.get("run_id") else ""
    return (
        f"รอให้การประมวลผล {name} รอบ {_shown(key)} ที่กำลังทำอยู่ (pid {pid}{run} เริ่ม {since}) เสร็จก่อน"
        f" / waiting for the run of {name} {key_text(key)} already in progress (pid {pid}{run}, since {since})"
    )


def _write_holder(handle: IO[str], run_id: str | None) -> None:
    """This process (and the run it holds the lock for) into the lock file, for waiters and for steps to read."""
    since = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    who = {"pid": str(os.getpid()), "since": since, **({"run_id": run_id} if run_id else {})}
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps(who))
    handle.flush()


def _reenter(path: Path, run_id: str | None) -> bool:
    """Take one more level of a lock this process holds (naming ``run_id`` in it, when given)."""
    with _guard:
        if path not in _held:
            return False
        handle, depth = _held[path]
        _held[path] = (handle, depth + 1)
        if run_id:  # the CLI holds the round, then launches a run that takes it again: the run is named
            _write_holder(handle, run_id)
        return True


def _acquire(path: Path, blocking: bool) -> IO[str] | None:
    """The lock file, open and exclusively flocked; None (nothing held) when not ``blocking`` and it is taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
    except BlockingIOError:
        handle.close()
        return None
    except BaseException:
        handle.close()
        raise
    return handle


def steps_path(path: Path) -> Path:
    """The file the steps that joined a run share (``….lock`` -> ``….steps``), while they work."""
    return path.with_suffix(".steps")


def _share(path: Path) -> IO[str] | None:
    """The steps file, open and shared-flocked for a joining step; None while a new holder waits to drain it."""
    handle = steps_path(path).open("a", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    except BaseException:
        handle.close()
        raise
    return handle


def draining_message(name: str, key: Key) -> str:
    return (
        f"รอให้ขั้นตอนที่ยังทำงานอยู่ของการประมวลผล {name} รอบ {_shown(key)} ครั้งก่อน (ที่ถูกหยุดกลางคัน) เสร็จก่อน"
        f" / waiting for steps of an earlier (interrupted) run of {name} {key_text(key)} still working"
    )


def _drain(path: Path, name: str, key: Key, on_wait: Callable[[str], None] | None) -> None:
    """Before work starts under a lock just taken: wait until no step that joined an earlier run still works.

    A step that joined its run holds nothing but a shared flock on the steps file; when its orchestrator is
    killed the lock is free at once, yet the step may still be running in its worker. The new holder takes
    the steps file exclusively (so it waits for those steps, however they end: a killed one drops its flock
    too), then lets go at once, so that its own run's steps can share it.
    """
    with steps_path(path).open("a", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(draining_message(name, key))
            fcntl.flock(handle, fcntl.LOCK_EX)


@contextmanager
def _owned(
    layout: Layout,
    name: str,
    key: Key,
    handle: IO[str],
    run_id: str | None,
    on_wait: Callable[[str], None] | None,
) -> Iterator[list[Path]]:
    """A lock just acquired: written, registered for this process, drained of an earlier run's steps, swept when
    the key is a round, released."""
    path = lock_path(layout, name, key)
    try:
        _write_holder(handle, run_id)
    except BaseException:
        handle.close()
        raise
    with _guard:
        _held[path] = (handle, 1)
    try:
        _drain(path, name, key, on_wait)
        round_ = _round_of(key)
        yield sweep(layout, name, round_) if round_ is not None else []
    finally:
        _release(path)


@contextmanager
def hold(
    layout: Layout,
    name: str,
    key: Key,
    on_wait: Callable[[str], None] | None = None,
    run_id: str | None = None,
) -> Iterator[list[Path]]:
    """Hold ``name``'s ``key`` for this process; wait (calling ``on_wait`` once) while another holds it.

    ``run_id``: the Dagster run this process holds it for, written into the lock file so that the
    run's steps in other processes know it is held for them (:func:`join`).

    On first acquiring a round's lock, sweeps what killed runs left behind (:func:`pipelines.leftovers.sweep`)
    and yields the removed paths; a re-entrant hold, or a key that is not a round, yields an empty list.
    """
    path = lock_path(layout, name, key)
    if _reenter(path, run_id):
        try:
            if run_id:  # a new run under this process's hold: an earlier one stopped by an interrupt may have
                _drain(path, name, key, on_wait)  # left steps running (Celery does not wait for revoked tasks)
            yield []
        finally:
            _release(path)
        return
    handle = _acquire(path, blocking=False)
    if handle is None:
        if on_wait is not None:
            on_wait(waiting_message(name, key, holder(path)))
        handle = _acquire(path, blocking=True)
    with _owned(layout, name, key, handle, run_id, on_wait) as removed:
        yield removed


@contextmanager
def join(
    layout: Layout,
    name: str,
    key: Key,
    run_id: str,
    on_wait: Callable[[str], None] | None = None,
    poll: float = POLL_SECONDS,
) -> Iterator[list[Path]]:
    """A step of run ``run_id`` needs ``name``'s ``key``: go ahead when it is held for this run, wait otherwise.

    * held by this process: re-entrant, as :func:`hold`;
    * free: take it for this process (a run whose orchestrator holds nothing), as :func:`hold`;
    * held by another live process for ``run_id`` (the process orchestrating the run, or a sibling
      step that took it): go ahead holding only a shared flock on the steps file (:func:`steps_path`),
      since the run already excludes every other run; should the holder be killed meanwhile, the next
      holder waits for this step to end (:func:`_drain`);
    * held for another run, or by a process that names no run (another ``tambon run`` between
      taking the round and launching its run): wait, calling ``on_wait`` once, looking again
      every ``poll`` seconds. Never a blocking ``flock``: the holder may be the very process
      waiting for this step to end, which names this run a moment after taking the lock.
    """
    path = lock_path(layout, name, key)
    if _reenter(path, None):
        try:
            yield []
        finally:
            _release(path)
        return
    told = False
    while True:
        handle = _acquire(path, blocking=False)
        if handle is not None:
            with _owned(layout, name, key, handle, run_id, on_wait) as removed:
                yield removed
            return
        # shared first, then who holds it: a holder that took the lock after the check would wait for this step
        share = _share(path)
        who = holder(path)
        if share is not None and who.get("run_id") == run_id:
            try:
                yield []
            finally:
                share.close()
            return
        if share is not None:
            share.close()
        if not told and on_wait is not None:
            on_wait(waiting_message(name, key, who))
            told = True
        time.sleep(poll)


def _release(path: Path) -> None:
    with _guard:
        handle, depth = _held[path]
        if depth > 1:
            _held[path] = (handle, depth - 1)
            return
        del _held[path]
    handle.close()  # closing the only descriptor releases the flock


def held(layout: Layout, name: str, key: Key) -> bool:
    """Whether this process holds the lock (for checks and tests)."""
    return lock_path(layout, name, key) in _held


class RunHolds:
    """The locks one run's step (or, in process, the whole run) holds, each taken at the first step that asks and
    all released when the resource ends.

    ``pipelines.resources.RunLocks`` makes one per initialisation of the run's resources: once per run with the
    in-process executor, once per step with the multiprocess or Celery executor, where the run's orchestrator
    already holds the locks for ``run_id`` (``pipelines/executors.py``) and the steps only join them.
    """

    def __init__(self, layout: Layout, stack: ExitStack, say: Callable[[str], None], run_id: str | None = None) -> None:
        self.layout, self.stack, self.say, self.run_id = layout, stack, say, run_id

    def hold(self, name: str, key: Key) -> None:
        if held(self.layout, name, key):
            return
        if self.run_id:
            taken = join(self.layout, name, key, self.run_id, on_wait=self.say)
        else:
            taken = hold(self.layout, name, key, on_wait=self.say)
        removed = self.stack.enter_context(taken)
        if removed:
            self.say(
                f"ลบไฟล์ชั่วคราวที่การประมวลผลที่ถูกหยุดกลางคันทิ้งไว้ {len(removed)} รายการ"
                f" / removed {len(removed)} temporary files left by an interrupted run"
            )
