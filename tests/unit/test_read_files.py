"""Every way a file arrives: encodings, XLSX title rows, bad files, duplicates."""

import csv
import io
from pathlib import Path
from types import SimpleNamespace

import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from domain.work import ROW_ID_STRIDE
from tests.ingest_parts import ingest

HEADER = ["รหัสหมู่บ้าน", "หมู่ที่", "ชื่อหมู่บ้าน", "วันที่สำรวจ", "จำนวนครัวเรือน"]
ROW = ["84010101", "1", "บ้านหนองบัว", "15/10/2563", "1,234"]


def _csv(rows, delimiter=","):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue()


def _xlsx(rows):
    book = Workbook()
    sheet = book.active
    sheet.title = "ข้อมูล"
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture
def landing(tmp_path):
    folder = tmp_path / "landing" / "2563-10"
    folder.mkdir(parents=True)
    return folder


def _read(spec, landing, **options):
    """The files of ``landing`` read as a round's ingest reads them (sorted into province parts, each part read)."""
    got = ingest(spec, [landing], landing.parent.parent, **options)
    assert got.received_paths() and not list(got.work.folder.rglob(".*.tmp"))
    rows = got.read_rows().reset_index(drop=True)
    return SimpleNamespace(files=got.files, rows=rows, count=got.rows, paths=got.received_paths())


@pytest.mark.parametrize(
    ("name", "data", "encoding"),
    [
        ("a.csv", _csv([HEADER, ROW]).encode("utf-8"), "utf-8"),
        ("b.csv", _csv([HEADER, ROW]).encode("utf-8-sig"), "utf-8-sig"),
        ("c.csv", _csv([HEADER, ROW]).encode("cp874"), "cp874"),
        ("d.txt", _csv([HEADER, ROW], "|").encode("utf-8"), "utf-8"),
    ],
)
def test_every_encoding_reads_the_same_thai_text(village_spec, landing, name, data, encoding):
    (landing / name).write_bytes(data)
    got = _read(village_spec, landing)
    assert got.files.loc[0, "encoding"] == encoding
    assert got.rows.loc[0, "village_name"] == "บ้านหนองบัว"
    assert got.rows.loc[0, "households"] == "1234"
    assert got.rows.loc[0, "survey_date"] == "2020-10-15"


def test_cp874_decided_from_the_whole_file_not_a_sample(village_spec, landing):
    rows = [HEADER] + [["84010101", "1", "Ban Nong Bua", "2020-10-15", "1"]] * 5000 + [ROW]
    (landing / "late_thai.csv").write_bytes(_csv(rows).encode("cp874"))
    got = _read(village_spec, landing)
    assert got.files.loc[0, "encoding"] == "cp874"
    assert got.rows["village_name"].iloc[-1] == "บ้านหนองบัว"


def test_xlsx_title_rows_skipped_and_numbers_read_as_text(village_spec, landing):
    rows = [
        ["แบบสำรวจข้อมูลพื้นฐานหมู่บ้าน ตำบลตลาด"],
        [],
        HEADER,
        [84010101, 1, "บ้านหนองบัว", "15 ต.ค. 2563", 1234.0],
        [" "],
        ["", "\u200b"],
    ]
    (landing / "book1.xlsx").write_bytes(_xlsx(rows))
    got = _read(village_spec, landing)
    record = got.files.iloc[0]
    assert (
        record["format"],
        record["header_row"],
        record["rows_received"],
        record["blank_rows_skipped"],
    ) == ("xlsx", 3, 1, 2)
    assert got.rows.loc[0, ["village_code", "households", "_row", "_sheet"]].tolist() == [
        "84010101",
        "1234",
        4,
        "ข้อมูล",
    ]


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty_file"),
        (b"   \r\n", "empty_file"),
        ("เรียน นายอำเภอ\nขอส่งข้อมูลตามแนบ\n".encode(), "not_a_table"),
        ("\ufeffรหัสหมู่บ้าน,หมู่ที่".encode("utf-16"), "unknown_encoding"),
        (b"PK\x03\x04" + b"\x00" * 64, "corrupt_xlsx"),
        (b"%PDF-1.4 ...", "unsupported_format"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "unsupported_format"),
        (_csv([HEADER]).encode(), "no_data_rows"),
    ],
)
def test_a_bad_file_gets_a_clear_error_and_the_rest_goes_through(village_spec, landing, data, code):
    (landing / "bad.csv").write_bytes(data)
    (landing / "good.csv").write_bytes(_csv([HEADER, ROW]).encode())
    got = _read(village_spec, landing)
    bad = got.files.set_index("name").loc["2563-10/bad.csv"]
    assert (bad["status"], bad["problem_code"]) == ("rejected", code)
    assert bad["message_th"] and bad["message_en"]
    assert len(got.rows) == 1


