"""One bad file never stops a round: a corpus of hostile files, built here, through ingest and validation.

Every file ends as rows (each accepted or quarantined) or as a rejected file with a code and a
Thai and English reason, in seconds and without exhausting memory: random bytes, truncated CSV
and XLSX, a single 10-million-character line, a 10-million-character cell (through Arrow's reader
and through Python's ``csv``), 100,000 columns, NUL bytes, a BOM in the middle, mixed line endings,
three header rows, an XLSX with formulas, merged cells, a hidden sheet and date serials, a legacy
.xls (a compound file built here byte by byte), an .ods, and three kinds of zip bomb, one of which
(two cells, A1 and XFD1048576) made calamine abort the whole process before the sheet-extent check.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import random
import struct
import time
import zipfile
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from domain.declarations import DeclarationError
from domain.layout import Layout
from domain.limits import CUT_MARK, limits_for
from domain.rounds import parse_round
from pipelines import stages
from pipelines.ingest import provinces as provinces_module
from pipelines.ingest import received as received_module
from pipelines.ingest.workbooks import sheet_extent
from tests.ingest_parts import ingest
from tests.unit.test_validation import GOOD

ROUND = parse_round("2563-10")
LONG = 10_000_000  # characters of the longest cell and line
LIMIT = 4_000  # the default max_cell_length


def _rows() -> list[dict]:
    """Three valid villages of the small test geography (tests/conftest.py)."""
    out = []
    for number, (lat, lon) in enumerate([(9.13, 99.33), (9.14, 99.34), (9.15, 99.35)], start=1):
        out.append({**GOOD, "village_code": f"840101{number:02d}", "village_no": str(number),
                    "latitude": str(lat), "longitude": str(lon), "notable_product": ""})  # fmt: skip
    return out


def _header(spec) -> list[str]:
    return [f["title_th"] for f in spec.fields]


def _lines(spec, rows: list[dict]) -> list[list[str]]:
    return [_header(spec), *[[row[name] or "" for name in spec.field_names] for row in rows]]


def _csv(lines: list[list[str]], ending: str = "\r\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=ending).writerows(lines)
    return out.getvalue()


def _xlsx(sheets: dict[str, list[list]], hidden: tuple[str, ...] = (), merge: str = "") -> bytes:
    book = Workbook()
    book.remove(book.active)
    for name, lines in sheets.items():
        sheet = book.create_sheet(name)
        for line in lines:
            sheet.append(line)
        if name in hidden:
            sheet.sheet_state = "hidden"
        if merge and sheet.max_row > 2:
            sheet.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _rezip(data: bytes, change) -> bytes:
    """The same archive with ``change(name, bytes) -> bytes`` applied to each member."""
    source, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, change(info.filename, source.read(info)))
    return out.getvalue()


# --- a legacy .xls, byte by byte: BIFF8 records in a compound file (no .xls writer is installed) -------------------


def _record(kind: int, body: bytes) -> bytes:
    return struct.pack("<HH", kind, len(body)) + body


def _biff8(lines: list[list], sheet: str) -> bytes:
    """A workbook stream: globals (BOF, CODEPAGE UTF-16, BOUNDSHEET, EOF), then one worksheet of LABEL/NUMBER cells."""

    def bof(kind: int) -> bytes:
        return _record(0x0809, struct.pack("<HHHHII", 0x0600, kind, 0x0DBB, 0x07CC, 0, 6))

    def cell(row: int, col: int, value) -> bytes:
        if isinstance(value, str):
            return _record(0x0204, struct.pack("<HHHHB", row, col, 15, len(value), 1) + value.encode("utf-16-le"))
        return _record(0x0203, struct.pack("<HHHd", row, col, 15, float(value)))

    cells = b"".join(cell(r, c, v) for r, line in enumerate(lines) for c, v in enumerate(line) if v not in ("", None))
    dimensions = _record(0x0200, struct.pack("<IIHHH", 0, len(lines), 0, max(map(len, lines)), 0))
    worksheet = bof(0x0010) + dimensions + cells + _record(0x000A, b"")

    def globals_(offset: int) -> bytes:
        name = struct.pack("<IBBBB", offset, 0, 0, len(sheet), 1) + sheet.encode("utf-16-le")
        return bof(0x0005) + _record(0x0042, struct.pack("<H", 1200)) + _record(0x0085, name) + _record(0x000A, b"")

    return globals_(len(globals_(0))) + worksheet


def _compound_file(stream: bytes, name: str = "Workbook") -> bytes:
    """A version 3 compound file (512-byte sectors): header, one FAT sector, one directory sector, the stream
    (padded to 4,096 bytes so it lives in ordinary sectors, not the mini stream)."""
    stream = stream.ljust(max(4096, len(stream)), b"\x00")
    sectors = -(-len(stream) // 512)
    free, end = 0xFFFFFFFF, 0xFFFFFFFE
    fat = [0xFFFFFFFD, end, *range(3, 2 + sectors), end]
    fat += [free] * (128 - len(fat))
    header = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
        + b"\x00" * 16
        + struct.pack("<HHHHH6sIIIIIIIII", 0x3E, 3, 0xFFFE, 9, 6, b"\x00" * 6, 0, 1, 1, 0, 4096, end, 0, end, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", free) * 108
    )

    def entry(text: str, kind: int, child: int, start: int, size: int) -> bytes:
        raw = text.encode("utf-16-le") + b"\x00\x00" if text else b""
        fixed = struct.pack("<HBBIII", len(raw), kind, 1, free, free, child) + b"\x00" * 16
        return raw.ljust(64, b"\x00") + fixed + struct.pack("<IQQIQ", 0, 0, 0, start, size)

    directory = entry("Root Entry", 5, 1, end, 0) + entry(name, 2, free, 2, len(stream)) + entry("", 0, free, 0, 0) * 2
    return header + struct.pack("<128I", *fat) + directory + stream.ljust(sectors * 512, b"\x00")


# --- an .ods: a zip of XML ---------------------------------------------------------------------------------------

_ODS = "application/vnd.oasis.opendocument.spreadsheet"
_MANIFEST = f"""<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="{_ODS}"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""


