"""A round's files sorted into province parts, and each part read into its received rows (issue #16).

A file's name says nothing of its province; its rows do. The round's sorting step
(:func:`sort_round`) reads each file it has not read before (a file is known by its SHA-256, and
one of the same name, size and time is not even read again), normalises its rows and sends each
row to the part of the province its geography code names. A row without one goes with its file
(the province most of the file's rows name), and a file with none to the part ``00``. A part
changes only when one of its files does; its digest says so, and :attr:`Sorted.changed` lists
the parts to run again: a late file re-runs its province alone.

Each province's own step (:func:`read_province`) then takes the part's rows, numbered from the
province's offset (ids stay unique in the round) in the files' landed order (numbered again when a
file landed since between others), and reads its district offices' corrections after them, as a
whole-round read does (:mod:`pipelines.ingest.received`). Whether the
parts were sorted in one run or in many, a part holds the same rows and is read the same way: a
round run whole and a round run province by province end in the same tables.

State, in ``<work>/sorted/``: ``<province>.parquet`` (normalised rows with their lineage, numbered in
the files' landed order from the province's offset: a part without corrections is its province's
received rows as it is), ``files.parquet`` (every ordinary file's record, its province and rows per
province, and its size and time, to know it again) and ``digests.json``. A sort that dies is
re-run to the same state: parts are replaced whole, the record of what was read is written last,
and a file whose rows a dead sort half-wrote is read again and replaces them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domain.declarations import DatasetSpec
from domain.limits import limits_for
from domain.rounds import Round
from domain.work import ROW_ID_STRIDE, WorkArea, read_file, rows_by_key, write_atomic
from pipelines.ingest.corrections import CORRECTIONS_FOLDER, in_corrections, office_of
from pipelines.ingest.in_turn import InTurn, ahead
from pipelines.ingest.landing import Archiver, LandedFile, Listed, archive_path, find_files, land, listing
from pipelines.ingest.normalise import Normaliser, header_matcher
from pipelines.ingest.parse_pool import Parsing, parse_workers
from pipelines.ingest.received import (
    BATCH_ROWS,
    CORRECTION_SCHEMA,
    LINEAGE,
    ROW_ID,
    FileRecord,
    RowWriter,
    file_record,
    read_corrections,
    received_schema,
)
from pipelines.ingest.returned_rows import capture, landed_order, prepare, wanted_identities

SORTED = "sorted"
#: How many bytes of files the sort reads and hashes ahead of the one it parses (a household round: its sort
#: 50.3-50.8 s against 51.6-53.4 s reading each file as its turn came)
READ_AHEAD_BYTES = 32 << 20
#: A file smaller than this is read when its turn comes: handing it to the thread costs more than reading it (a
#: village round's files, a few kB each)
READ_ON_THE_SPOT = 64 << 10
UNPLACED = "00"  # the part of rows and files no province can be told for
FILE_COLUMNS = list(FileRecord.__dataclass_fields__)
#: ``files`` of every part alike, even an empty one (DuckDB reads the parts as one table)
FILE_SCHEMA = pa.schema(
    [
        (f.name, {"str": pa.string(), "int": pa.int64(), "list[str]": pa.list_(pa.string())}[str(f.type)])
        for f in FileRecord.__dataclass_fields__.values()
    ]
)
#: What the sort keeps per file beside its record: its province, rows per province, and its listing.
SORT_COLUMNS = [*FILE_COLUMNS, "home", "provinces", "mtime_ns"]


@dataclass
class Sorted:
    files: pd.DataFrame  # every ordinary file of the round (SORT_COLUMNS), in landed order
    digests: dict[str, str]  # province part -> digest of what it holds
    changed: list[str]  # parts whose digest differs from the last sort's (new, changed or gone)
    files_read: int  # files parsed by this sort (the others were known)
    by_part: SortedFiles  # what reading each part takes of ``files``, worked out once for every part


def sorted_folder(work: WorkArea) -> Path:
    return work.folder / SORTED


#: How a sorted part is written: its rows as the part's received rows hold them (``received_schema``: numbered,
#: in the files' landed order), so a part without corrections is received as it is (:func:`read_province`). No
#: statistics (nothing looks a row up by them; they cost a quarter of the writing); dictionaries, which the
#: validator's DuckDB reads several times faster than plain text, in a file half the size.
_PART_WRITING: dict[str, Any] = {"compression": "snappy", "write_statistics": False}


def _first_id(province: str) -> int:
    """A part's rows are numbered from its province's offset: ids stay unique in the round."""
    return int(province) * ROW_ID_STRIDE


def _previous(folder: Path) -> pd.DataFrame:
    path = folder / "files.parquet"
    if path.exists():
        return pd.read_parquet(path)
    return pd.DataFrame(columns=SORT_COLUMNS)


def _part_paths(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.parquet") if p.stem.isdigit())


def _current(part: Path, schema: pa.Schema) -> bool:
    """Whether a sorted part has the shape this version writes (``schema``), not an older version's."""
    return pq.read_schema(part).names == schema.names


