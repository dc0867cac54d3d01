"""Text and workbooks to header + rows.

Offices put title rows above the header, leave blank rows at the end, and use
commas, pipes or semicolons. The header is found by content (the row whose
cells match the form's column names), never by position.

A CSV file's body (below the header) is parsed by Arrow's CSV reader, with each
row's number taken from the line it starts on; a body Arrow would read differently
from Python's ``csv`` (ragged rows, line breaks inside quoted cells) is read by
``csv`` instead, so both ways give the same rows.

A workbook's rows come from calamine as one list of Python values; below the header they are turned
into text a column at a time (numbers as arrays, text as it is) rather than cell by cell, and blank
rows are found with the same RE2 pattern as a CSV body's, so both give what :func:`clean_text` and
:func:`pipelines.ingest.workbooks.cell_text` give for each cell (``tests/unit/test_ingest_reader_parity.py``).

Neither reader has a limit of its own on a cell's length (Arrow's blocks are made as
long as the longest line, Python's field size limit is lifted): a cell's length is
judged by the declared ``max_cell_length`` (``domain.limits``), which
quarantines the row instead of stopping the round. A line of more cells than
``max_columns`` rejects the file before Python would make a list of them.
"""

from __future__ import annotations

import csv
import functools
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyarrow import csv as arrow_csv

from domain.limits import DEFAULT_LIMITS, Limits
from pipelines.ingest.normalise import blank_cell_codes, blank_cell_pattern, clean_text
from pipelines.ingest.problems import FileProblem
from pipelines.ingest.workbooks import cell_text, worksheet_values

HEADER_SEARCH_ROWS = 10
_DELIMITERS = (",", "|", ";", "\t")
_MIN_BLOCK = 1 << 20  # Arrow's default block size; a longer line gets a block of its own length
_FIRST_PREFIX = 1 << 13  # characters first looked at for the first lines and the header (grown x4 as needed)


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
    starts_blank = _blank_characters()
    for number, cells in enumerate(lines, start=header_row + 1):
        # a cell whose first character is not a blank one keeps it (as _maybe_blank): clean_text only for the rest
        if any((c[0] not in starts_blank) if c else False for c in cells) or any(clean_text(c) for c in cells):
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
    size = _FIRST_PREFIX
    while True:  # the first lines of a prefix that holds more than them are the first lines of the text
        head = text[:size]
        lines = head.splitlines()
        if len(lines) > HEADER_SEARCH_ROWS or len(head) == len(text):
            break
        size *= 4
    return lines[:HEADER_SEARCH_ROWS]


def _sniff_delimiter(first_lines: list[str], max_columns: int) -> str:
    """The delimiter most used in the first lines; a line of more cells than ``max_columns`` rejects the file."""
    joined = "\n".join(first_lines)  # no delimiter is a line break: its count is the lines' counts summed
    delimiter = max(_DELIMITERS, key=joined.count)
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


