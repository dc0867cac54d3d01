"""The readers' fast paths give exactly what their plain Python definitions give.

The readers skip work the libraries already did or that a cheaper test rules out (workbook cells
turned into text a column at a time, blank rows sifted by their first byte, line ends counted
without listing them, a worksheet's rows counted with numpy). Each fast path is checked here
against the definition it stands for, on random input built to hit its edges; the whole readers
are checked against the implementation before streaming in ``test_ingest_equivalence.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random

import pyarrow as pa
import pytest

from pipelines.ingest import tables
from pipelines.ingest.normalise import blank_cell_codes, clean_text, header_key, header_matcher
from pipelines.ingest.workbooks import _rows_and_cells, cell_text


def _line_numbers_reference(data: bytes) -> tuple[list[int], int]:
    """(index of every non-empty line, number of lines) as ``str.splitlines`` on \\r\\n, \\n and \\r sees them."""
    lines = data.decode("latin-1").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [i for i, line in enumerate(lines) if line], len(lines)


@pytest.mark.parametrize("seed", range(4))
def test_line_numbers_of_regular_and_irregular_text(seed):
    rng = random.Random(seed)
    regular = 0
    for _ in range(3_000):
        if rng.random() < 0.5:  # lines that all end alike, now and then an empty or an odd one
            end = rng.choice([b"\n", b"\r\n"])
            odd = [b"", b"\r", b"\n", b"x\r"]
            lines = [rng.choice(odd) if rng.random() < 0.1 else rng.choice([b"a", b"b,c"]) for _ in range(6)]
            data = end.join(lines) + (end if rng.random() < 0.5 else b"")
        else:
            data = bytes(rng.choice(b"ab,\r\n") for _ in range(rng.randint(0, 30)))
        want = _line_numbers_reference(data)
        nonempty, lines_, _ = tables._line_numbers(data)
        assert (nonempty.tolist(), lines_) == want, data
        fast = tables._regular_line_numbers(data)
        if fast is not None:
            regular += 1
            assert (fast[0].tolist(), fast[1]) == want, data
    assert regular > 500  # the fast path was taken often enough to be tested


def test_blank_rows_are_the_rows_clean_text_empties():
    rng = random.Random(1)
    blanks = [chr(c) for c in blank_cell_codes()]
    others = ["a", "1", "บ", "é", "\u0301", "x y", "\U0001f600", "\u00a1"]
    for n in range(1_500):
        rows, width = (rng.randint(0, 12), rng.randint(1, 5)) if n % 3 else (rng.randint(60, 150), rng.randint(1, 5))
        cells = [
            ["".join(rng.choice(blanks * 2 + others) for _ in range(rng.randint(0, 3))) for _ in range(rows)]
            for _ in range(width)
        ]
        columns: list[pa.Array | pa.ChunkedArray] = []
        for values in cells:  # as Arrow gives them: whole, in chunks, or a slice of a longer array
            shape = rng.randrange(3)
            if shape == 0 and rows > 1:
                cut = rng.randint(0, rows)
                parts = [pa.array(values[:cut], pa.string()), pa.array(values[cut:], pa.string())]
                columns.append(pa.chunked_array(parts))
            elif shape == 1:
                columns.append(pa.array(["z", *values, "q"], pa.string()).slice(1, rows))
            else:
                columns.append(pa.array(values, pa.string()))
        want = [all(clean_text(values[r]) is None for values in cells) for r in range(rows)]
        assert tables._blank_rows(columns, rows).tolist() == want


def test_workbook_columns_read_as_cell_text_reads_each_cell():
    rng = random.Random(2)
    makers = [
        lambda: rng.choice(["", "บ้าน", "a b", " "]),
        lambda: float(rng.randint(-(10**6), 10**6)),
        lambda: rng.uniform(-1e6, 1e6),
        lambda: rng.choice([float("inf"), float("nan"), -0.0, 2.0**63, -(2.0**63), 2.0**63 - 1024, 1e20, 1e-7]),
        lambda: rng.randint(-5, 5),
        lambda: rng.choice([True, False]),
        lambda: dt.datetime(2020, 10, rng.randint(1, 31), 5, 6),
        lambda: dt.date(2563, 1, 2),
        lambda: dt.time(1, 2),
        lambda: None,
    ]
    for n in range(1_500):
        kinds = rng.sample(makers, rng.randint(1, 4))
        size = rng.randint(0, 40) if n % 3 else rng.randint(60, 300)
        values = [rng.choice(kinds)() for _ in range(size)]
        assert tables._text_column(values).to_pylist() == [cell_text(v) for v in values]


def test_a_worksheet_read_column_by_column_gives_what_it_gave_row_by_row():
    fields = [{"name": n, "title": n} for n in ("code", "name", "households", "surveyed")]
    match = header_matcher(fields)
    rng = random.Random(3)
    for n in range(300):
        width = rng.randint(4, 7)
        header = ["code", "name", "households", "surveyed", "note", "", "x"][:width]
        rng.shuffle(header)
        title = [["แบบสำรวจ"] + [""] * (width - 1)] * rng.randint(0, 3)
        body = [
            [rng.choice(["", " ", "\u200b", "บ้าน", 12.0, 3.5, dt.datetime(2020, 10, 15)]) for _ in range(width)]
            for _ in range(rng.randint(0, 80) if n % 2 else rng.randint(0, 5))
        ]
        rows = [*title, header, *body]
        got = tables._sheet_table("s", rows, match)
        want = tables._find_table("s", ([cell_text(v) for v in row] for row in rows), match)
        assert (got is None) == (want is None)
        if got is not None:
            assert (got.header_row, got.columns, got.raw_header, got.blank_rows) == (
                want.header_row,
                want.columns,
                want.raw_header,
                want.blank_rows,
            )
            assert got.rows.equals(want.rows)


def _rows_and_cells_reference(xml: bytes) -> tuple[int, int]:
    cells = max(row.count(b"<c ") + row.count(b"<c>") for row in xml.split(b"<row"))
    return xml.count(b"<row ") + xml.count(b"<row>"), cells


def test_worksheet_rows_and_widest_row_as_the_byte_counts_give_them():
    rng = random.Random(4)
    atoms = [b"<row ", b"<row>", b"<rowBreaks>", b"<c ", b"<c>", b"<col ", b"<cc", b"<", b"r", b"o", b"w", b"c", b" "]
    atoms += [b">", b"x", b"<ro", b"<c", b"<row", b"<r"]
    for n in range(400):
        pieces = rng.randint(0, 25) if n % 8 else rng.randint(15_000, 17_000)  # short and long pieces
        xml = b"".join(rng.choice(atoms) for _ in range(pieces))
        xml += rng.choice([b"", b"<", b"<r", b"<ro", b"<row", b"<c", b"<row "])  # a tag cut at the end
        assert _rows_and_cells(xml) == _rows_and_cells_reference(xml), xml[-40:]


def test_csv_header_found_in_a_prefix_is_the_one_found_in_the_whole_text():
    fields = [{"name": n, "title": n} for n in ("code", "name", "households")]
    match = header_matcher(fields)
    rng = random.Random(5)
    for _ in range(300):
        end = rng.choice(["\n", "\r\n", "\r"])
        title = [rng.choice(["title", '"a title\nover two lines"', "x" * rng.randint(1, 20_000)])]
        lines = title * rng.randint(0, 12) + ["code,name,households"] + ["1,บ้าน,2"] * rng.randint(0, 3)
        text = end.join(lines) + rng.choice(["", end])
        cut = text[: rng.randint(0, len(text))] if rng.random() < 0.2 else text
        got = tables._csv_header(cut, ",", match)
        buffer = io.StringIO(cut, newline="")
        found = tables._find_header(csv.reader(iter(buffer.readline, ""), delimiter=","), match)
        assert got == (None if found is None else (*found, buffer.tell()))


def test_header_keys_remembered_are_the_header_keys():
    match = header_matcher([{"name": "a", "title": "ชื่อ หมู่บ้าน"}, {"name": "b"}, {"name": "c"}])
    for _ in range(2):  # the second time from the cache
        assert match(["ชื่อหมู่บ้าน", "B", " c\u200b"]) == ["a", "b", "c"]
    assert header_key("ชื่อ\u200b หมู่บ้าน") == header_key("ชื่อหมู่บ้าน")


def test_a_short_csv_body_read_by_python_gives_what_the_long_way_gives(monkeypatch):
    """Short bodies skip Arrow's CSV reader (a fixed cost a file); what they give is what a long body's way gives."""
    fields = [{"name": n, "title": n} for n in ("code", "name", "households")]
    match = header_matcher(fields)
    rng = random.Random(6)
    cells = ["", " ", "\u200b", "บ้าน", "1", "a b", '"q,uoted"', '"two\nlines"', '"say ""x"""']
    taken = []
    read_short = tables._read_body_short

    def spy(*args):
        result = read_short(*args)
        if result is not None:
            taken.append(result)
        return result

    monkeypatch.setattr(tables, "_read_body_short", spy)
    for _ in range(1_500):
        end = rng.choice(["\n", "\r\n", "\r"])
        width = rng.choice([3, 3, 3, 4])
        header = ["code", "name", "households", "note"][:width]
        body = []
        for _ in range(rng.randint(0, 12)):
            cut = width if rng.random() < 0.9 else rng.randint(0, width + 1)  # now and then a ragged or empty line
            body.append(",".join(rng.choice(cells) for _ in range(cut)))
        text = end.join([*(["title"] * rng.randint(0, 2)), ",".join(header), *body]) + rng.choice(["", end])
        short = tables.read_csv(text, match, utf8=text.encode())
        with monkeypatch.context() as patched:
            patched.setattr(tables, "_SHORT_BODY", -1)
            long_way = tables.read_csv(text, match, utf8=text.encode())
        want = long_way[0]
        got = short[0]
        assert (got.header_row, got.columns, got.raw_header, got.blank_rows) == (
            want.header_row,
            want.columns,
            want.raw_header,
            want.blank_rows,
        ), text
        assert got.rows.to_pydict() == want.rows.to_pydict(), text
        assert got.rows.schema == want.rows.schema
    assert len(taken) > 500  # the short way was taken often enough to be tested