def _file_order(files: pd.DataFrame) -> pa.Array:
    """The SHA-256 of every file read (``status`` ok), in landed order: the order of a part's rows."""
    return pa.array(files.loc[files["status"] == "ok", "sha256"].tolist(), pa.string())


class SortedFiles:
    """What reading a part takes of the sort's record of the round's files (``Sorted.files``), worked out once for
    every part (filtering the whole round's frame in each of 78 parts cost a village round's ingest a second),
    and only when a part is read."""

    def __init__(self, files: pd.DataFrame) -> None:
        self.files = files

    @cached_property
    def landed(self) -> pa.Array:
        """The SHA-256 of every file read, in landed order: the order of a part's rows."""
        return _file_order(self.files)

    @cached_property
    def names(self) -> dict[str, str]:
        """The name of every file read, by SHA-256."""
        read = self.files[self.files["status"] == "ok"]
        return dict(zip(read["sha256"].tolist(), read["name"].tolist(), strict=True))

    def homed(self, province: str) -> pa.Table:
        """The records of the files whose rows are mostly the province's (``FILE_SCHEMA``)."""
        return self._records.take(self._homed.get(province, np.array([], dtype=np.int64)))

    @cached_property
    def _records(self) -> pa.Table:
        return pa.Table.from_pandas(self.files[FILE_COLUMNS], schema=FILE_SCHEMA, preserve_index=False)

    @cached_property
    def _homed(self) -> dict[str, np.ndarray]:
        return self.files.groupby("home").indices


def _forget(folder: Path) -> pd.DataFrame:
    """Parts of an older shape removed, and no file taken as read: the sort reads every file again. A part's
    digest is of its files' records, not of how its rows are stored, so no part counts as changed for that."""
    for path in _part_paths(folder):
        path.unlink()
    return pd.DataFrame(columns=SORT_COLUMNS)


def _read_json(path: Path) -> dict[str, str]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