def _line_numbers(data: bytes | memoryview) -> tuple[np.ndarray, int, int]:
    """(index of every non-empty line, number of lines, longest line in bytes) of text whose lines end in
    \\r\\n, \\n or \\r.

    Lines as ``io.StringIO(text, newline="")`` yields them, so as Python's ``csv`` counts records
    when no quoted cell spans lines. A last line without an ending counts when it is not empty.
    A line ends at every \\r and at every \\n not just after one; found with whole-array masks (no sort).
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    lf = raw == 10
    cr = raw == 13
    if cr.any():
        after_cr = np.zeros(raw.size, dtype=bool)
        after_cr[1:] = cr[:-1]
        ends = np.flatnonzero(cr | (lf & ~after_cr))  # where each line ending starts
        crlf = cr[ends] & (ends + 1 < raw.size)  # a \r with a \n after it: one ending of two bytes
        crlf[crlf] = lf[ends[crlf] + 1]
        widths = crlf + 1
    else:
        ends, widths = np.flatnonzero(lf), 1
    starts = np.concatenate(([0], ends + widths))
    stops = np.concatenate((ends, [raw.size]))
    lines = ends.size + (1 if starts[-1] < raw.size else 0)
    return np.flatnonzero(stops > starts), lines, int((stops - starts).max(initial=0))


def _regular_line_numbers(data: bytes | memoryview) -> tuple[np.ndarray, int, int] | None:
    """:func:`_line_numbers` of ``data`` when its lines all end alike (all \\n, or all \\r\\n) and none is
    empty, the usual file, from a few whole-array comparisons and counts (no positions listed); None
    otherwise. The longest line only matters to Arrow once the text is longer than a block, so it is
    given as 0 below that, where any line fits (see :func:`_read_body_fast`)."""
    raw = np.frombuffer(data, dtype=np.uint8)
    if not raw.size or raw.size + 2 > _MIN_BLOCK:
        return None
    lf = raw == 10
    cr = raw == 13
    if not cr.any():  # every line ends in \n: none is empty unless it starts the text or two \n meet
        if lf[0] or (lf[1:] & lf[:-1]).any():
            return None
    elif np.array_equal(cr[:-1], lf[1:]) and not cr[-1] and not lf[0]:  # every \r has a \n after it, and only it
        if cr[0] or (cr[2:] & cr[:-2]).any():  # \r\n\r\n: an empty line
            return None
    else:
        return None
    lines = int(np.count_nonzero(lf)) + (0 if lf[-1] else 1)
    return np.arange(lines), lines, 0


@functools.cache
def _blank_characters() -> frozenset[str]:
    """The characters :func:`clean_text` drops (spaces and invisible characters): a cell starting with any
    other keeps that one, so is not blank."""
    return frozenset(chr(c) for c in blank_cell_codes())


@functools.cache
def _blank_lead_bytes() -> np.ndarray:
    """Per byte value: whether a character :func:`clean_text` drops (a space or an invisible character)
    starts with it in UTF-8, from the same sets as :func:`blank_cell_pattern`."""
    table = np.zeros(256, dtype=bool)
    table[[chr(c).encode("utf-8")[0] for c in blank_cell_codes()]] = True
    return table


def _maybe_blank(column: pa.Array) -> np.ndarray:
    """Which cells could be blank: empty, or starting with a byte some blank character starts with.

    A cell starting with any other byte (a letter, a digit, Thai) has a character :func:`clean_text` keeps;
    read from the string array's own offsets and bytes, so nothing is copied or matched.
    """
    if column.type != pa.string() or column.null_count:
        return np.ones(len(column), dtype=bool)
    _, offsets_buffer, data_buffer = column.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int32)[column.offset : column.offset + len(column) + 1]
    starts, filled = offsets[:-1], offsets[1:] > offsets[:-1]
    maybe = ~filled
    if filled.any():
        maybe[filled] = _blank_lead_bytes()[np.frombuffer(data_buffer, dtype=np.uint8)[starts[filled]]]
    return maybe


def _blank_rows(columns: list[pa.Array] | list[pa.ChunkedArray], rows: int) -> np.ndarray:
    """Which rows have nothing in any cell once cleaned (:func:`clean_text` gives None for every cell).

    Column by column, each only over the rows still blank in every column before it: the first column
    usually rules out all but the blank rows. In the first (of a table that is not small), a cell is
    matched against :func:`blank_cell_pattern` only when its first byte says it could be blank; once the
    first column leaves few rows (trailing blank rows, typically), their cells in all the other columns
    are matched in one call rather than one call a column.
    """
    pattern = blank_cell_pattern()
    candidates = np.arange(rows)
    for number, column in enumerate(columns):
        if not candidates.size:
            break
        if number == 0 and rows >= _SMALL:
            chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
            candidates = np.flatnonzero(np.concatenate([_maybe_blank(c) for c in chunks] or [np.zeros(0, bool)]))
            if not candidates.size:
                break
        rest = columns[number:]
        if number and candidates.size <= _SMALL and len(rest) > 1 and all(c.type == pa.string() for c in rest):
            cells = pa.concat_arrays([_array(c.take(candidates)) for c in rest])
            blank = pc.match_substring_regex(cells, pattern).to_numpy(zero_copy_only=False)
            candidates = candidates[blank.reshape(len(rest), candidates.size).all(axis=0)]
            break
        cells = column.take(candidates) if candidates.size < rows else column
        blank = pc.match_substring_regex(cells, pattern).to_numpy(zero_copy_only=False)
        candidates = candidates[blank]
    mask = np.zeros(rows, dtype=bool)
    mask[candidates] = True
    return mask


def _array(values: pa.Array | pa.ChunkedArray) -> pa.Array:
    return values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values


def _last_row_spans_lines(table: pa.Table) -> bool:
    """Whether a cell of the last row holds a line break (a quote left open runs to the end of the file)."""
    last = table.num_rows - 1
    cells = (column[last].as_py() for column in table.columns)
    return any("\n" in cell or "\r" in cell for cell in cells)


def _read_body_fast(
    source: bytes, start: int, quoted: bool, delimiter: str, header_row: int, columns: list[str | None]
) -> tuple[pa.Table, int] | None:
    """The rows below the header (``source[start:]``: UTF-8) through Arrow's CSV reader, or None when it would
    not give what ``csv`` gives; ``quoted``: the body has a quote character."""
    data = memoryview(source)[start:]
    regular = _regular_line_numbers(data)
    nonempty, lines, longest = regular if regular is not None else _line_numbers(data)
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
        if quoted and _last_row_spans_lines(table):  # a quote left open runs to the end
            return None
    else:
        table = pa.table({n: pa.array([], pa.string()) for n in names})
    blank = _blank_rows(table.columns, table.num_rows)
    numbers = header_row + 1 + nonempty
    if blank.any():  # otherwise every row is kept as Arrow read it, not copied
        kept = ~blank
        table, numbers = table.filter(pa.array(kept)), numbers[kept]
    out = [table.column(i) for i, name in enumerate(columns) if name]
    names_out = [name for name in columns if name]
    table = pa.Table.from_arrays([*out, pa.array(numbers, pa.int64())], names=[*names_out, "_row"])
    return table, int(lines - nonempty.size + blank.sum())


def _read_body_short(
    body: str, delimiter: str, header_row: int, columns: list[str | None]
) -> tuple[pa.Table, int] | None:
    """The rows of a short body as Python's ``csv`` reads them (the reference :func:`read_csv` falls back on),
    made into one array of text and sliced by column; None when a row is not as wide as the header (or ``csv``
    fails), which the other ways then read.

    Arrow's CSV reader costs some tenths of a millisecond a file however short; a village round's thousands of
    files of a dozen rows each spent most of their reading there.
    """
    try:
        rows, blank = _collect_rows(csv.reader(io.StringIO(body, newline=""), delimiter=delimiter), header_row)
    except csv.Error:
        return None
    width = len(columns)
    if any(len(cells) != width for _, cells in rows):
        return None
    named = [(i, name) for i, name in enumerate(columns) if name]
    every_cell = pa.array([cells[i] for i, _ in named for _, cells in rows], pa.string())
    n = len(rows)
    data = {name: every_cell.slice(k * n, n) for k, (_, name) in enumerate(named)}
    data["_row"] = pa.array([number for number, _ in rows], pa.int64())
    return pa.table(data), blank


def _csv_header(text: str, delimiter: str, match_header: HeaderTest) -> tuple[int, list[str], list, int] | None:
    """(row number, cells, field per column, where the body starts in ``text``) of the header, as Python's
    ``csv`` reads it from the whole text, but read from a prefix: ``io.StringIO`` copies what it is given
    (four bytes a character), and the header is in the first few lines.

    A prefix reads as the whole text as long as the reader stopped before its end: every line it read
    ended (with its line break whole: a '\\r' at the very end could be the first half of '\\r\\n') inside
    it. Otherwise, or when ``csv`` fails on the cut last line, the prefix is grown, up to the whole text.
    """
    size = _FIRST_PREFIX
    while True:
        prefix = text[:size]
        whole = len(prefix) == len(text)
        buffer = io.StringIO(prefix, newline="")
        try:
            found = _find_header(csv.reader(iter(buffer.readline, ""), delimiter=delimiter), match_header)
            end = buffer.tell()  # records end at line ends: the body starts on the line after the header
        except csv.Error:
            if whole:
                raise
            end = len(prefix)
        if whole or end < len(prefix):
            return None if found is None else (*found, end)
        size *= 4


def read_csv(
    text: str, match_header: HeaderTest, utf8: bytes | None = None, limits: Limits = DEFAULT_LIMITS
) -> list[Sheet]:
    """The table in a CSV file's text; ``utf8``: the file's bytes when they are that text in UTF-8 (BOM removed).

    The body goes to Arrow as bytes: ``utf8`` itself (no copy), or the body encoded once.
    """
    delimiter = _sniff_delimiter(_first_lines(text), limits.max_columns)
    found = _csv_header(text, delimiter, match_header)
    if found is None:
        raise FileProblem("not_a_table")
    header_row, raw_header, columns, end = found
    if len(text) - end <= _SHORT_BODY and (short := _read_body_short(text[end:], delimiter, header_row, columns)):
        table, blank = short
        return [Sheet("", header_row, columns, raw_header, table, blank)]
    if utf8 is None:
        source, start = text[end:].encode("utf-8"), 0
    else:  # the same bytes, not encoded again
        source, start = utf8, len(text[:end].encode("utf-8"))
    fast = _read_body_fast(source, start, source.find(b'"', start) >= 0, delimiter, header_row, columns)
    if fast is None:
        _check_width(memoryview(source)[start:], delimiter, limits.max_columns)
        body = text[end:]
        rows, blank = _collect_rows(csv.reader(io.StringIO(body, newline=""), delimiter=delimiter), header_row)
        table = _rows_table(columns, rows)
    else:
        table, blank = fast
    return [Sheet("", header_row, columns, raw_header, table, blank)]


#: A CSV body of at most this many characters is read by Python's ``csv`` (:func:`_read_body_short`), a longer
#: one by Arrow's reader: about where one's fixed cost a file and the other's cost a cell meet.
_SHORT_BODY = 16_384
_INT64_BOUND = 2.0**63  # a float whole and below this in size is an int64 exactly
_SMALL = 64  # cells in a column (rows in a table) below which one Python pass beats a dozen array calls


def _float_texts(numbers: np.ndarray) -> pa.Array:
    """:func:`cell_text` of floats, vectorised: a whole number as its digits (``str(int(v))``: Arrow's int64
    to string cast writes the same), any other float (fractions, inf, nan, whole beyond int64) one by one."""
    whole = np.isfinite(numbers) & (numbers == np.trunc(numbers)) & (np.abs(numbers) < _INT64_BOUND)
    if whole.all():
        return pa.array(numbers.astype(np.int64)).cast(pa.string())
    texts = np.empty(numbers.size, dtype=object)
    texts[whole] = pa.array(numbers[whole].astype(np.int64)).cast(pa.string()).to_numpy(zero_copy_only=False)
    texts[~whole] = [cell_text(v) for v in numbers[~whole].tolist()]
    return pa.array(texts, pa.string())


def _text_column(values: tuple[object, ...] | list[object]) -> pa.Array:
    """One column of calamine's cell values as text (:func:`cell_text` of each cell).

    A column of text only (an empty cell is '' already) goes to Arrow as it is, in one C call. In a
    column with numbers, the numbers are turned into text as one array and the rest (text, and the odd
    date or bool, converted one by one) as another; the two are put back in their order with one take.
    """
    kinds = set(map(type, values))
    if kinds == {str}:
        return pa.array(values, pa.string())
    if float not in kinds or len(values) < _SMALL:
        return pa.array([v if type(v) is str else cell_text(v) for v in values], pa.string())
    cells = np.empty(len(values), dtype=object)
    cells[:] = values
    types = np.fromiter(map(type, values), dtype=object, count=len(values))
    floats = np.equal(types, float)  # element by element: each cell's type is float
    where = np.concatenate((np.flatnonzero(floats), np.flatnonzero(~floats)))
    rest = [v if type(v) is str else cell_text(v) for v in cells[~floats]]
    parts = pa.concat_arrays([_float_texts(cells[floats].astype(np.float64)), pa.array(rest, pa.string())])
    order = np.empty(len(values), dtype=np.int64)
    order[where] = np.arange(len(values))
    return parts.take(pa.array(order))


def _sheet_table(name: str, rows: list[list[object]], match_header: HeaderTest) -> Sheet | None:
    """Scan for the header in the first rows, then the non-blank rows below it, column by column.

    What :func:`_find_table` gives for the rows' cell texts (calamine's rows are all as wide as the
    sheet; were they not, the rows are read one by one as before).
    """
    found = _find_header(([cell_text(v) for v in row] for row in rows), match_header)
    if found is None:
        return None
    header_row, raw_header, columns = found
    body = rows[header_row:]
    width = len(columns)
    if any(len(row) != width for row in body):
        lines = ([cell_text(v) for v in row] for row in body)
        rows_, blank_ = _collect_rows(lines, header_row)
        return Sheet(name, header_row, columns, raw_header, _rows_table(columns, rows_), blank_)
    # The body's cells column after column, as one array (one conversion, not one per column: each costs
    # some microseconds however short), then each column a zero-copy slice of it.
    every_cell = _text_column(list(itertools.chain.from_iterable(zip(*body, strict=True))))
    texts = [every_cell.slice(i * len(body), len(body)) for i in range(width)] if body else []
    blank = _blank_rows(texts, len(body))
    numbers = np.arange(header_row + 1, header_row + 1 + len(body))
    if blank.any():
        kept = pa.array(~blank)
        texts, numbers = [t.filter(kept) for t in texts], numbers[~blank]
    data = {field: texts[i] if texts else pa.array([], pa.string()) for i, field in enumerate(columns) if field}
    data["_row"] = pa.array(numbers, pa.int64())
    return Sheet(name, header_row, columns, raw_header, pa.table(data), int(blank.sum()))


def read_workbook(data: bytes, kind: str, match_header: HeaderTest, limits: Limits = DEFAULT_LIMITS) -> list[Sheet]:
    """Every worksheet that holds the form (``kind``: xlsx, ods or xls); other sheets (instructions,
    notes, charts) are ignored. See ``pipelines.ingest.workbooks`` for what is checked first."""
    sheets = []
    for name, rows in worksheet_values(data, kind, limits):
        sheet = _sheet_table(name, rows, match_header)
        if sheet is not None:
            sheets.append(sheet)
    if not sheets:
        raise FileProblem("not_a_table")
    return sheets
