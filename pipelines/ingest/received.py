"""A received file's rows, each with its lineage, and the record of what happened to the file.

The round's sort (:mod:`pipelines.ingest.provinces`) parses each new file here (:func:`parse_file`)
and keeps its record (:class:`FileRecord`); each province's own read then writes its part's rows
with :class:`RowWriter`. Rows keep their source file hash, sheet and row number (as the office sees
it in Excel), so every quarantined row can be traced back and every file's rows received can be
balanced against rows accepted and quarantined.

Rows are streamed: gathered into batches of about :data:`BATCH_ROWS`, normalised in DuckDB and
appended to the Parquet file, so memory stays bounded however large the part. ``_row_id`` numbers
the rows in the order they are written, from the part's own offset; pandas reads it back as the
frame's index.

A district office's corrections (``<round>/corrections/<amphoe_code>/``, see
``pipelines.ingest.corrections``) are read after every other file of their province
(:func:`read_corrections`): a returned correction workbook's rows are compared with the rows
they correct (read just before, normalised alike), so a row sent back unchanged is not taken for
a correction. Each correction file's record says its office and its place in the landed order
(the later supersedes the earlier), and the part's ``corrections`` table which quarantined row
each returned row corrects.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from domain.declarations import DatasetSpec
from domain.limits import Limits
from pipelines.ingest.decode import container, decode_text
from pipelines.ingest.landing import LandedFile, archive_file, archive_path
from pipelines.ingest.long_cells import cap_long_cells, keep_cut_cells
from pipelines.ingest.normalise import HeaderMatcher, Normaliser
from pipelines.ingest.problems import FileProblem
from pipelines.ingest.returned_rows import (
    CORRECTS,
    IDENTITY_MARK,
    Pending,
    capture,
    returned_table,
    unchanged,
)
from pipelines.ingest.tables import Sheet, read_csv, read_workbook
from pipelines.ingest.workbooks import ole2_kind, workbook_kind

LINEAGE = ["_file", "_sheet", "_row"]
ROW_ID = "_row_id"
BATCH_ROWS = 500_000  # rows normalised and written at a time


@dataclass
class FileRecord:
    """What happened to one received file (one row of ``files.parquet``)."""

    sha256: str
    name: str
    size: int
    archived_as: str
    received_at: str
    status: str = "ok"  # ok | duplicate | rejected
    format: str = ""
    encoding: str = ""
    sheets: str = ""
    header_row: int = 0
    rows_received: int = 0
    blank_rows_skipped: int = 0
    unknown_columns: list[str] = field(default_factory=list)
    missing_columns: list[str] = field(default_factory=list)
    problem_code: str = ""
    message_th: str = ""
    message_en: str = ""
    office: str = ""  # a correction: the district office whose corrections folder it landed in
    correction_order: int = 0  # a correction: 1, 2, … in the order corrections landed (the later wins)
    rows_unchanged: int = 0  # a returned workbook: rows sent back as they were (their originals stay open)
    origin: str = ""  # a correction: its origin sidecar as JSON (who uploaded it, when, from where)


#: Columns of a part's ``corrections``: a returned row (its lineage) and the row it corrects.
CORRECTION_COLUMNS = [*("_file", "_sheet", "_row"), *CORRECTS]
CORRECTION_SCHEMA = pa.schema([(c, pa.int64() if c.endswith("_row") else pa.string()) for c in CORRECTION_COLUMNS])


def received_schema(spec: DatasetSpec) -> pa.Schema:
    """``_row_id``, every field as text, ``_file``, ``_sheet``, ``_row``; pandas reads ``_row_id`` as the index."""
    return _received_schema(tuple(spec.field_names))


@functools.cache
def _received_schema(field_names: tuple[str, ...]) -> pa.Schema:
    """Made once per form: asking pandas for its metadata costs tens of milliseconds, paid by every province."""
    names = [*field_names, "_file", "_sheet"]
    sample = pd.DataFrame(
        {**{n: pd.Series([""], dtype=object) for n in names}, "_row": pd.Series([0], dtype="int64")},
        index=pd.Index([0], dtype="int64", name=ROW_ID),
    )
    pandas_metadata = pa.Schema.from_pandas(sample, preserve_index=True).metadata
    fields = [pa.field(ROW_ID, pa.int64()), *(pa.field(n, pa.string()) for n in names), pa.field("_row", pa.int64())]
    return pa.schema(fields, metadata=pandas_metadata)


def _read_sheets(data: bytes, match: HeaderMatcher, record: FileRecord, limits: Limits) -> list[Sheet]:
    kind = container(data)
    if kind in ("zip", "ole2"):
        record.format = "xlsx" if kind == "zip" else "xls"  # what it most likely is, until its contents say
        record.format = workbook_kind(data, limits) if kind == "zip" else ole2_kind(data)
        return read_workbook(data, record.format, match, limits)
    text, record.encoding = decode_text(data)
    record.format = "csv"
    if record.encoding == "utf-8-sig":
        return read_csv(text, match, utf8=data[3:], limits=limits)
    return read_csv(text, match, utf8=data if record.encoding == "utf-8" else None, limits=limits)


def _file_rows(
    sheets: list[Sheet], spec: DatasetSpec, record: FileRecord, limits: Limits, longest: int | None = None
) -> list[pa.Table]:
    """Rows of every sheet with every form field (None where the header lacks it), with lineage appended.

    A cell longer than ``limits.max_cell_length`` is cut here, before anything else copies it; ``longest``: what
    no cell can be longer than, when the reader knows (a short file's cells are not looked at one by one).
    """
    out: list[pa.Table] = []
    names = spec.field_names
    for sheet in sheets:
        positions = {name for name in sheet.columns if name}
        record.unknown_columns += [
            h for h, name in zip(sheet.raw_header, sheet.columns, strict=False) if h and not name
        ]
        missing = [n for n in names if n not in positions]
        record.missing_columns += missing
        record.blank_rows_skipped += sheet.blank_rows
        n = sheet.rows.num_rows
        if n:
            rows = sheet.rows
            if longest is None or longest > limits.max_cell_length:
                rows = cap_long_cells(rows, sorted(positions), limits.max_cell_length)
            # the fields in the form's order by one call, not a Python object a column (a village round's files
            # are short): a field the header lacks is a column of nulls, one it names twice its last column
            place = {name: i for i, name in enumerate(rows.column_names)}
            for name in missing:
                place[name] = rows.num_columns
                rows = rows.append_column(name, pa.nulls(n, pa.string()))
            table = rows.select([place[name] for name in [*names, "_row"]])
            table = table.add_column(len(names), "_file", pa.repeat(pa.scalar(record.sha256, pa.string()), n))
            out.append(table.add_column(len(names) + 1, "_sheet", pa.repeat(pa.scalar(sheet.name, pa.string()), n)))
    record.sheets = ",".join(s.name for s in sheets)
    record.header_row = sheets[0].header_row
    record.rows_received = sum(t.num_rows for t in out)
    if IDENTITY_MARK in record.unknown_columns:  # a correction workbook outside an office's corrections folder
        raise FileProblem("correction_retyped" if record.office else "correction_misplaced")
    if not record.rows_received:
        raise FileProblem("no_data_rows")
    return out


def reject(record: FileRecord, problem: FileProblem) -> list[pa.Table]:
    """The file turned down for ``problem``: no rows, its record says why."""
    record.status, record.problem_code = "rejected", problem.code
    record.message_th, record.message_en = problem.message_th, problem.message_en
    record.rows_received = 0
    return []


def parse_file(
    data: bytes, spec: DatasetSpec, match: HeaderMatcher, record: FileRecord, limits: Limits
) -> list[pa.Table]:
    """A file's rows, or a rejection on the record (format, encoding, header kept as far as they got).

    Whatever a reader raises ends here as a rejected file: a known problem with its own code, anything
    else (a parser's bug on a file nobody foresaw, a memory error, a panic in calamine's Rust, which
    Python sees as a ``BaseException``) as ``unreadable_file`` naming the exception. One file never
    stops a round.
    """
    try:
        sheets = _read_sheets(data, match, record, limits)
        # a CSV file's cells are pieces of its text: none has more characters than the file has bytes
        return _file_rows(sheets, spec, record, limits, longest=len(data) if record.format == "csv" else None)
    except FileProblem as problem:
        return reject(record, problem)
    except Exception as exc:  # any parser's failure is this file's, not the round's
        return reject(record, FileProblem("unreadable_file", type(exc).__name__))
    except BaseException as exc:
        if type(exc).__name__ != "PanicException":  # KeyboardInterrupt, SystemExit: not the file's doing
            raise
        return reject(record, FileProblem("unreadable_file", type(exc).__name__))


class RowWriter:
    """Gathers parsed rows into batches, normalises each and appends it to the Parquet file.

    ``wanted``: per file, the identities of rows a returned workbook corrects; their normalised
    values are kept in ``originals`` as they pass, to tell a correction from a row sent back as it was.
    """

    def __init__(
        self,
        spec: DatasetSpec,
        target: Path,
        batch_rows: int,
        cell_limit: int,
        wanted: dict[str, set[str]] | None = None,
        first_id: int = 0,
    ) -> None:
        self.schema = received_schema(spec)
        self.first_id = first_id  # a province part's rows are numbered from its own offset
        self.wanted = wanted or {}
        self.originals: dict[str, tuple[object, ...]] = {}
        self.cell_limit = cell_limit
        self.fields = spec.fields
        self.writer = pq.ParquetWriter(target, self.schema, compression="snappy")
        self.batch_rows = batch_rows
        self.pending: list[pa.Table] = []
        self.pending_rows = 0
        self.rows = 0

    def add(self, tables: list[pa.Table]) -> None:
        for table in tables:
            self.pending.append(table)
            self.pending_rows += table.num_rows
        if self.pending_rows >= self.batch_rows:
            self.flush()

    def flush(self) -> None:
        if not self.pending_rows:
            return
        batch = pa.concat_tables(self.pending)
        self.pending, self.pending_rows = [], 0
        fields = self.normalised(batch)
        self.originals |= capture(batch, fields, self.wanted)
        self.write(batch, fields)

    def normalised(self, batch: pa.Table) -> pa.Table:
        """The form's fields of ``batch`` as they are written (a cut cell kept as cut)."""
        return keep_cut_cells(batch, self.normalise(batch), self.cell_limit)

    @cached_property
    def normalise(self) -> Normaliser:
        """Made on first use: a province part's own rows come normalised already, only its corrections are not."""
        return Normaliser(self.fields)

    def write(self, batch: pa.Table, fields: pa.Table) -> None:
        """Append ``batch``'s rows (``fields`` normalised) after those written so far."""
        if not batch.num_rows:
            return
        start = self.first_id + self.rows
        ids = pa.array(np.arange(start, start + batch.num_rows, dtype=np.int64))
        columns = [ids, *fields.columns, *(batch.column(c) for c in LINEAGE)]
        self.writer.write_table(pa.Table.from_arrays(columns, schema=self.schema))
        self.rows += batch.num_rows

    def close(self) -> int:
        self.writer.close()
        if "normalise" in self.__dict__:
            self.normalise.close()
        return self.rows


def read_corrections(
    corrections: list[Pending],
    spec: DatasetSpec,
    match: HeaderMatcher,
    archive: Path,
    seen: dict[str, str],
    limits: Limits,
    writer: RowWriter,
) -> tuple[list[FileRecord], list[pa.Table]]:
    """The offices' corrections in their landed order, after every other row: their records, and for each returned
    workbook which rows it corrects (``CORRECTION_COLUMNS``); the writer flushed."""
    records, mapped = [], []
    for order, pending in enumerate(corrections, start=1):
        record, returned = read_correction(pending, order, spec, match, archive, seen, limits, writer)
        records.append(record)
        if returned is not None:
            mapped.append(returned)
    writer.flush()
    return records, mapped


def read_correction(
    pending: Pending,
    order: int,
    spec: DatasetSpec,
    match: HeaderMatcher,
    archive: Path,
    seen: dict[str, str],
    limits: Limits,
    writer: RowWriter,
) -> tuple[FileRecord, pa.Table | None]:
    """One office's correction, archived and read; its record, and for a returned workbook which rows it corrects."""
    record = file_record(pending.landed, archive, seen, limits)
    record.office, record.correction_order = pending.office, order
    record.origin = json.dumps(pending.origin, ensure_ascii=False, sort_keys=True) if pending.origin else ""
    if record.status != "ok":
        return record, None
    if pending.problem is not None:
        reject(record, pending.problem)
        return record, None
    if pending.returned is None:  # a fixed file in the office's own form
        writer.add(parse_file(pending.landed.data, spec, match, record, limits))
        return record, None
    table = returned_table(pending, spec)
    table = cap_long_cells(table, spec.field_names, limits.max_cell_length)
    fields = writer.normalised(table)
    same = unchanged(table, fields, writer.originals)
    keep = pc.invert(same)
    table, fields = table.filter(keep), fields.filter(keep)
    writer.originals |= capture(table, fields, writer.wanted)  # a later workbook may correct these rows again
    writer.flush()  # rows of the files before it first: rows stay in file order
    writer.write(table.select(["_file", "_sheet", "_row"]), fields)
    record.format = workbook_kind(pending.landed.data, limits)  # read already: xlsx or ods
    record.sheets = ",".join(dict.fromkeys(table.column("_sheet").to_pylist()))
    record.rows_received = table.num_rows
    record.rows_unchanged = int(pc.sum(same).as_py() or 0)
    return record, table.select(CORRECTION_COLUMNS).cast(CORRECTION_SCHEMA)


def file_record(
    landed: LandedFile, archive: Path, seen: dict[str, str], limits: Limits, *, copy: bool = True
) -> FileRecord:
    """The file's record, archived; rejected already when it could not be read or is too large to.

    ``copy=False``: the record names its archived copy, which the caller makes (the sort's ``Archiver``).
    """
    if landed.unread and landed.unread != "too_large":  # no bytes: nothing to hash or archive
        record = FileRecord(landed.sha256, landed.relative_name, landed.size, "", landed.received_at)
        reject(record, FileProblem("unreadable_file", landed.unread))
        return record
    archived = archive_file(archive, landed) if copy else archive_path(archive, landed)
    record = FileRecord(landed.sha256, landed.relative_name, landed.size, str(archived), landed.received_at)
    if landed.unread == "too_large":
        reject(record, FileProblem("file_too_large", f"{landed.size:,} > {limits.max_file_bytes:,}"))
    elif landed.sha256 in seen:
        record.status, record.problem_code = "duplicate", "duplicate_file"
        problem = FileProblem("duplicate_file", seen[landed.sha256])
        record.message_th, record.message_en = problem.message_th, problem.message_en
    else:
        seen[landed.sha256] = landed.relative_name
    return record