def test_raw_files_kept_byte_for_byte_and_a_repeat_ingested_once(village_spec, landing):
    data = _csv([HEADER, ROW]).encode("cp874")
    (landing / "a.csv").write_bytes(data)
    (landing / "a (copy).csv").write_bytes(data)
    got = _read(village_spec, landing)
    assert sorted(got.files["status"]) == ["duplicate", "ok"]
    assert len(got.rows) == 1
    archived = set(got.files["archived_as"])
    assert len(archived) == 1
    assert Path(archived.pop()).read_bytes() == data


def test_received_parquet_has_row_ids_every_field_as_text_and_lineage(village_spec, landing):
    (landing / "a.csv").write_bytes(_csv([HEADER, ROW, ROW]).encode())
    (landing / "b.csv").write_bytes(_csv([HEADER, ROW]).encode("cp874"))
    got = _read(village_spec, landing, batch_rows=2)
    assert len(got.paths) == 1  # every row names Surat Thani: one part, numbered from that province's offset
    schema = pq.read_schema(got.paths[0])
    assert schema.names == ["_row_id", *village_spec.field_names, "_file", "_sheet", "_row"]
    assert str(schema.field("_row_id").type) == str(schema.field("_row").type) == "int64"
    assert {str(schema.field(n).type) for n in [*village_spec.field_names, "_file", "_sheet"]} == {"string"}
    first = 84 * ROW_ID_STRIDE
    assert pq.read_table(got.paths[0]).column("_row_id").to_pylist() == [first, first + 1, first + 2]
    assert got.count == 3
    assert got.rows["_row"].tolist() == [2, 3, 2]


def test_an_empty_round_writes_an_empty_table(village_spec, landing):
    (landing / "bad.csv").write_bytes(b"")
    got = _read(village_spec, landing)
    assert got.count == 0 and len(got.rows) == 0
    assert all(pq.read_schema(path).names[0] == "_row_id" for path in got.paths)


@pytest.mark.parametrize("delimiter", [",", ";", "|", "\t"])
@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"])
def test_csv_row_numbers_count_blank_lines_and_empty_rows(village_spec, landing, delimiter, ending):
    empty, row = delimiter * (len(HEADER) - 1), delimiter.join([*ROW[:4], "๑๒๓๔"])
    lines = ["แบบสำรวจ", delimiter.join(HEADER), row, "", empty, row, empty, ""]
    (landing / "a.csv").write_bytes(ending.join(lines).encode())
    got = _read(village_spec, landing)
    record = got.files.iloc[0]
    assert (record["header_row"], record["rows_received"], record["blank_rows_skipped"]) == (2, 2, 3)
    assert got.rows["_row"].tolist() == [3, 6]
    assert got.rows["households"].tolist() == ["1234", "1234"]


@pytest.mark.parametrize(
    "body",
    [
        '84010101,1,"บ้าน\nหนองบัว",15/10/2563,"1,234"\n84010102,2,บ้านใหม่,15/10/2563,5\n',  # a line break in a cell
        "84010101,1,บ้านหนองบัว\n84010102,2,บ้านใหม่,15/10/2563,5,extra\n",  # ragged rows
        '84010101,1,"บ้านหนองบัว,15/10/2563,5\n\n\n',  # a quote left open to the end
    ],
)
def test_irregular_csv_bodies_read_as_python_csv_reads_them(village_spec, landing, body):
    text = ",".join(HEADER) + "\n" + body
    (landing / "a.csv").write_bytes(text.encode())
    got = _read(village_spec, landing)
    expected = [r for r in csv.reader(io.StringIO(text, newline=""))][1:]
    rows = [(i + 2, r) for i, r in enumerate(expected) if any(c.strip() for c in r)]
    assert got.rows["_row"].tolist() == [n for n, _ in rows]
    assert got.rows["village_code"].tolist() == [r[0] for _, r in rows]
    assert got.rows["village_name"].tolist() == [" ".join(r[2].split()) if len(r) > 2 else None for _, r in rows]