class _Router:
    """Normalises parsed rows in batches and appends each row to its province's new rows."""

    def __init__(self, spec: DatasetSpec, folder: Path, known: frozenset[str], batch_rows: int) -> None:
        self.spec, self.folder, self.batch_rows = spec, folder, batch_rows
        self.schema = received_schema(spec)
        self.known = pa.array(sorted(known), pa.string())
        self.normalise = Normaliser(spec.fields)
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.writers: dict[str, pq.ParquetWriter] = {}
        self.written: dict[str, int] = {}  # province -> new rows written so far
        self.by_file: dict[str, dict[str, int]] = {}  # sha -> province -> rows
        # A batch is normalised, routed and written on a thread of its own while the next one is read and
        # parsed: done on the thread that reads the files, it kept the parsing waiting (a national household
        # round's sort spent most of its time there). One batch at a time, in order: parts keep file order.
        self._writing = InTurn("sort-write")

    def new_rows(self, province: str) -> Path:
        return self.folder / f".new.{province}.{os.getpid()}.tmp"

    def add(self, sha: str, tables: list[pa.Table]) -> None:
        """One file's rows (every sheet): a file is never split between batches."""
        self.pending += tables
        self.pending_rows += sum(table.num_rows for table in tables)
        self.by_file.setdefault(sha, {})
        if self.pending_rows >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        """Hand the pending rows to the writing thread, once the batch before them is written."""
        if not self.pending_rows:
            return
        pending, self.pending, self.pending_rows = self.pending, [], 0
        self._writing.submit(self._write, pending)

    def _write(self, tables: list[pa.Table]) -> None:
        """Normalise a batch, route it and append each province's rows to its new rows, numbered on from the
        province's rows written before them (in the order they came: the files' landed order)."""
        batch = pa.concat_tables(tables)
        fields = self.normalise(batch)
        provinces = self.route(fields.column(self.spec.geography_field), batch.column("_file"))
        table = pa.Table.from_arrays([*fields.columns, *(batch.column(c) for c in LINEAGE)], self.schema.names[1:])
        for province, rows in rows_by_key(table, provinces).items():  # in code order, each in the files' order
            count = rows.num_rows
            first = _first_id(province) + self.written.get(province, 0)
            self.written[province] = self.written.get(province, 0) + count
            ids = pa.array(np.arange(first, first + count, dtype=np.int64))
            if province not in self.writers:
                self.writers[province] = pq.ParquetWriter(self.new_rows(province), self.schema, **_PART_WRITING)
            self.writers[province].write_table(pa.Table.from_arrays([ids, *rows.columns], schema=self.schema))

    def route(self, codes: pa.ChunkedArray, files: pa.ChunkedArray) -> pa.Array:
        """Each row's province: its code's, else its file's (the province most of its rows name), else ``00``."""
        named = pc.utf8_slice_codeunits(pc.fill_null(codes.combine_chunks(), ""), 0, 2)
        placed = pc.is_in(named, value_set=self.known)
        files = files.combine_chunks()
        votes = (
            pa.table({"f": files, "p": named}).filter(placed).group_by(["f", "p"]).aggregate([("p", "count")])
        ).to_pandas()
        home = votes.sort_values(["f", "p_count", "p"], ascending=[True, False, True]).drop_duplicates("f")
        fallback = pc.take(
            pa.array(home["p"].tolist(), pa.string()),
            pc.index_in(files, value_set=pa.array(home["f"].tolist(), pa.string())),
        )
        out = pc.if_else(placed, named, pc.fill_null(fallback, UNPLACED))
        counts = pa.table({"f": files, "p": out}).group_by(["f", "p"]).aggregate([("p", "count")])
        for sha, province, n in zip(*(counts.column(c).to_pylist() for c in ("f", "p", "p_count")), strict=True):
            self.by_file[sha][province] = self.by_file[sha].get(province, 0) + n
        return out

    def close(self) -> None:
        """Waits for the last batch (its error, if any, raised here), then closes the new rows' writers."""
        try:
            self._writing.close()
        finally:
            for writer in self.writers.values():
                writer.close()
            self.normalise.close()


def _home(provinces: dict[str, int]) -> str:
    """A file's province: the part most of its rows went to, one that names a province first."""
    placed = {p: n for p, n in provinces.items() if p != UNPLACED} or provinces
    return min(placed.items(), key=lambda kv: (-kv[1], kv[0]))[0] if placed else UNPLACED


_Landed = tuple[LandedFile, int]  # a file landed, with its mtime (ns)
_Before = tuple[int, int, str, str]  # what the last sort recorded of a file: size, mtime (ns), SHA-256, arrival


def _ordinary_files(
    listed: list[Listed], known: dict[str, _Before], cache: dict[str, dict], archive: Path, max_bytes: int
) -> Iterator[tuple[LandedFile, int]]:
    """The round's files (not the offices' corrections) in landed order, with their mtime (ns).

    A file of the same name, size and time as one the last sort read is not read again: its SHA-256
    is the recorded one, its copy is in the archive and what it held is in the parts already.
    """

    def work() -> Iterator[tuple[int, _Landed | Callable[[], _Landed]]]:
        for item in filter(_ordinary, listed):
            relative = item.relative_name
            size, mtime_ns = (item.stat.st_size, item.stat.st_mtime_ns) if item.stat is not None else (-1, 0)
            before = _seen_before(item, known)
            if before is not None and before[2] in cache:
                same = LandedFile(item.path, relative, before[2], size, before[3], b"")
                if archive_path(archive, same).exists():
                    yield 0, (same, mtime_ns)
                    continue
            if 0 <= size < READ_ON_THE_SPOT:
                yield 0, _land(item, max_bytes, mtime_ns)
            else:
                yield min(max(size, 1), max_bytes), partial(_land, item, max_bytes, mtime_ns)

    # each file read and hashed on a thread of its own while the files before it are parsed
    yield from ahead(work(), READ_AHEAD_BYTES, "read-ahead")


