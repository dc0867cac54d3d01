"""Reading a correction workbook that an office sends back: its rows, by their identity, as text.

A returned workbook is a file from outside like any other, so it is opened the way ingest opens
one (``pipelines.ingest.workbooks``: sizes checked before anything is unpacked, calamine, formulas
give their saved value and are never evaluated). Then:

* the hidden ``_about`` sheet says which dataset, round and district office it was written for;
* on each file's sheet, the header row is the one holding the form's field names and the hidden
  identity columns ``_file``, ``_sheet``, ``_row``; columns are found by those names, not by
  position, so a column the office inserted or moved does not shift the values;
* each row with an identity gives the form's fields as text (a number as Excel holds it, without
  ``.0``; a date as ISO), with the apostrophe the writer put in front of a formula-like text taken
  off again (``catalog.files.guard_formula`` is undone exactly: its rule adds one apostrophe to
  text that starts with one or would run); a row without identity (one the office added) is
  counted, never given a guessed identity: it comes back with an empty ``_file`` (``_row`` 0) when
  it fills any form field, so that a village the office adds is checked like any other row rather
  than silently dropped;
* every row carries ``row``, its own row number in the returned workbook as Excel shows it.

Matching the rows to the round's quarantine (same file, sheet and row, and only this office's
rows) and re-validating them is the ingest's work (``pipelines.ingest.returned_rows``), not this
module's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from catalog.files import FORMULA_PREFIX, guard_formula
from domain.declarations import DatasetSpec
from domain.limits import limits_for
from pipelines.ingest.workbooks import workbook_kind, worksheets
from pipelines.report.corrections.texts import ABOUT_SHEET, IDENTITY, NOTE_COLUMN

HEADER_SEARCH_ROWS = 10
COLUMNS = ["_file", "_sheet", "_row", "sheet", "row"]


@dataclass
class Returned:
    """What a returned workbook holds."""

    about: dict[str, str]  # format, dataset, round, amphoe_code, produced, correction_deadline
    sheets: dict[str, str]  # sheet title -> SHA-256 of the file it was written for
    rows: pd.DataFrame  # _file, _sheet, _row, sheet, row, every form field (text or None), office_note
    rows_without_identity: int = 0
    sheets_without_header: list[str] = field(default_factory=list)


def unguard(value: str) -> str:
    """The text before ``guard_formula``: one leading apostrophe off, only where the guard put it."""
    if value.startswith(FORMULA_PREFIX) and guard_formula(value[1:]) == value:
        return value[1:]
    return value


def read_returned(source: Path | bytes, spec: DatasetSpec) -> Returned:
    """Read a returned workbook (a path or its bytes) written for ``spec``'s form."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    limits = limits_for(spec)
    kind = workbook_kind(data, limits)  # raises FileProblem for a damaged or oversized archive
    about: dict[str, str] = {}
    sheets: dict[str, str] = {}
    frames: list[pd.DataFrame] = []
    out = Returned(about, sheets, pd.DataFrame())
    names = spec.field_names
    for title, rows in worksheets(data, kind, limits):
        if title == ABOUT_SHEET:
            _read_about(rows, about, sheets)
            continue
        header, columns = None, {}
        for number, cells in enumerate(rows, start=1):
            if number > HEADER_SEARCH_ROWS:
                break
            positions = {c.strip(): i for i, c in enumerate(cells) if c and c.strip()}
            if all(k in positions for k in IDENTITY) and any(n in positions for n in names):
                header, columns = number, positions
                break
        if header is None:
            out.sheets_without_header.append(title)
            continue
        records = []
        for number, cells in enumerate(rows, start=header + 1):  # the same iterator: the rows below the header
            cell = _getter(cells, columns)
            identified = bool(cell("_file"))
            if not identified:
                out.rows_without_identity += any(c.strip() for c in cells)
                if not any(cell(name).strip() for name in names):
                    continue  # a note or a total below the table: not a row of the form
            record: dict[str, object] = {
                "_file": cell("_file") if identified else "",
                "_sheet": (cell("_sheet") or "") if identified else "",
                "_row": int(float(cell("_row"))) if identified else 0,
                "sheet": title,
                "row": number,
            }
            for name in names:
                value = cell(name)
                record[name] = unguard(value) if value else None
            note = cell(NOTE_COLUMN[2])
            record["office_note"] = unguard(note) if note else None
            records.append(record)
        frames.append(pd.DataFrame(records, columns=COLUMNS + names + ["office_note"]))
    out.rows = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS + names + ["office_note"])
    )
    return out


def read_about(source: Path | bytes, spec: DatasetSpec) -> dict[str, str]:
    """Only the ``_about`` keys of a returned workbook (``produced``, ``round``…), empty for any other workbook.

    For measuring the loop (``measured``): when the office was sent what it answers, without reading its rows.
    """
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    limits = limits_for(spec)
    about: dict[str, str] = {}
    for title, rows in worksheets(data, workbook_kind(data, limits), limits):
        if title == ABOUT_SHEET:
            _read_about(rows, about, {})
            break
    return about


def _getter(cells: list[str], columns: dict[str, int]) -> Callable[[str], str]:
    """A row's cell by its column's header name ("" when the row is shorter or the column absent)."""

    def cell(name: str) -> str:
        i = columns.get(name)
        return cells[i] if i is not None and i < len(cells) else ""

    return cell


def _read_about(rows: Iterable[list[str]], about: dict[str, str], sheets: dict[str, str]) -> None:
    """Key/value lines, then ``sheet | sha256 | file_name`` and one line per file sheet."""
    in_sheets = False
    for cells in rows:
        if not cells or not cells[0]:
            continue
        if cells[0] == "sheet" and len(cells) > 1 and cells[1] == "sha256":
            in_sheets = True
            continue
        if in_sheets:
            sheets[unguard(cells[0])] = cells[1] if len(cells) > 1 else ""
        else:
            about[cells[0]] = unguard(cells[1]) if len(cells) > 1 else ""
