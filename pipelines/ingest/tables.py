"""Text and workbooks to header + rows.

Offices put title rows above the header, leave blank rows at the end, and use
commas, pipes or semicolons. The header is found by content (the row whose
cells match the form's column names), never by position.

A CSV file's body (below the header) is parsed by Arrow's CSV reader, with each
row's number taken from the line it starts on; a body Arrow would read differently
from Python's ``csv`` (ragged rows, line breaks inside quoted cells) is read by
``csv`` instead, so both ways give the same rows.

Neither reader has a limit of its own on a cell's length (Arrow's blocks are made as
long as the longest line, Python's field size limit is lifted): a cell's length is
judged by the declared ``max_cell_length`` (``domain.limits``), which
quarantines the row instead of stopping the round. A line of more cells than
``max_columns`` rejects the file before Python would make a list of them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as arrow_csv

from domain.limits import DEFAULT_LIMITS, Limits
from pipelines.ingest.normalise import blank_cell_pattern, clean_text
from pipelines.ingest.problems import FileProblem
from pipelines.ingest.workbooks import worksheets

HEADER_SEARCH_ROWS = 10
_DELIMITERS = (",", "|", ";", "\t")
_MIN_BLOCK = 1 << 20  # Arrow's default block size; a longer line gets a block of its own length


def _lift_csv_field_limit() -> None:
    """Python's ``csv`` refuses a field of more than 131,072 characters by default (``_csv.Error``); the
    declared ``max_cell_length`` decides instead, after reading. A field cannot be longer than its file."""
    csv.field_size_limit(2**31 - 1)


_lift_csv_field_limit()


HeaderTest = Callable[[list[str]], list[str | None]]


@dataclass
class Sheet:
    """One table found in a file; ``header_row`` and row numbers are 1-based, as Excel shows."""

    name: str
    header_row: int
    columns: list[str | None]  # field name per column position (None: not in the form)
    raw_header: list[str]
    rows: pa.Table  # the non-blank rows: a text column per field named in the header, then "_row" (its number)
    blank_rows: int


def _rows_table(columns: list[str | None], rows: list[tuple[int, list[str]]]) -> pa.Table:
    """Rows from Python lists (a short row has None for the cells it lacks)."""
    data = {
        name: pa.array([cells[i] if i < len(cells) else None for _, cells in rows], pa.string())
        for i, name in enumerate(columns)
        if name
    }
    data["_row"] = pa.array([number for number, _ in rows], pa.int64())
    return pa.table(data)


def _find_header(lines: Iterator[list[str]], match_header: HeaderTest) -> tuple[int, list[str], list] | None:
    """(row number, cells, field per column) of the header, looked for in the first rows."""
    for number, cells in enumerate(lines, start=1):
        if number > HEADER_SEARCH_ROWS:
            return None
        columns = match_header(cells)
        if columns:
            return number, cells, columns
    return None


def _collect_rows(lines: Iterable[list[str]], header_row: int) -> tuple[list[tuple[int, list[str]]], int]:
    """The non-blank rows below the header with their numbers, and how many blank rows were skipped."""
    rows: list[tuple[int, list[str]]] = []
    blank = 0
    for number, cells in enumerate(lines, start=header_row + 1):
        if any(clean_text(c) for c in cells):
            rows.append((number, cells))
        else:
            blank += 1
    return rows, blank


def _find_table(name: str, lines: Iterable[list[str]], match_header: HeaderTest) -> Sheet | None:
    """Scan for the header in the first rows, then collect the non-blank rows below it."""
    iterator = iter(lines)
    found = _find_header(iterator, match_header)
    if found is None:
        return None
    header_row, raw_header, columns = found
    rows, blank = _collect_rows(iterator, header_row)
    return Sheet(name, header_row, columns, raw_header, _rows_table(columns, rows), blank)


def _first_lines(text: str) -> list[str]:
    """The first lines of the text (of ``str.splitlines``), without splitting all of it."""
    size = 1 << 16
    while True:  # the first lines of a prefix that holds more than them are the first lines of the text
        head = text[:size]
        lines = head.splitlines()
        if len(lines) > HEADER_SEARCH_ROWS or len(head) == len(text):
            break
        size *= 4
    return lines[:HEADER_SEARCH_ROWS]


def _sniff_delimiter(first_lines: list[str], max_columns: int) -> str:
    """The delimiter most used in the first lines; a line of more cells than ``max_columns`` rejects the file."""
    delimiter = max(_DELIMITERS, key=lambda d: sum(line.count(d) for line in first_lines))
    widest = max((line.count(delimiter) + 1 for line in first_lines), default=0)
    if widest > max_columns:
        raise FileProblem("too_many_columns", f"{widest:,} > {max_columns:,}")
    return delimiter


def _check_width(data: bytes | memoryview, delimiter: str, max_columns: int) -> None:
    """Reject a body with a line of more than ``max_columns`` cells (delimiters counted, quotes ignored:
    a bound, never an undercount of real cells), before ``csv`` makes Python lists of them."""
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero((raw == 10) | (raw == 13))
    delimiters = np.flatnonzero(raw == ord(delimiter))
    if delimiters.size < max_columns:
        return
    widest = int(np.bincount(np.searchsorted(ends, delimiters)).max()) + 1
    if widest > max_columns:
        raise FileProblem("too_many_columns", f"{widest:,} > {max_columns:,}")


def _line_numbers(data: bytes) -> tuple[np.ndarray, int, int]:
    """(index of every non-empty line, number of lines, longest line in bytes) of text whose lines end in
    \\r\\n, \\n or \\r.

    Lines as ``io.StringIO(text, newline="")`` yields them, so as Python's ``csv`` counts records
    when no quoted cell spans lines. A last line without an ending counts when it is not empty.
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    lf = np.flatnonzero(raw == 10)
    cr = np.flatnonzero(raw == 13)
    if cr.size:
        crlf = cr[cr + 1 < raw.size]
        crlf = crlf[raw[crlf + 1] == 10]
        lone_lf = np.setdiff1d(lf, crlf + 1, assume_unique=True)
        ends = np.union1d(cr, lone_lf)  # where each line ending starts
        widths = np.where(np.isin(ends, crlf, assume_unique=True), 2, 1)
    else:
        ends, widths = lf, np.ones(lf.size, dtype=np.int64)
    starts = np.concatenate(([0], ends + widths))
    stops = np.concatenate((ends, [raw.size]))
    lines = ends.size + (1 if starts[-1] < raw.size else 0)
    return np.flatnonzero(stops > starts), lines, int((stops - starts).max(initial=0))