def _ordinary(item: Listed) -> bool:
    """A file of the round itself: not hidden, not an office's correction (read with its province's part)."""
    return not item.hidden and not in_corrections(item.relative_name)


def _known(previous: pd.DataFrame) -> dict[str, _Before]:
    """Each file the last sort read, by name."""
    return {row.name: (int(row.size), int(row.mtime_ns), row.sha256, row.received_at) for row in previous.itertuples()}


def _seen_before(item: Listed, known: dict[str, _Before]) -> _Before | None:
    """What the last sort recorded of this file, if it read one of the same name, size and mtime."""
    before = known.get(item.relative_name)
    if before is None or item.stat is None or before[:2] != (item.stat.st_size, item.stat.st_mtime_ns):
        return None
    return before


def _bytes_to_read(listed: list[Listed], known: dict[str, _Before]) -> int:
    """The bytes of the round's files that the sort will read (those it does not know by name, size and time)."""
    return sum(
        item.stat.st_size
        for item in filter(_ordinary, listed)
        if item.stat is not None and _seen_before(item, known) is None
    )


def _land(item: Listed, max_bytes: int, mtime_ns: int) -> _Landed:
    return land(item.base, item.path, max_bytes, item.stat), mtime_ns


def sort_round(
    spec: DatasetSpec,
    landing_dirs: list[Path],
    archive: Path,
    work: WorkArea,
    known_provinces: frozenset[str],
    *,
    batch_rows: int = BATCH_ROWS,
) -> Sorted:
    """Sort the round's files into province parts, reading only the files not read before (module docstring)."""
    folder = sorted_folder(work)
    folder.mkdir(parents=True, exist_ok=True)
    limits = limits_for(spec)
    current = all(_current(part, received_schema(spec)) for part in _part_paths(folder))
    previous = _previous(folder) if current else _forget(folder)
    records = previous.to_dict("records")
    cache = {row["sha256"]: row for row in records if row["sha256"] and row["status"] != "duplicate"}
    router = _Router(spec, folder, known_provinces, batch_rows)
    rows: list[dict] = []
    seen: dict[str, str] = {}
    parsed: set[str] = set()
    listed = listing(landing_dirs)  # looked at once: the files to read, and the offices' corrections to digest
    archiver = Archiver(archive)
    known = _known(previous)  # by name: what the sort need not read again, and how much it will read
    parsing: Parsing[int] = Parsing(spec, limits, parse_workers(_bytes_to_read(listed, known)))

    def take(done: Iterator[tuple[FileRecord, list[pa.Table] | None, int]]) -> None:
        """Files whose turn has come, parsed (``tables``) or not: their rows routed, their records kept."""
        for record, tables, mtime_ns in done:
            if tables is not None and record.status == "ok":
                router.add(record.sha256, tables)
                parsed.add(record.sha256)
            rows.append({**vars(record), "mtime_ns": mtime_ns})  # asdict's deep copy: a tenth of the loop

    try:
        for landed, mtime_ns in _ordinary_files(listed, known, cache, archive, limits.max_file_bytes):
            record = file_record(landed, archive, seen, limits, copy=False)  # copied by the archiver
            data = None
            if record.archived_as:  # else unreadable: nothing to copy or read
                archiver.add(landed)
                if record.status == "ok" and record.sha256 in cache:  # read before: what it held is known
                    _known_outcome(record, cache[record.sha256])
                elif record.status == "ok":
                    data = landed.data
            take(parsing.put(record, mtime_ns, data))
        take(parsing.rest())
        router.flush()
    finally:
        try:
            parsing.close()
            archiver.close()  # every file archived before any is recorded
        finally:
            router.close()  # waits for the last batch: its error, if any, is raised here
    for row in rows:
        counts = _provinces_of(row, router.by_file, cache)
        row["provinces"] = json.dumps(counts)
        row["home"] = _home(counts) if row["status"] == "ok" else UNPLACED
    files = pd.DataFrame(rows, columns=SORT_COLUMNS)
    by_part = SortedFiles(files)
    before_ok = previous[previous["status"] == "ok"]
    dropped = set(before_ok["sha256"]) - set(by_part.names)
    touched = {p for sha in parsed for p in router.by_file.get(sha, {})}
    touched |= {p for row in before_ok.itertuples() if row.sha256 in dropped for p in json.loads(row.provinces)}
    for province in sorted(touched):
        new_rows = router.new_rows(province)
        _rewrite_part(folder, province, dropped | parsed, new_rows, received_schema(spec), by_part.landed)
    digests = _digests(rows, [item for item in listed if in_corrections(item.relative_name)], known_provinces)
    before = _read_json(folder / "digests.json")
    changed = sorted(p for p in set(before) | set(digests) if before.get(p) != digests.get(p))
    write_atomic(folder / "files.parquet", lambda t: files.to_parquet(t, index=False))
    write_atomic(folder / "digests.json", lambda t: t.write_text(json.dumps(digests, sort_keys=True), "utf-8"))
    return Sorted(files, digests, changed, len(parsed), by_part)


