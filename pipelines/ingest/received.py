"""One round's raw files -> one table of received rows, each with its lineage.

Rows keep their source file hash, sheet and row number (as the office sees it
in Excel), so every quarantined row can be traced back and every file's rows
received can be balanced against rows accepted and quarantined.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import pandas as pd

from pipelines.declarations import DatasetSpec
from pipelines.ingest.decode import decode_text, sniff_container
from pipelines.ingest.landing import LandedFile, archive_file, find_files
from pipelines.ingest.normalise import HeaderMatcher, header_matcher, normalise_column
from pipelines.ingest.problems import FileProblem
from pipelines.ingest.tables import Sheet, read_csv, read_xlsx

LINEAGE = ["_file", "_sheet", "_row"]


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


@dataclass
class Received:
    rows: pd.DataFrame  # schema fields (normalised text) + lineage
    files: pd.DataFrame  # one FileRecord per landed file


def _read_sheets(data: bytes, match: HeaderMatcher, record: FileRecord) -> list[Sheet]:
    if sniff_container(data) == "zip":
        record.format = "xlsx"
        return read_xlsx(data, match)
    text, record.encoding = decode_text(data)
    record.format = "csv"
    return read_csv(text, match)


def _file_rows(sheets: list[Sheet], spec: DatasetSpec, record: FileRecord) -> list[list]:
    """Rows of every sheet, cut to the form's columns, with lineage appended."""
    out: list[list] = []
    names = spec.field_names
    for sheet in sheets:
        positions = {name: i for i, name in enumerate(sheet.columns) if name}
        record.unknown_columns += [
            h for h, name in zip(sheet.raw_header, sheet.columns, strict=False) if h and not name
        ]
        record.missing_columns += [n for n in names if n not in positions]
        record.blank_rows_skipped += sheet.blank_rows
        for number, cells in sheet.rows:
            values = [cells[positions[n]] if n in positions and positions[n] < len(cells) else None for n in names]
            out.append([*values, record.sha256, sheet.name, number])
    record.sheets = ",".join(s.name for s in sheets)
    record.header_row = sheets[0].header_row
    record.rows_received = len(out)
    if not out:
        raise FileProblem("no_data_rows")
    return out


def read_round(spec: DatasetSpec, landing_dirs: list[Path], archive: Path) -> Received:
    """Archive and read every file of the round; a bad file is recorded, never fatal."""
    rows: list[list] = []
    records: list[FileRecord] = []
    seen: dict[str, str] = {}
    match = header_matcher(spec.fields)
    for landed in find_files(landing_dirs):
        record = _ingest_one(landed, spec, match, archive, seen, rows)
        records.append(record)
    frame = pd.DataFrame(rows, columns=[*spec.field_names, *LINEAGE])
    for name in spec.field_names:
        frame[name] = normalise_column(frame[name], spec.field(name))
    frame["_row"] = frame["_row"].astype("int64")
    files = pd.DataFrame([asdict(r) for r in records], columns=list(FileRecord.__dataclass_fields__))
    return Received(rows=frame, files=files)


def _ingest_one(
    landed: LandedFile, spec: DatasetSpec, match: HeaderMatcher, archive: Path, seen: dict[str, str], rows: list[list]
) -> FileRecord:
    archived = archive_file(archive, landed)
    record = FileRecord(landed.sha256, landed.relative_name, landed.size, str(archived), landed.received_at)
    if landed.sha256 in seen:
        record.status, record.problem_code = "duplicate", "duplicate_file"
        problem = FileProblem("duplicate_file", seen[landed.sha256])
        record.message_th, record.message_en = problem.message_th, problem.message_en
        return record
    seen[landed.sha256] = landed.relative_name
    try:
        sheets = _read_sheets(landed.data, match, record)
        rows.extend(_file_rows(sheets, spec, record))
    except FileProblem as problem:
        record.status, record.problem_code = "rejected", problem.code
        record.message_th, record.message_en = problem.message_th, problem.message_en
        record.rows_received = 0
    return record
