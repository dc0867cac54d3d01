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
from pathlib import Path


def _arm() -> None:
    pattern = re.compile(os.environ["TAMBON_KILL_AT"])
    after = os.environ.get("TAMBON_KILL_AFTER") == "1"

    def armed(original):
        def rename(src, dst, *args, **kwargs):
            hit = pattern.search(os.fspath(src)) or pattern.search(os.fspath(dst))
            if hit and not after:
                os.kill(os.getpid(), signal.SIGKILL)
            result = original(src, dst, *args, **kwargs)
            if hit:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        return rename

    os.replace = armed(os.replace)
    os.rename = armed(os.rename)


def _pause() -> None:
    pattern, gate = re.compile(os.environ["TAMBON_PAUSE_AT"]), Path(os.environ["TAMBON_PAUSE_GATE"])
    paused = gate.with_name(gate.name + ".paused")

    def pausing(original):
        def rename(src, dst, *args, **kwargs):
            if not paused.exists() and (pattern.search(os.fspath(src)) or pattern.search(os.fspath(dst))):
                paused.touch()
                deadline = time.monotonic() + 600
                while not gate.exists() and time.monotonic() < deadline:
                    time.sleep(0.05)
            return original(src, dst, *args, **kwargs)

        return rename

    os.replace = pausing(os.replace)
    os.rename = pausing(os.rename)


if __name__ == "__main__":
    from pipelines import cli

    if os.environ.get("TAMBON_KILL_AT"):
        _arm()
    if os.environ.get("TAMBON_PAUSE_AT"):
        _pause()
    sys.exit(cli.main(sys.argv[1:]))