def _known_outcome(record: FileRecord, before: dict) -> None:
    """A file read before under any name: its reading's outcome, as recorded then."""
    for name in FILE_COLUMNS:
        if name not in ("sha256", "name", "size", "archived_as", "received_at"):
            value = before[name]
            setattr(record, name, list(value) if name.endswith("_columns") else value)


def _provinces_of(row: dict, by_file: dict[str, dict[str, int]], cache: dict[str, dict]) -> dict[str, int]:
    """The file's rows per province part, by part (none for a file not read)."""
    if row["status"] != "ok":
        return {}
    sha = row["sha256"]
    counts = by_file[sha] if sha in by_file else json.loads(cache[sha]["provinces"])
    return dict(sorted(counts.items()))


def _rewrite_part(
    folder: Path, province: str, replaced: set[str], new_rows: Path, schema: pa.Schema, landed: pa.Array
) -> None:
    """The part's rows of files still there and unchanged, and the rows read just now, in the files' landed order
    (``landed``: the SHA-256 of every file read, in that order) and numbered again; none: no part."""
    target = folder / f"{province}.parquet"
    if not target.exists() and new_rows.exists():  # the rows read just now are the whole part: kept as written
        os.replace(new_rows, target)
        return
    tables = []
    if target.exists():
        old = read_file(target)
        keep = pc.invert(pc.is_in(old.column("_file"), value_set=pa.array(sorted(replaced), pa.string())))
        tables.append(old.filter(keep))
    if new_rows.exists():
        tables.append(read_file(new_rows))
    rows = pa.concat_tables(tables) if tables else schema.empty_table()
    if rows.num_rows:
        rows = _numbered(_in_landed_order(rows, landed), province)
        write_atomic(target, lambda t: pq.write_table(rows.cast(schema), t, **_PART_WRITING))
    else:
        target.unlink(missing_ok=True)
    new_rows.unlink(missing_ok=True)


def _in_landed_order(rows: pa.Table, landed: pa.Array) -> pa.Table:
    """Rows by their file's place in ``landed``, then by ``_row_id`` (a file's rows are numbered in its order)."""
    rank = pc.index_in(rows.column("_file"), value_set=landed)
    return rows.append_column("_rank", rank).sort_by([("_rank", "ascending"), (ROW_ID, "ascending")]).drop(["_rank"])


def _numbered(rows: pa.Table, province: str) -> pa.Table:
    first = _first_id(province)
    ids = pa.array(np.arange(first, first + rows.num_rows, dtype=np.int64))
    return rows.set_column(rows.schema.get_field_index(ROW_ID), ROW_ID, ids)


def correction_province(relative_name: str, known: frozenset[str]) -> str:
    """The province of an office's correction: its district's (the folder's code), else ``00``."""
    office = office_of(relative_name) or ""
    return office[:2] if office[:2] in known else UNPLACED


def _digests(rows: list[dict], corrections: list[Listed], known: frozenset[str]) -> dict[str, str]:
    """Per province part: a digest of the records of its files, its rows' files and its offices' corrections.

    ``rows``: the sort's file rows (``SORT_COLUMNS``) as plain values, as the table of them gives them back
    (asking pandas for them again cost more than the rest of the digest); ``corrections``: every file under
    the round's ``corrections/`` folders, as the sort's listing found them.
    """
    lines: dict[str, list[str]] = {}
    for row in rows:
        record = {k: (list(row[k]) if k.endswith("_columns") else _plain(row[k])) for k in FILE_COLUMNS}
        lines.setdefault(row["home"], []).append("file " + json.dumps(record, sort_keys=True, default=str))
        for province, count in json.loads(row["provinces"]).items():
            lines.setdefault(province, []).append(f"rows {row['sha256']} {count}")
    for item in corrections:  # its origin sidecar (a hidden file) included: who sent it counts
        stat = item.stat if item.stat is not None else item.path.stat()
        lines.setdefault(correction_province(item.relative_name, known), []).append(
            f"correction {item.relative_name} {stat.st_size} {stat.st_mtime_ns}"
        )
    return {p: hashlib.sha256("\n".join(sorted(v)).encode()).hexdigest()[:20] for p, v in sorted(lines.items())}


