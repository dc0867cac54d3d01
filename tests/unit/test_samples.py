"""The sample generator: realistic raw files, byte-for-byte reproducible, with a truth file."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from openpyxl import load_workbook

import registry
from domain.rounds import THAI_MONTHS_ABBR, parse_round
from samples import FAULT_KINDS, SampleTruth, generate, truth_path
from samples.village_profile import FileTruth, schema_fields

ROUND = parse_round("2563-10")
SMALL = ["75", "83"]  # Samut Songkhram and Phuket: 53 tambons, ~520 rows
SEVERAL = ["26", "74", "75", "83"]  # ~1,300 rows: every fault kind appears

THAI_HEADERS = [f["title_th"] for f in schema_fields()]
ENGLISH_HEADERS = [f["name"] for f in schema_fields()]
_INVISIBLE = re.compile("[\u200b\u00a0\ufeff]")
_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> tuple[Path, SampleTruth]:
    out = tmp_path_factory.mktemp("small") / "2563-10"
    return out, generate(ROUND, out, provinces=SMALL)


@pytest.fixture(scope="module")
def several(tmp_path_factory) -> tuple[Path, SampleTruth]:
    out = tmp_path_factory.mktemp("several") / "landing"
    return out, generate(ROUND, out, provinces=SEVERAL)


def _clean(value) -> str:
    return "" if value is None else _INVISIBLE.sub("", str(value)).strip().translate(_DIGITS)


def read_table(path: Path, truth: FileTruth) -> tuple[list[str], list[list]]:
    """(header, data rows) read independently of the pipeline, trailing blank rows dropped."""
    data = path.read_bytes()
    if truth.format == "xlsx":
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    else:
        text = data.decode(truth.encoding)
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=truth.delimiter))
    header = [_clean(c) for c in rows[truth.header_row - 1]]
    body = rows[truth.header_row :]
    while body and not any(_clean(c) for c in body[-1]):
        body.pop()
    return header, body


def _date(text: str) -> dt.date | None:
    text = _clean(text)
    if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
        return dt.date(int(m[1]), int(m[2]), int(m[3]))
    if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
        return dt.date(int(m[3]) - 543, int(m[2]), int(m[1]))
    if m := re.fullmatch(r"(\d{1,2}) (\S+) (\d{2}|\d{4})", text):
        year = int(m[3]) + (2500 if len(m[3]) == 2 else 0) - 543
        return dt.date(year, THAI_MONTHS_ABBR.index(m[2]) + 1, int(m[1]))
    return None


def _data_files(truth: SampleTruth) -> list[FileTruth]:
    return [f for f in truth.files if f.format != "bad" and f.duplicate_of is None]


def test_every_format_encoding_and_header_language(small):
    out, truth = small
    files = _data_files(truth)
    kinds = {(f.format, f.encoding) for f in files}
    assert kinds == {("csv", "utf-8"), ("csv", "utf-8-sig"), ("csv", "cp874"), ("xlsx", None)}
    assert {f.header_language for f in files} == {"th", "en"}
    for f in files:
        data = (out / f.name).read_bytes()
        if f.format == "xlsx":
            assert data.startswith(b"PK\x03\x04")
        elif f.encoding == "utf-8-sig":
            assert data.startswith(b"\xef\xbb\xbf")
        elif f.encoding == "utf-8":
            assert not data.startswith(b"\xef\xbb\xbf")
            data.decode("utf-8")
        else:
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")  # real Windows-874 bytes, not UTF-8


def test_cp874_files_decode_to_correct_thai(small):
    out, truth = small
    names = set(registry.load_villages()["village_name"])
    cp874 = [f for f in _data_files(truth) if f.encoding == "cp874"]
    assert cp874
    for f in cp874:
        header, rows = read_table(out / f.name, f)
        assert header == (THAI_HEADERS if f.header_language == "th" else ENGLISH_HEADERS)
        written = {_clean(r[2]) for r in rows}
        assert written & names, f.name  # registry village names come back intact


def test_xlsx_title_rows_and_thai_sheet_names(small):
    out, truth = small
    titled = [f for f in _data_files(truth) if f.format == "xlsx" and f.title_rows]
    assert titled
    for f in titled:
        book = load_workbook(out / f.name, read_only=True)
        sheet = book.worksheets[0]
        assert re.search("[\u0e00-\u0e7f]", sheet.title)
        rows = list(sheet.iter_rows(values_only=True))
        assert str(rows[0][0]).startswith("แบบสำรวจข้อมูลพื้นฐานหมู่บ้าน ตำบล")
        assert "อำเภอ" in rows[0][0] and "จังหวัด" in rows[0][0]
        header = [_clean(c) for c in rows[f.header_row - 1]]
        assert header in (THAI_HEADERS, ENGLISH_HEADERS)
        book.close()


def test_same_arguments_give_identical_bytes(tmp_path):
    first = generate(ROUND, tmp_path / "a", provinces=["75"], seed=7)
    second = generate(ROUND, tmp_path / "b", provinces=["75"], seed=7)
    names_a = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names_a == sorted(p.name for p in (tmp_path / "b").iterdir())
    for name in names_a:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert first.to_json() == second.to_json()
    assert truth_path(tmp_path / "a").read_bytes() == truth_path(tmp_path / "b").read_bytes()
    other = generate(ROUND, tmp_path / "c", provinces=["75"], seed=8)
    assert {f.sha256 for f in other.files} != {f.sha256 for f in first.files}


def test_truth_file_matches_what_was_written(several):
    out, truth = several
    path = truth_path(out)
    assert path.parent == out.parent and path.name == f"{out.name}.truth.json"
    assert SampleTruth.load(path).to_dict() == truth.to_dict()
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert {"round", "files", "silent_tambons", "missing_villages", "duplicate_files"} <= set(raw)
    on_disk = sorted(p.name for p in out.iterdir())
    assert on_disk == sorted(f.name for f in truth.files)
    for f in truth.files:
        data = (out / f.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256 and len(data) == f.size
        if f.format == "bad":
            continue
        _, rows = read_table(out / f.name, f)
        assert len(rows) == f.rows
        for fault in f.faults:  # row numbers point at the right village
            row = rows[fault.row - 1]
            assert fault.line == f.header_row + fault.row
            assert _clean(row[0]) == fault.village_code, (f.name, fault)


def test_every_fault_kind_is_injected_once_per_row_at_most(several):
    _, truth = several
    faults = truth.faults()
    assert {x.fault for _, x in faults} == set(FAULT_KINDS)
    keys = [(name, x.row) for name, x in faults]
    assert len(keys) == len(set(keys))
    rows = truth.summary["rows"]
    for kind, count in truth.summary["faults_by_kind"].items():
        assert count / rows < 0.012, kind  # realistic per-row rates, not a flood


def test_bad_files(small):
    out, truth = small
    bad = {f.bad_kind: f for f in truth.files if f.format == "bad"}
    assert {"not_a_table", "empty", "corrupt_xlsx", "unknown_encoding"} <= set(bad)
    assert (out / bad["empty"].name).read_bytes() == b""
    with pytest.raises(zipfile.BadZipFile):
        zipfile.ZipFile(out / bad["corrupt_xlsx"].name)
    assert (out / bad["corrupt_xlsx"].name).read_bytes().startswith(b"PK\x03\x04")
    assert (out / bad["unknown_encoding"].name).read_bytes().startswith(b"\xff\xfe")
    letter = (out / bad["not_a_table"].name).read_text(encoding="utf-8")
    assert not any(sum(h in line for h in THAI_HEADERS) >= 3 for line in letter.splitlines())
    assert all(f.expected_problem for f in bad.values())


def test_silent_tambons_missing_villages_and_duplicates(several):
    out, truth = several
    sent: dict[str, int] = {}
    for f in _data_files(truth):
        _, rows = read_table(out / f.name, f)
        for row in rows:
            code = _clean(row[0])
            sent[code] = sent.get(code, 0) + 1
    assert truth.silent_tambons
    assert not any(code[:6] in set(truth.silent_tambons) for code in sent)
    assert truth.missing_villages
    assert not set(truth.missing_villages) & set(sent)
    for kept, copy in truth.duplicate_files:
        assert (out / kept).read_bytes() == (out / copy).read_bytes()
        assert truth.file(copy).duplicate_of == kept
    assert truth.duplicate_villages
    for entry in truth.duplicate_villages:
        assert sent[entry["village_code"]] == 2
        assert len({r["file"] for r in entry["rows"]}) == 2
    # every registry village of a reporting tambon is sent or listed as missing
    villages = registry.load_villages()
    villages = villages[villages["province_code"].isin(SEVERAL)]
    reporting = villages[~villages["tambon_code"].isin(truth.silent_tambons)]
    assert set(reporting["village_code"]) == (set(sent) & set(reporting["village_code"])) | set(truth.missing_villages)


def test_clean_rows_agree_with_the_registry(several):
    out, truth = several
    villages = registry.load_villages().set_index("village_code")
    checked = 0
    for f in _data_files(truth):
        faulty = {x.row for x in f.faults}
        _, rows = read_table(out / f.name, f)
        for number, row in enumerate(rows, start=1):
            if number in faulty:
                continue
            cells = [_clean(c) for c in row]
            village = villages.loc[cells[0]]
            assert int(cells[1]) == village["village_no"]
            assert cells[2] == village["village_name"]
            survey = _date(row[3]) if not isinstance(row[3], dt.datetime) else row[3].date()
            assert survey is not None and (survey.year, survey.month) == (2020, 10), row[3]
            households, male, female, total = (int(c.replace(",", "")) for c in cells[4:8])
            assert 30 <= households <= 600 and male + female == total
            assert 2.3 <= total / households <= 3.7
            assert abs(float(cells[8]) - village["latitude"]) < 0.004
            assert abs(float(cells[9]) - village["longitude"]) < 0.004
            assert cells[11] in ("มี", "ไม่มี") and cells[12] in ("มี", "ไม่มี")
            assert re.fullmatch(r"น(าย|าง)\S+ \S+", cells[16])
            assert re.fullmatch(r"0[689][0-9]{8}", cells[17])
            assert re.fullmatch(r"TST-[0-9]{6}-[12]", cells[18])
            checked += 1
    assert checked > 1000


def test_noise_that_must_be_accepted_is_present(several):
    out, truth = several
    files = _data_files(truth)
    assert any(f.thai_digits for f in files)
    assert any(f.thousands_separators for f in files)
    assert any(f.blank_trailing_rows for f in files)
    assert any(f.header_glitch for f in files)
    assert {f.date_style for f in files} == {"iso", "dmy_be", "thai"}
    text = "".join((out / f.name).read_bytes().decode(f.encoding) for f in files if f.format == "csv")
    assert "\u200b" in text
    assert re.search(r'"[0-9],[0-9]{3}"', text)  # "1,234" quoted in CSV
    xlsx = next(f for f in files if f.format == "xlsx" and not f.thai_digits)
    _, rows = read_table(out / xlsx.name, xlsx)
    assert any(isinstance(row[4], int) for row in rows)


def test_refuses_a_non_empty_folder_and_unknown_provinces(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "old.csv").write_text("x")
    with pytest.raises(FileExistsError):
        generate(ROUND, tmp_path / "full", provinces=["75"])
    with pytest.raises(ValueError, match="unknown province"):
        generate(ROUND, tmp_path / "bkk", provinces=["10"])
