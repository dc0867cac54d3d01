"""Work handed to a thread of its own one piece at a time, in order, beside the thread that hands it over.

The sort parses files on its own thread and hands three kinds of work to others: reading and hashing
the next files (:func:`ahead`), the rows of a batch to normalise, route and write, and the files of a
batch to archive. Each keeps what is in flight bounded, and the work is done in the order it was given;
an error is raised on the sort's thread, when it comes to that piece, at the next hand-over or at
:meth:`InTurn.close`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


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


def ahead(work: Iterable[tuple[int, Callable[[], T] | T]], budget: int, name: str) -> Iterator[T]:
    """The results of ``work`` in its order, each piece done on a thread named ``name`` while the caller is still
    busy with the ones before: at most ``budget`` (in the pieces' own sizes, the first of each size) ahead.

    A piece is (size, callable) or (0, a value ready already, handed on in its turn).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix=name) as thread:
        pending: deque[tuple[int, Future[T]]] = deque()
        held = 0
        for size, piece in work:
            while pending and held + size > budget:
                done, future = pending.popleft()
                held -= done
                yield future.result()
            if callable(piece):
                future = thread.submit(piece)
            else:
                future, size = Future(), 0
                future.set_result(piece)
            pending.append((size, future))
            held += size
        while pending:
            yield pending.popleft()[1].result()