def _plain(value: object) -> object:
    """A NumPy number as the Python number pandas gives back for it."""
    return value.item() if isinstance(value, np.generic) else value


def read_province(
    spec: DatasetSpec,
    round_: Round,
    work: WorkArea,
    province: str,
    landing_dirs: list[Path],
    archive: Path,
    known_provinces: frozenset[str],
    *,
    files: SortedFiles | None = None,
    batch_rows: int = BATCH_ROWS,
) -> dict[str, int]:
    """The province part's received rows, files and corrections (``work.part(province)``), then its stamp."""
    folder = sorted_folder(work)
    files = SortedFiles(_previous(folder)) if files is None else files
    digest = _read_json(folder / "digests.json").get(province)
    part = work.part(province)
    if digest is None:  # no file of the round is this province's (any more): no part
        _remove_part(part)
        return {"files": 0, "rows_received": 0, "files_corrections": 0}
    part.folder.mkdir(parents=True, exist_ok=True)
    limits = limits_for(spec)
    match = header_matcher(spec.fields)
    sorted_rows = folder / f"{province}.parquet"
    if sorted_rows.exists() and not _current(sorted_rows, received_schema(spec)):
        raise SortedByOlderVersion(province)

    def here(name: str) -> bool:
        return in_corrections(name) and correction_province(name, known_provinces) == province

    corrections = landed_order(
        [
            prepare(landed, spec, round_, limits)
            for landed in find_files(landing_dirs, limits.max_file_bytes, here, under=CORRECTIONS_FOLDER)
        ]
    )
    in_order = _numbered_in_order(sorted_rows, files.landed, province)
    if in_order and not corrections:  # the part's rows are its received rows: the same file, not a copy
        write_atomic(part.path("received"), lambda t: _link(sorted_rows, t))
        return _received(part, files, province, digest, [], [], pq.read_metadata(sorted_rows).num_rows)
    rows = _part_rows(sorted_rows, files.landed, received_schema(spec), in_order)
    seen = files.names  # a correction that is an ordinary file repeats it
    read: dict[str, Any] = {}

    def write(temporary: Path) -> None:
        writer = RowWriter(spec, temporary, batch_rows, limits.max_cell_length, wanted_identities(corrections),
                           first_id=_first_id(province))  # fmt: skip
        try:
            for start in range(0, rows.num_rows, batch_rows):  # slices, not the part's own (small) chunks
                table = rows.slice(start, batch_rows)
                fields, lineage = table.select(spec.field_names), table.select(LINEAGE)
                writer.originals |= capture(lineage, fields, writer.wanted)
                writer.write(lineage, fields)
            read["corrections"] = read_corrections(corrections, spec, match, archive, seen, limits, writer)
        finally:
            read["rows"] = writer.close()

    write_atomic(part.path("received"), write)
    (records, mapped), received = read["corrections"], read["rows"]
    return _received(part, files, province, digest, records, mapped, received)


class SortedByOlderVersion(RuntimeError):
    """A part whose rows an earlier version sorted and stored otherwise: the round's next sort sorts them again."""

    def __init__(self, province: str) -> None:
        super().__init__(
            f"แถวของจังหวัด {province} ถูกแยกไว้ด้วยโปรแกรมรุ่นก่อน ให้ประมวลผลขั้นรับไฟล์ (landed) ของรอบนี้อีกครั้ง / "
            f"province {province}'s rows were sorted by an earlier version: run the round's landing step (landed) again"
        )