def test_rows_collected_are_the_rows_clean_text_keeps():
    """Rows are kept by a cell's first character where it says so, by :func:`clean_text` otherwise."""
    rng = random.Random(7)
    blanks = [chr(c) for c in blank_cell_codes()]
    others = ["a", "1", "บ", "é", "\u0301", "x y", "\U0001f600", "\u00a1"]
    for _ in range(2_000):
        lines = [
            [
                "".join(rng.choice(blanks * 3 + others) for _ in range(rng.randint(0, 3)))
                for _ in range(rng.randint(0, 4))
            ]
            for _ in range(rng.randint(0, 6))
        ]
        keep = [any(clean_text(c) for c in cells) for cells in lines]
        want = [(number, cells) for number, (cells, kept) in enumerate(zip(lines, keep, strict=True), start=3) if kept]
        assert tables._collect_rows(lines, 2) == (want, keep.count(False))


@pytest.mark.parametrize("kind", ["short csv", "xlsx"])
@pytest.mark.parametrize("order", ["form", "reversed"])
def test_a_short_file_gives_its_rows_in_the_form_order_with_long_cells_cut(village_spec, kind, order):
    """A file holding every field is put in the form's order by one call (``_file_rows``), after its long cells
    are cut: a Thai cell at the limit in characters (three bytes each) stays whole, one character more is cut,
    in either short reader, whatever order the header gives the fields."""
    import openpyxl

    from domain.limits import Limits, cut_cell
    from pipelines.ingest.received import FileRecord, parse_file

    names = village_spec.field_names
    at_limit, over = "ก" * 12, "ข" * 13
    rows = [dict.fromkeys(names, "1") | {names[1]: at_limit, names[2]: over}, dict.fromkeys(names, "2")]
    header = names if order == "form" else names[::-1]
    lines = [header, *([row[n] for n in header] for row in rows)]
    if kind == "xlsx":
        book = openpyxl.Workbook()
        for line in lines:
            book.active.append(line)
        out = io.BytesIO()
        book.save(out)
        data = out.getvalue()
    else:
        data = "\r\n".join(",".join(line) for line in lines).encode()
    record = FileRecord("x", "2563-10/a", len(data), "", "")
    limits = Limits(max_cell_length=12)
    (table,) = parse_file(data, village_spec, header_matcher(village_spec.fields), record, limits)
    assert record.status == "ok", record.message_en
    assert table.column_names == [*names, "_file", "_sheet", "_row"]
    assert table.column(names[0]).to_pylist() == ["1", "2"]
    assert table.column(names[1]).to_pylist() == [at_limit, "2"]
    assert table.column(names[2]).to_pylist() == [cut_cell(over, 12), "2"]
    assert table.column("_file").to_pylist() == ["x", "x"] and table.column("_row").to_pylist() == [2, 3]
