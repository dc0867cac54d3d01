"""Run ``tambon`` and ``kill -9`` it at a chosen point: the moment a file is renamed into place.

Every writer of the pipeline writes a temporary name and renames it (``os.replace`` or
``os.rename``). Killing the process just before a chosen rename is the worst moment for
what is left behind: the temporary file is complete, the target is not there yet. The
point is a regular expression over the rename's source or target path
(``TAMBON_KILL_AT``); ``TAMBON_KILL_AFTER=1`` kills just after the rename instead (the
target in place, what follows it not done). Nothing is stubbed: the real CLI runs in a
real process and dies by SIGKILL, as a power cut or the OOM killer would end it.

``TAMBON_PAUSE_AT`` (a pattern as above) and ``TAMBON_PAUSE_GATE`` (a path) pause the process instead,
once, just before the first matching rename: it writes ``<gate>.paused`` and waits until the gate file
exists, so a test can run another process at exactly that moment.

    python -m tests.killpoint run --round 2563-10 --dataset village_profile
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path


def _around_renames(pattern: str, before: Callable[[], None], after: Callable[[], None] = lambda: None) -> None:
    """``before`` and ``after`` every rename (``os.replace``, ``os.rename``) whose source or target matches."""
    matches = re.compile(pattern).search

    def wrapped(original):
        def rename(src, dst, *args, **kwargs):
            hit = matches(os.fspath(src)) or matches(os.fspath(dst))
            if hit:
                before()
            result = original(src, dst, *args, **kwargs)
            if hit:
                after()
            return result

        return rename

    os.replace = wrapped(os.replace)
    os.rename = wrapped(os.rename)


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm() -> None:
    if os.environ.get("TAMBON_KILL_AFTER") == "1":
        _around_renames(os.environ["TAMBON_KILL_AT"], lambda: None, _kill)
    else:
        _around_renames(os.environ["TAMBON_KILL_AT"], _kill)


def _pause() -> None:
    gate = Path(os.environ["TAMBON_PAUSE_GATE"])
    paused = gate.with_name(gate.name + ".paused")

    def wait_at_the_gate() -> None:
        if paused.exists():  # once
            return
        paused.touch()
        deadline = time.monotonic() + 600
        while not gate.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    _around_renames(os.environ["TAMBON_PAUSE_AT"], wait_at_the_gate)


if __name__ == "__main__":
    from pipelines import cli

    if os.environ.get("TAMBON_KILL_AT"):
        _arm()
    if os.environ.get("TAMBON_PAUSE_AT"):
        _pause()
    sys.exit(cli.main(sys.argv[1:]))