def _received(
    part: WorkArea,
    files: SortedFiles,
    province: str,
    digest: str,
    records: list[FileRecord],
    mapped: list[pa.Table],
    received: int,
) -> dict[str, int]:
    """The part's ``files`` (its own and its corrections) and ``corrections`` written beside its received rows,
    then its stamp."""
    homed = files.homed(province)
    if records:
        corrected = pa.Table.from_pylist([asdict(r) for r in records], schema=homed.schema)
        homed = pa.concat_tables([homed, corrected])
    _write_arrow(part, "files", homed)
    _write_arrow(part, "corrections", pa.concat_tables(mapped) if mapped else CORRECTION_SCHEMA.empty_table())
    stamp(part, "received", digest)
    return {"files": homed.num_rows, "rows_received": received, "files_corrections": len(records)}


def _numbered_in_order(path: Path, landed: pa.Array, province: str) -> bool:
    """Whether the sorted part at ``path`` holds its rows in the files' landed order (``landed``: the SHA-256 of
    every file read, in that order), numbered from the province's offset one after another: as the sort
    writes a part, unless files landed since in another order. Only two columns are read."""
    if not path.exists():
        return False
    table = read_file(path, columns=["_file", ROW_ID])
    rank = pc.index_in(table.column("_file"), value_set=landed)
    if rank.null_count:
        return False
    first, ids = _first_id(province), table.column(ROW_ID).to_numpy()
    in_order = np.all(np.diff(rank.to_numpy()) >= 0)
    return bool(in_order and np.array_equal(ids, np.arange(first, first + len(ids), dtype=np.int64)))


def _part_rows(path: Path, landed: pa.Array, schema: pa.Schema, in_order: bool) -> pa.Table:
    """The part's rows in the files' landed order, each file's rows in its own order (``in_order``: they are)."""
    if not path.exists():
        return schema.empty_table()
    table = read_file(path)
    return table if in_order else _in_landed_order(table, landed)


def _link(source: Path, target: Path) -> None:
    """``target``, another name of ``source`` (neither is ever written again: each is replaced whole, by
    renaming); a copy where the file system has no hard links."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _write_arrow(part: WorkArea, name: str, table: pa.Table) -> None:
    """A part's table with its schema written out, whatever rows it has (none included)."""
    write_atomic(part.path(name), lambda t: pq.write_table(table, t))


def _remove_part(part: WorkArea) -> None:
    if part.folder.is_dir():
        for path in part.folder.iterdir():
            path.unlink()
        part.folder.rmdir()


#: What a stage's stamp holds after the part's digest: a new mark when what the stage writes changes (more
#: tables, other columns), so a part done before counts as not done and is run again; a round's parts are
#: then read together as tables of one shape.
STAGE_MARKS = {"received": "", "validated": " +quality_counts +read_units"}


def stamp(part: WorkArea, stage: str, digest: str) -> None:
    """Which sort of the round a stage of this part was done from: ``<stage>.done`` holds the part's digest."""
    write_atomic(part.folder / f"{stage}.done", lambda t: t.write_text(digest + STAGE_MARKS[stage], "utf-8"))


def stamped(part: WorkArea, stage: str) -> str | None:
    """The digest the part's ``stage`` was done from (None: not done, or done by a version that wrote otherwise)."""
    try:
        text = (part.folder / f"{stage}.done").read_text(encoding="utf-8")
    except OSError:
        return None
    mark = STAGE_MARKS[stage]
    return text.removesuffix(mark) if text.endswith(mark) else None


def part_digest(work: WorkArea, province: str) -> str | None:
    """The digest the last sort gave the province's part (None: the round has no such part)."""
    return _read_json(sorted_folder(work) / "digests.json").get(province)


def parts_of(work: WorkArea) -> dict[str, str]:
    """Every province part the last sort made, with its digest."""
    return _read_json(sorted_folder(work) / "digests.json")


def parts_to_run(work: WorkArea, stage: str) -> list[str]:
    """Parts whose ``stage`` (``received``, ``validated``) was not done from the last sort, and parts the
    last sort no longer has (their province run removes them)."""
    digests = parts_of(work)
    stale = {p for p, digest in digests.items() if stamped(work.part(p), stage) != digest}
    return sorted(stale | {p for p in work.parts() if p not in digests})


def parts_fingerprint(work: WorkArea) -> str | None:
    """What the last sort made of the round, in one value (None: never sorted): the national steps record it,
    and a sort that changed nothing leaves it as it was."""
    path = sorted_folder(work) / "digests.json"
    return hashlib.sha256(path.read_bytes()).hexdigest()[:20] if path.is_file() else None
