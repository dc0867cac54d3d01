"""Work handed to a thread of its own one piece at a time, in order, beside the thread that hands it over.

The sort reads and parses files on its own thread and hands two kinds of work to others: the rows
of a batch to normalise, route and write, and the files of a batch to archive. Each keeps at most
one piece in flight, so memory stays bounded and the work is done in the order it was given; an
error is raised on the sort's thread, at the next hand-over or at :meth:`InTurn.close`.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class InTurn:
    """One piece of work at a time on a thread named ``name``: :meth:`submit` first waits for the one before."""

    def __init__(self, name: str) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._running: Future[None] | None = None

    def submit(self, work: Callable[..., None], *args: Any) -> None:
        self.wait()
        self._running = self._thread.submit(work, *args)

    def wait(self) -> None:
        """Until the piece handed over last is done (its error, if any, raised here)."""
        if self._running is not None:
            running, self._running = self._running, None
            running.result()

    def close(self) -> None:
        """The last piece done (or its error raised), and the thread ended."""
        try:
            self.wait()
        finally:
            self._thread.shutdown()
