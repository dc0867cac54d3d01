"""The sort's files parsed in worker processes, their rows taken back in the files' order.

Why processes: parsing a file is Python holding the GIL most of the time (calamine's cells as Python
values, Python's ``csv`` for a short body, each text column built), and it was the sort's longest
thread: a national round's sort waited on it while the machine's other core had little to do.
Files go to the workers in batches of about :data:`BATCH_BYTES` (a village round's 8,500 files of a
few kilobytes each: a message per file would cost more than parsing it), and come back in the
order they were handed over, so the parts are written exactly as when one process parses them all.

A worker takes over a second to start (it imports the readers), more than most files take to parse:
files are parsed here until the workers are ready, and a sort with little to read (a late file, an
office's correction) never starts them (:func:`parse_workers`). A worker that dies on a file takes no
round with it (:class:`Parsing`).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Generic, TypeVar

import pyarrow as pa

from domain.declarations import DatasetSpec
from domain.limits import Limits
from pipelines.ingest.normalise import header_matcher
from pipelines.ingest.problems import FileProblem
from pipelines.ingest.received import FileRecord, parse_file, reject
from pipelines.worker_processes import start_pool

T = TypeVar("T")

#: A batch handed to a worker holds files of about this many bytes in all (a larger file goes alone)
BATCH_BYTES = 1 << 20
#: Bytes of files handed over and not yet taken back, at most (their rows wait in memory meanwhile)
IN_FLIGHT_BYTES = 48 << 20
#: Fewer bytes than this to parse and the sort parses them itself: starting the workers costs more
POOL_FROM_BYTES = 24 << 20
#: Worker processes (unset: one per core); 0 or 1: every file parsed in the sort's own process
PARSE_WORKERS = "TAMBON_PARSE_WORKERS"
#: Files are parsed here while the workers start; False: wait for them (a test's few files all go to them)
PARSE_WHILE_STARTING = True

_worker: dict[str, object] = {}


def parse_workers(bytes_to_parse: int) -> int:
    """How many processes to parse ``bytes_to_parse`` in: 0 (the sort's own) when too few bytes, one core,
    or when this process may have no children (a daemon process, as a Celery prefork worker's)."""
    wanted = int(os.environ.get(PARSE_WORKERS, os.cpu_count() or 1))
    if wanted <= 1 or bytes_to_parse < POOL_FROM_BYTES or multiprocessing.current_process().daemon:
        return 0
    return wanted


def _start(spec: DatasetSpec, limits: Limits) -> None:
    _worker.update(spec=spec, match=header_matcher(spec.fields), limits=limits)


def _parse_batch(batch: list[tuple[bytes, FileRecord]]) -> tuple[list[tuple[list[int], FileRecord]], bytes]:
    """Each file's record as :func:`parse_file` left it with its tables' rows, and every file's rows as one Arrow
    stream of one record batch: pickled one by one, a batch's small tables came to ten times the bytes of its files
    (a slice pickles its whole buffer) and cost more than the parsing; sent as a batch each, they cost the sort's
    own thread tens of microseconds a table to take back (a village round's 8,500 files: a fifth of its work)."""
    spec, match, limits = _worker["spec"], _worker["match"], _worker["limits"]
    files, tables = [], []
    for data, record in batch:
        parsed = parse_file(data, spec, match, record, limits)  # type: ignore[arg-type]
        files.append(([table.num_rows for table in parsed], record))
        tables += parsed
    sink = pa.BufferOutputStream()
    if tables:
        rows = pa.concat_tables(tables).combine_chunks()
        with pa.ipc.new_stream(sink, rows.schema) as stream:
            stream.write_table(rows)
    return files, sink.getvalue().to_pybytes()


def _unpack(files: list[tuple[list[int], FileRecord]], stream: bytes) -> Iterator[tuple[list[pa.Table], FileRecord]]:
    """:func:`_parse_batch`'s answer as each file's tables (slices of the stream's rows, no copy) and record."""
    rows = pa.ipc.open_stream(stream).read_all() if stream else None
    offsets = itertools.accumulate((n for sizes, _ in files for n in sizes), initial=0)
    for sizes, record in files:
        yield [rows.slice(next(offsets), n) for n in sizes], record  # type: ignore[union-attr]


class _Entry(Generic[T]):
    """One file handed over: its rows once parsed (None: nothing to parse), or its place in a batch."""

    def __init__(self, record: FileRecord, extra: T, data: bytes | None = None) -> None:
        self.record, self.extra = record, extra
        self.data = data  # kept until its rows are back: parsed again alone if its worker dies
        self.tables: list[pa.Table] | None = None
        self.gathered = False  # in the batch not yet handed to a worker
        self.batch: Future[tuple[list[tuple[list[int], FileRecord]], bytes]] | None = None
        self.siblings: list[_Entry[T]] = []  # the entries of its batch, in order (itself among them)

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else 0


Done = tuple[FileRecord, "list[pa.Table] | None", T]


class Parsing(Generic[T]):
    """Files parsed in the order handed over (:meth:`put`), each given back with its record and ``extra``
    in that order (what :meth:`put` and :meth:`rest` yield), in ``workers`` processes or in this one.

    A worker that dies (a reader's crash in C or Rust, the memory a file takes) takes no round with it:
    the files it and the others held are parsed again one at a time, each in a process of its own, and
    the one that kills its process too is rejected as unreadable; fresh workers take the files after them.
    """

    def __init__(self, spec: DatasetSpec, limits: Limits, workers: int) -> None:
        self.spec, self.limits, self.workers = spec, limits, workers
        self.match = header_matcher(spec.fields)
        self.entries: deque[_Entry[T]] = deque()
        self.batch: list[_Entry[T]] = []
        self.batch_bytes = self.in_flight = 0
        self.pool: ProcessPoolExecutor | None = None
        self.warm: list[Future[None]] = []
        if workers > 1:
            self._start_workers()
            if not PARSE_WHILE_STARTING:
                self.warm[0].result()

    def put(self, record: FileRecord, extra: T, data: bytes | None) -> Iterator[Done[T]]:
        """Hand over one file (``data``: its bytes to parse, None when there is nothing to parse); yields the
        files before it (and it) that are done, in order, waiting only to keep the bytes in flight bounded."""
        entry = _Entry(record, extra)
        self.entries.append(entry)
        if data is not None and self._pooled():
            entry.data, entry.gathered = data, True
            self.batch.append(entry)
            self.batch_bytes += entry.size
            self.in_flight += entry.size
            if self.batch_bytes >= BATCH_BYTES:
                self._submit()
        elif data is not None:
            entry.tables = parse_file(data, self.spec, self.match, record, self.limits)
        yield from self._done(everything=False)

    def rest(self) -> Iterator[Done[T]]:
        """Every file still in hand, in order, once parsed."""
        yield from self._done(everything=True)

    def close(self) -> None:
        """The workers stopped (what they were still given is dropped: the sort failed)."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None

    def _start_workers(self) -> None:
        self.pool, self.warm = _processes(self.workers, self.spec, self.limits)

    def _pooled(self) -> bool:
        """Whether the workers take files now: once one has started (until then, this process parses)."""
        return self.pool is not None and any(future.done() for future in self.warm)

    def _submit(self) -> None:
        assert self.pool is not None
        batch, self.batch, self.batch_bytes = self.batch, [], 0
        future = self.pool.submit(_parse_batch, [(entry.data, entry.record) for entry in batch])
        for entry in batch:
            entry.gathered, entry.batch, entry.siblings = False, future, batch

    def _done(self, everything: bool) -> Iterator[Done[T]]:
        """The files at the head that are done; waiting for them when ``everything`` or too much is in flight."""
        while self.entries:
            head = self.entries[0]
            wait = everything or self.in_flight > IN_FLIGHT_BYTES
            if head.gathered:
                if not wait:
                    return
                self._submit()
            if head.batch is not None:
                if not (wait or head.batch.done()):
                    return
                try:
                    answer = head.batch.result()
                except BrokenProcessPool:
                    self._parse_alone()
                    continue
                for entry, (tables, parsed) in zip(head.siblings, _unpack(*answer), strict=True):
                    vars(entry.record).update(vars(parsed))  # what parsing found, on the caller's record
                    self._taken(entry, tables)
            self.entries.popleft()
            yield head.record, head.tables, head.extra

    def _taken(self, entry: _Entry[T], tables: list[pa.Table]) -> None:
        self.in_flight -= entry.size
        entry.tables, entry.data, entry.batch, entry.siblings = tables, None, None, []

    def _parse_alone(self) -> None:
        """After a worker died: every file handed over and not taken back, in a process of its own one at a time
        (a file that kills that one too is rejected), then fresh workers for the files to come."""
        assert self.pool is not None
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.batch, self.batch_bytes = [], 0
        alone: ProcessPoolExecutor | None = None
        for entry in [entry for entry in self.entries if entry.gathered or entry.batch is not None]:
            entry.gathered = False
            alone = alone or _processes(1, self.spec, self.limits)[0]
            try:
                (tables, parsed), *_ = _unpack(*alone.submit(_parse_batch, [(entry.data, entry.record)]).result())
                vars(entry.record).update(vars(parsed))
            except BrokenProcessPool:
                alone.shutdown(wait=False)
                alone = None
                tables = reject(entry.record, FileProblem("unreadable_file", "BrokenProcessPool"))
            self._taken(entry, tables)
        if alone is not None:
            alone.shutdown()
        self._start_workers()


def _processes(workers: int, spec: DatasetSpec, limits: Limits) -> tuple[ProcessPoolExecutor, list[Future[None]]]:
    return start_pool(workers, initializer=_start, initargs=(spec, limits))