def _ods(lines: list[list], sheet: str) -> bytes:
    def cell(value) -> str:
        if isinstance(value, int | float):
            return f'<table:table-cell office:value-type="float" office:value="{value}"><text:p>{value}</text:p>'
        return f'<table:table-cell office:value-type="string"><text:p>{value}</text:p>'

    rows = "".join(
        "<table:table-row>" + "".join(cell(v) + "</table:table-cell>" for v in line) + "</table:table-row>"
        for line in lines
    )
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="{sheet}">{rows}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("mimetype"), _ODS)  # stored, first, as the format asks
        archive.writestr("META-INF/manifest.xml", _MANIFEST, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _declare_size(data: bytes, member: str, size: int) -> bytes:
    """The archive with ``member``'s uncompressed size written as ``size`` in its local and central headers."""
    raw = bytearray(data)
    name = member.encode()
    local = raw.index(b"PK\x03\x04" + bytes(raw[4:4]))  # the first local header
    while raw[local + 30 : local + 30 + len(name)] != name:
        local = raw.index(b"PK\x03\x04", local + 4)
    struct.pack_into("<I", raw, local + 22, size)
    central = raw.index(b"PK\x01\x02")
    while raw[central + 46 : central + 46 + len(name)] != name:
        central = raw.index(b"PK\x01\x02", central + 4)
    struct.pack_into("<I", raw, central + 24, size)
    return bytes(raw)


# --- the corpus ----------------------------------------------------------------------------------------------------

#: file name -> "rows" (read, each row accepted or quarantined) or the code it must be rejected with
EXPECTED = {
    "good.csv": "rows",
    "random.bin": "unknown_encoding",
    "random_pk.xlsx": "corrupt_xlsx",
    "random_ole2.xls": "unsupported_format",
    "truncated_mid_character.csv": "truncated_file",
    "truncated_mid_row.csv": "rows",
    "truncated_open_quote.csv": "rows",
    "truncated.xlsx": "corrupt_xlsx",
    "one_line_10m.csv": "not_a_table",
    "one_line_10m_commas.csv": "too_many_columns",
    "long_cell.csv": "rows",
    "long_cell_irregular.csv": "rows",
    "columns_100k_header.csv": "too_many_columns",
    "columns_100k_body.csv": "too_many_columns",
    "nul_bytes.csv": "nul_bytes",
    "bom_in_the_middle.csv": "rows",
    "mixed_line_endings.csv": "rows",
    "three_header_rows.csv": "rows",
    "formulas_merged_hidden_dates.xlsx": "rows",
    "legacy.xls": "rows",
    "legacy_truncated.xls": "corrupt_spreadsheet",
    "table.ods": "rows",
    "bomb_ratio.xlsx": "archive_too_large",
    "bomb_declared.xlsx": "archive_too_large",
    "bomb_two_cells.xlsx": "sheet_too_large",
    "binary_workbook.xlsb": "unsupported_format",
}


def _corpus(spec, folder: Path) -> None:
    rows = _rows()
    lines = _lines(spec, rows)
    good = _csv(lines)
    files: dict[str, bytes] = {"good.csv": good.encode()}

    rng = random.Random(20201015)
    files["random.bin"] = bytes(rng.randrange(256) for _ in range(100_000))
    files["random_pk.xlsx"] = b"PK\x03\x04" + bytes(rng.randrange(256) for _ in range(20_000))
    files["random_ole2.xls"] = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(rng.randrange(256) for _ in range(20_000))

    encoded = good.encode()
    files["truncated_mid_character.csv"] = encoded[: encoded.rindex("บ้าน".encode()) + 1]  # inside ข's three bytes
    files["truncated_mid_row.csv"] = encoded[: encoded.rindex(b"84010103") + len("84010103,3,")]
    files["truncated_open_quote.csv"] = (good + '84010103,3,"บ้านไม่จบ,2020-10-15').encode()
    workbook = _xlsx({"ข้อมูล": lines})
    files["truncated.xlsx"] = workbook[: len(workbook) * 2 // 3]

    files["one_line_10m.csv"] = b"x" * LONG
    files["one_line_10m_commas.csv"] = b"a," * (LONG // 2)
    long_name = {**rows[0], "village_name": "ก" * LONG}
    files["long_cell.csv"] = _csv([*lines, _lines(spec, [long_name])[1]]).encode()
    ragged = [*lines, _lines(spec, [long_name])[1], ["84010102", "2"]]  # a short row: Python's csv reads the body
    files["long_cell_irregular.csv"] = _csv(ragged).encode()
    files["columns_100k_header.csv"] = (",".join(f"c{i}" for i in range(100_000)) + "\n" + good).encode()
    files["columns_100k_body.csv"] = (good + ",".join(["1"] * 100_000) + "\r\n").encode()

    files["nul_bytes.csv"] = encoded.replace("บ้านหนองบัว".encode(), b"\x00\x00", 1)
    middle = _csv(lines).split("\r\n")
    middle[2] = "\ufeff" + middle[2].replace("บ้าน", "บ้าน\ufeff", 1)
    files["bom_in_the_middle.csv"] = ("\ufeff" + "\r\n".join(middle)).encode()
    mixed = _csv(lines).split("\r\n")
    files["mixed_line_endings.csv"] = (mixed[0] + "\r\n" + mixed[1] + "\n" + mixed[2] + "\r" + mixed[3] + "\n").encode()
    english = [f["title"] for f in spec.fields]
    files["three_header_rows.csv"] = _csv([["แบบสำรวจข้อมูลพื้นฐานหมู่บ้าน"], lines[0], english, *lines[1:]]).encode()

    formulas = [lines[0], *[list(line) for line in lines[1:]]]
    households = spec.field_names.index("households")
    survey = spec.field_names.index("survey_date")
    formulas[1][households] = "=100+20"  # no cached value: openpyxl writes none, and nothing is evaluated
    formulas[2][survey] = dt.datetime(2020, 10, 15)  # a date cell: a serial number with a date format
    formulas[3][survey] = 44119  # a bare serial number: quarantined, never guessed into a date
    name_column = chr(ord("A") + spec.field_names.index("village_name"))
    files["formulas_merged_hidden_dates.xlsx"] = _xlsx(
        {"ข้อมูล": formulas, "ซ่อน": lines}, hidden=("ซ่อน",), merge=f"{name_column}2:{name_column}3"
    )

    legacy_lines = [[84010101 if v == "84010101" else v for v in line] for line in lines]
    legacy = _compound_file(_biff8(legacy_lines, "ข้อมูล"))
    files["legacy.xls"] = legacy
    files["legacy_truncated.xls"] = legacy[:1600]
    files["table.ods"] = _ods(lines, "ข้อมูล")

    files["bomb_ratio.xlsx"] = _rezip(
        workbook, lambda name, data: data + b" " * (64 << 20) if name.endswith("sheet1.xml") else data
    )
    files["bomb_declared.xlsx"] = _declare_size(workbook, "xl/worksheets/sheet1.xml", 0xF000_0000)
    cells = '<row r="1048576"><c r="XFD1048576" t="n"><v>5</v></c></row></sheetData>'
    files["bomb_two_cells.xlsx"] = _rezip(
        _xlsx({"ข้อมูล": [["x"]]}),
        lambda name, data: data.replace(b"</sheetData>", cells.encode()) if name.endswith("sheet1.xml") else data,
    )
    # an .xlsb names its workbook part workbook.bin (names of equal length: the archive stays valid)
    files["binary_workbook.xlsb"] = workbook.replace(b"xl/workbook.xml", b"xl/workbook.bin")
    assert set(files) == set(EXPECTED)
    for name, data in files.items():
        (folder / name).write_bytes(data)


@pytest.fixture(scope="module")
def hostile_round(tmp_path_factory, village_spec, small_geography):
    """The corpus landed as a round and run through the ingest and validate stages, as a real round is."""
    layout = Layout(tmp_path_factory.mktemp("hostile"))
    landing = layout.landing_dir(village_spec.name, ROUND)
    landing.mkdir(parents=True)
    _corpus(village_spec, landing)
    job = stages.RoundJob(village_spec, ROUND, layout, lambda: small_geography)
    start = time.perf_counter()
    stages.ingest(job)
    ingest_seconds = time.perf_counter() - start
    start = time.perf_counter()
    counts = stages.validate(job)
    validate_seconds = time.perf_counter() - start
    files = job.work.read("files")
    return {
        "files": files.assign(name=files["name"].str.split("/").str[-1]).set_index("name"),
        "work": job.work,
        "counts": counts,
        "ingest_seconds": ingest_seconds,
        "validate_seconds": validate_seconds,
        "landing": landing,
    }


def test_every_file_ends_as_rows_or_a_rejection_with_its_reason(hostile_round):
    files = hostile_round["files"]
    assert set(files.index) == set(EXPECTED)
    for name, expected in EXPECTED.items():
        record = files.loc[name]
        if expected == "rows":
            assert (record["status"], record["problem_code"]) == ("ok", ""), (name, record["message_en"])
            assert record["rows_received"] > 0, name
        else:
            assert (record["status"], record["problem_code"]) == ("rejected", expected), (name, record["message_en"])
            assert record["message_th"] and record["message_en"], name
            assert record["message_th"] != record["message_en"] and any("\u0e00" <= c <= "\u0e7f" for c in record[
                "message_th"]), name  # fmt: skip
            assert record["rows_received"] == 0, name


def test_rows_received_equal_accepted_plus_quarantined_for_every_file(hostile_round):
    work, files = hostile_round["work"], hostile_round["files"]
    con = duckdb.connect()
    counted = {}
    for table in ("received", "accepted", "quarantine"):
        counted[table] = dict(
            con.execute(f"SELECT _file, count(*) FROM read_parquet('{work.path(table)}') GROUP BY 1").fetchall()
        )
    for name, record in files.iterrows():
        sha = record["sha256"]
        received = counted["received"].get(sha, 0)
        assert received == record["rows_received"], name
        assert received == counted["accepted"].get(sha, 0) + counted["quarantine"].get(sha, 0), name
    assert hostile_round["counts"]["rows_received"] == sum(counted["received"].values())


def _findings_of(hostile_round, name: str) -> pd.DataFrame:
    work, files = hostile_round["work"], hostile_round["files"]
    received = work.read("received")
    ids = received.index[received["_file"] == files.loc[name, "sha256"]]
    findings = work.read("findings")
    return findings[findings["_row_id"].isin(ids)], received.loc[ids]


@pytest.mark.parametrize("name", ["long_cell.csv", "long_cell_irregular.csv"])
def test_a_ten_million_character_cell_is_cut_and_its_row_quarantined_with_its_length(hostile_round, name):
    found, rows = _findings_of(hostile_round, name)
    long_rows = rows[rows["village_name"].str.len() > LIMIT]
    assert len(long_rows) == 1
    kept = long_rows["village_name"].iloc[0]
    assert kept == "ก" * LIMIT + CUT_MARK.format(kept=LIMIT, length=LONG)
    reason = found[found["_row_id"] == long_rows.index[0]]
    assert reason[["field", "code", "detail"]].values.tolist() == [["village_name", "value_too_long", "10,000,000"]]
    assert "10,000,000" in reason["message_th"].iloc[0] and "10,000,000" in reason["message_en"].iloc[0]
    assert "ชื่อหมู่บ้าน" in reason["message_th"].iloc[0] and "village_name" in reason["message_en"].iloc[0]
    # the archive keeps the cell whole
    archived = Path(hostile_round["files"].loc[name, "archived_as"]).read_bytes()
    assert ("ก" * LONG).encode() in archived


def test_workbooks_of_every_kind_give_their_rows(hostile_round):
    files = hostile_round["files"]
    assert files.loc["legacy.xls", "format"] == "xls" and files.loc["legacy.xls", "rows_received"] == 3
    assert files.loc["table.ods", "format"] == "ods" and files.loc["table.ods", "rows_received"] == 3
    workbook = files.loc["formulas_merged_hidden_dates.xlsx"]
    assert workbook["sheets"] == "ข้อมูล,ซ่อน" and workbook["rows_received"] == 6  # the hidden sheet is read too
    found, rows = _findings_of(hostile_round, "formulas_merged_hidden_dates.xlsx")
    first = rows[rows["_sheet"] == "ข้อมูล"].sort_values("_row")
    assert pd.isna(first["households"].tolist()[0])  # a formula without a cached value is empty, never evaluated
    assert first["survey_date"].tolist()[1] == "2020-10-15"  # a date cell
    assert first["survey_date"].tolist()[2] == "44119"  # a bare serial number stays what it is
    assert pd.isna(first["village_name"].tolist()[1])  # the merged cell's value is in its first cell only
    codes = set(zip(found["_row_id"], found["code"], strict=True))
    ids = first.index.tolist()
    assert (ids[0], "missing_value") in codes and (ids[2], "wrong_type") in codes and (ids[1], "missing_value") in codes


def test_odd_but_readable_csv_files_read_every_row(hostile_round):
    files = hostile_round["files"]
    assert files.loc["bom_in_the_middle.csv", "rows_received"] == 3
    assert files.loc["mixed_line_endings.csv", "rows_received"] == 3
    assert files.loc["truncated_mid_row.csv", "rows_received"] == 3  # its cut last row is quarantined
    three = files.loc["three_header_rows.csv"]
    assert (three["header_row"], three["rows_received"]) == (2, 4)  # the English header row is a (quarantined) row
    found, rows = _findings_of(hostile_round, "bom_in_the_middle.csv")
    assert set(found["code"]) <= {"duplicate_row"} and rows["village_code"].tolist()[1] == "84010102"
    found, rows = _findings_of(hostile_round, "truncated_mid_row.csv")
    assert rows.index[-1] in set(found["_row_id"])


def test_the_corpus_is_read_and_validated_in_seconds(hostile_round):
    assert hostile_round["ingest_seconds"] < 60, hostile_round["ingest_seconds"]
    assert hostile_round["validate_seconds"] < 60, hostile_round["validate_seconds"]
    work = hostile_round["work"]
    parts = [work.part(code).path("received") for code in work.parts()]
    # the 10-million-character cells are kept as a few thousand characters each
    assert 0 < sum(pq.ParquetFile(path).metadata.num_rows for path in parts) < 100
    assert sum(path.stat().st_size for path in parts) < 200_000


class PanicException(BaseException):
    """What pyo3 raises for a panic in Rust code (calamine): a BaseException, not an Exception."""


@pytest.mark.parametrize("error", [ZeroDivisionError, MemoryError, PanicException])
def test_an_unexpected_error_in_a_reader_rejects_that_file_only(village_spec, tmp_path, monkeypatch, error):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.csv").write_text(_csv(_lines(village_spec, _rows())), encoding="utf-8")
    (landing / "b.xlsx").write_bytes(_xlsx({"ข้อมูล": _lines(village_spec, _rows())}))

    def broken(*args, **kwargs):
        raise error("a parser's bug")

    monkeypatch.setattr(received_module, "read_csv", broken)
    got = ingest(village_spec, [landing], tmp_path)
    files = got.files.set_index("name")
    assert (files.loc["landing/a.csv", "status"], files.loc["landing/a.csv", "problem_code"]) == (
        "rejected",
        "unreadable_file",
    )
    assert error.__name__ in files.loc["landing/a.csv", "message_en"]
    assert error.__name__ in files.loc["landing/a.csv", "message_th"]
    assert files.loc["landing/b.xlsx", "status"] == "ok" and got.rows == 3


def test_an_interrupt_is_not_swallowed(village_spec, tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.csv").write_text(_csv(_lines(village_spec, _rows())), encoding="utf-8")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(received_module, "read_csv", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ingest(village_spec, [landing], tmp_path)


@pytest.fixture(params=["in turn", "read ahead"])
def reading(request, monkeypatch):
    """Files read when their turn comes (small ones, as here), or every file on the sort's read-ahead thread."""
    if request.param == "read ahead":
        monkeypatch.setattr(provinces_module, "READ_ON_THE_SPOT", 0)
        monkeypatch.setattr(provinces_module, "READ_AHEAD_BYTES", 1)  # one file at a time ahead
    return request.param


def test_limits_are_declared_in_dataset_yaml(village_spec, tmp_path, reading):
    spec = dataclasses.replace(
        village_spec, raw={**village_spec.raw, "limits": {"max_file_bytes": 1_000, "max_cell_length": 5}}
    )
    assert limits_for(spec).max_cell_length == 5 and limits_for(village_spec).max_cell_length == LIMIT
    landing = tmp_path / "landing"
    landing.mkdir()
    small = _csv(_lines(village_spec, _rows()[:1]))
    large = _csv(_lines(village_spec, _rows()))
    assert len(small.encode()) <= 1_000 < len(large.encode())
    (landing / "small.csv").write_bytes(small.encode())
    (landing / "large.csv").write_bytes(large.encode())
    got = ingest(spec, [landing], tmp_path)
    files = got.files.set_index("name")
    large_record = files.loc["landing/large.csv"]
    assert (large_record["status"], large_record["problem_code"]) == ("rejected", "file_too_large")
    assert Path(large_record["archived_as"]).read_bytes() == large.encode()  # kept, though not read
    names = got.read_rows()["village_name"].tolist()
    assert names == ["บ้านห" + CUT_MARK.format(kept=5, length=len("บ้านหนองบัว"))]

    for wrong in ({"max_cell_lenght": 5}, {"max_cell_length": 0}, {"max_cell_length": "4000"}):
        with pytest.raises(DeclarationError):
            limits_for(dataclasses.replace(village_spec, raw={**village_spec.raw, "limits": wrong}))


def test_a_file_that_cannot_be_read_from_disk_is_rejected_and_the_rest_go_through(
    village_spec, tmp_path, monkeypatch, reading
):
    landing = tmp_path / "landing"
    landing.mkdir()
    (landing / "a.csv").write_bytes(_csv(_lines(village_spec, _rows())).encode())
    (landing / "locked.csv").write_bytes(b"whatever")
    read_bytes = Path.read_bytes

    def locked(path: Path) -> bytes:
        if path.name == "locked.csv":
            raise PermissionError(13, "Permission denied")
        return read_bytes(path)

    monkeypatch.setattr(Path, "read_bytes", locked)
    got = ingest(village_spec, [landing], tmp_path)
    files = got.files.set_index("name")
    record = files.loc["landing/locked.csv"]
    assert (record["status"], record["problem_code"], record["archived_as"]) == ("rejected", "unreadable_file", "")
    assert "PermissionError" in record["message_en"] and "PermissionError" in record["message_th"]
    assert files.loc["landing/a.csv", "status"] == "ok" and got.rows == 3


def _sheet(rows: list[str]) -> io.BytesIO:
    body = "".join(f"<row>{row}</row>" for row in rows)
    return io.BytesIO(f"<worksheet><sheetData>{body}</sheetData></worksheet>".encode())


def test_a_sheet_written_without_cell_references_is_bounded_by_its_widest_row():
    """Writers that name no cells (as the sample generator's fast writer) make ordinary sheets, not huge ones."""
    ordinary = ["<c t='n'><v>1</v></c>" * 24] * 3_000
    rows, columns = sheet_extent(_sheet(ordinary))
    assert rows == 3_000 and 24 <= columns <= 50  # bounded by 24 cells a row, not 72,000 cells a sheet
    rows, columns = sheet_extent(_sheet(["<c><v>1</v></c>" * 2_000, "<c><v>1</v></c>"]))
    assert rows == 2 and columns >= 2_000  # one very wide row still counts in full