def _blank_rows(table: pa.Table) -> np.ndarray:
    """Which rows have nothing in any cell once cleaned (:func:`clean_text` gives None for every cell)."""
    pattern = blank_cell_pattern()
    candidates = np.arange(table.num_rows)
    for column in table.columns:
        if not candidates.size:
            break
        cells = column.take(candidates) if candidates.size < table.num_rows else column
        blank = pc.match_substring_regex(cells, pattern).to_numpy(zero_copy_only=False)
        candidates = candidates[blank]
    mask = np.zeros(table.num_rows, dtype=bool)
    mask[candidates] = True
    return mask


def _read_body_fast(
    data: bytes | memoryview, quoted: bool, delimiter: str, header_row: int, columns: list[str | None]
) -> tuple[pa.Table, int] | None:
    """The rows below the header (``data``: UTF-8) through Arrow's CSV reader, or None when it would not
    give what ``csv`` gives; ``quoted``: the body has a quote character."""
    nonempty, lines, longest = _line_numbers(data)
    names = [f"c{i}" for i in range(len(columns))]
    if nonempty.size:
        block = max(_MIN_BLOCK, longest + 2)  # a block holds whole lines: one line never straddles two
        try:
            table = arrow_csv.read_csv(
                pa.py_buffer(data),
                read_options=arrow_csv.ReadOptions(column_names=names, use_threads=False, block_size=block),
                parse_options=arrow_csv.ParseOptions(
                    delimiter=delimiter, newlines_in_values=quoted, ignore_empty_lines=True
                ),
                convert_options=arrow_csv.ConvertOptions(
                    column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False, check_utf8=False
                ),
            )
        except pa.ArrowInvalid:  # ragged rows and the like
            return None
        if table.num_rows != nonempty.size:  # a quoted cell spans lines: rows are not lines
            return None
        last = table.slice(table.num_rows - 1).to_pylist()[0].values()
        if quoted and any("\n" in cell or "\r" in cell for cell in last):  # a quote left open runs to the end
            return None
    else:
        table = pa.table({n: pa.array([], pa.string()) for n in names})
    blank = _blank_rows(table)
    kept = ~blank
    data_rows = table.filter(pa.array(kept))
    out = {name: data_rows.column(f"c{i}") for i, name in enumerate(columns) if name}
    out["_row"] = pa.array(header_row + 1 + nonempty[kept], pa.int64())
    return pa.table(out), int(lines - nonempty.size + blank.sum())


def read_csv(
    text: str, match_header: HeaderTest, utf8: bytes | None = None, limits: Limits = DEFAULT_LIMITS
) -> list[Sheet]:
    """The table in a CSV file's text; ``utf8``: the file's bytes when they are that text in UTF-8 (BOM removed)."""
    delimiter = _sniff_delimiter(_first_lines(text), limits.max_columns)
    buffer = io.StringIO(text, newline="")
    found = _find_header(csv.reader(iter(buffer.readline, ""), delimiter=delimiter), match_header)
    if found is None:
        raise FileProblem("not_a_table")
    header_row, raw_header, columns = found
    body = text[buffer.tell() :]  # records end at line ends: the body starts on the line after the header
    if utf8 is None:
        data: bytes | memoryview = body.encode("utf-8")
        quoted = '"' in body
    else:  # the same bytes, not encoded again
        start = len(text[: buffer.tell()].encode("utf-8"))
        data, quoted = memoryview(utf8)[start:], utf8.find(b'"', start) >= 0
    fast = _read_body_fast(data, quoted, delimiter, header_row, columns)
    if fast is None:
        _check_width(data, delimiter, limits.max_columns)
        rows, blank = _collect_rows(csv.reader(io.StringIO(body, newline=""), delimiter=delimiter), header_row)
        table = _rows_table(columns, rows)
    else:
        table, blank = fast
    return [Sheet("", header_row, columns, raw_header, table, blank)]


def read_workbook(data: bytes, kind: str, match_header: HeaderTest, limits: Limits = DEFAULT_LIMITS) -> list[Sheet]:
    """Every worksheet that holds the form (``kind``: xlsx, ods or xls); other sheets (instructions,
    notes, charts) are ignored. See ``pipelines.ingest.workbooks`` for what is checked first."""
    sheets = []
    for name, rows in worksheets(data, kind, limits):
        sheet = _find_table(name, rows, match_header)
        if sheet is not None:
            sheets.append(sheet)
    if not sheets:
        raise FileProblem("not_a_table")
    return sheets
