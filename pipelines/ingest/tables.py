"""Text and workbooks to header + rows.

Offices put title rows above the header, leave blank rows at the end, and use
commas, pipes or semicolons. The header is found by content (the row whose
cells match the form's column names), never by position.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipelines.ingest.normalise import clean_text
from pipelines.ingest.problems import FileProblem

HEADER_SEARCH_ROWS = 10
_DELIMITERS = (",", "|", ";", "\t")


@dataclass
class Sheet:
    """One table found in a file; ``header_row`` and row numbers are 1-based, as Excel shows."""

    name: str
    header_row: int
    columns: list[str | None]  # field name per column position (None: not in the form)
    raw_header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number in the file, cells)
    blank_rows: int


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _find_table(
    name: str, lines: Iterable[list[str]], match_header: Callable[[list[str]], list[str | None]]
) -> Sheet | None:
    """Scan for the header in the first rows, then collect the non-blank rows below it."""
    iterator = iter(lines)
    for number, cells in enumerate(iterator, start=1):
        if number > HEADER_SEARCH_ROWS:
            return None
        columns = match_header(cells)
        if columns:
            break
    else:
        return None
    header_row, raw_header = number, cells
    rows: list[tuple[int, list[str]]] = []
    blank = 0
    for number, cells in enumerate(iterator, start=header_row + 1):
        if any(clean_text(c) for c in cells):
            rows.append((number, cells))
        else:
            blank += 1
    return Sheet(name, header_row, columns, raw_header, rows, blank)


def _sniff_delimiter(text: str) -> str:
    first_lines = text.splitlines()[:HEADER_SEARCH_ROWS]
    return max(_DELIMITERS, key=lambda d: sum(line.count(d) for line in first_lines))


def read_csv(text: str, match_header: Callable[[list[str]], list[str | None]]) -> list[Sheet]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_sniff_delimiter(text))
    sheet = _find_table("", reader, match_header)
    if sheet is None:
        raise FileProblem("not_a_table")
    return [sheet]


def read_xlsx(data: bytes, match_header: Callable[[list[str]], list[str | None]]) -> list[Sheet]:
    """Every sheet that holds the form; other sheets (instructions, notes) are ignored."""
    from openpyxl import load_workbook  # imported here: only XLSX files pay for it

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise FileProblem("corrupt_xlsx", type(exc).__name__) from exc
    sheets = []
    try:
        for worksheet in workbook.worksheets:
            lines = ([_cell_text(v) for v in row] for row in worksheet.iter_rows(values_only=True))
            sheet = _find_table(worksheet.title, lines, match_header)
            if sheet is not None:
                sheets.append(sheet)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as exc:
        raise FileProblem("corrupt_xlsx", type(exc).__name__) from exc
    finally:
        workbook.close()
    if not sheets:
        raise FileProblem("not_a_table")
    return sheets
