"""The household-survey (จปฐ.) sample generator: fast, reproducible, and its truth tells the truth.

Files are read back here with ``csv`` and ``openpyxl`` only (not the pipeline), and
every truth row is checked to really carry its fault, every other row to be clean.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from openpyxl import load_workbook

from domain.declarations import REPO_ROOT
from domain.rounds import THAI_MONTHS_ABBR, parse_round
from registry.villages import load_villages
from samples import household_survey as hs
from samples.village_profile import FileTruth, SampleTruth, _village_attributes
from validation.custom_checks import citizen_id_valid

ROUND = parse_round("2563-10")
PROVINCES = ["49", "75"]  # Mukdahan (poor, north-east) and Samut Songkhram (central): ~24,000 rows at 0.15
SCALE = 0.15

_INVISIBLE = re.compile("[\u200b\u00a0\ufeff]")
_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
_MONTHS = {abbr: i for i, abbr in enumerate(THAI_MONTHS_ABBR, start=1)}
REQUIRED = [f["name"] for f in hs.SCHEMA if f.get("constraints", {}).get("required")]
ENUM = set(next(f for f in hs.SCHEMA if f["name"] == "head_occupation")["constraints"]["enum"])
TOTAL_OF = {"children_6_14_in_school": "children_6_14", "elderly_cared": "elderly_60_plus",
            "disabled_cared": "disabled"}  # fmt: skip


@pytest.fixture(scope="module")
def sample(tmp_path_factory) -> tuple[Path, SampleTruth]:
    out = tmp_path_factory.mktemp("household") / "2563-10"
    return out, hs.generate(ROUND, out, provinces=PROVINCES, scale=SCALE)


@pytest.fixture(scope="module")
def tables(sample) -> dict[str, list[dict[str, str]]]:
    """Every data file's rows as {field: cleaned text}, keyed by file name."""
    out_dir, truth = sample
    return {f.name: read_rows(out_dir / f.name, f) for f in truth.files if f.format != "bad"}


@pytest.fixture(scope="module")
def registry_codes() -> set[str]:
    return set(load_villages()["village_code"])


def _header_lookup() -> dict[str, str]:
    lookup = {}
    for f in hs.SCHEMA:
        for name in (f["name"], f.get("title_th"), *f.get("aliases", [])):
            lookup[_INVISIBLE.sub("", name).strip()] = f["name"]
    return lookup


def _clean(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, dt.datetime):
        value = value.date().isoformat()
    return _INVISIBLE.sub("", str(value)).strip().translate(_DIGITS)


def read_rows(path: Path, truth: FileTruth) -> list[dict[str, str]]:
    data = path.read_bytes()
    if truth.format == "xlsx":
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        rows = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
        book.close()
    else:
        if truth.encoding == "utf-8-sig":
            assert data.startswith(b"\xef\xbb\xbf")
        text = data.decode(truth.encoding)
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=truth.delimiter))
    lookup = _header_lookup()
    header = [lookup[_clean(c)] for c in rows[truth.header_row - 1]]
    body = rows[truth.header_row :]
    blank = 0
    while body and not any(_clean(c) for c in body[-1]):
        body.pop()
        blank += 1
    assert blank == truth.blank_trailing_rows, truth.name
    return [dict(zip(header, map(_clean, r), strict=True)) for r in body]


def _number(text: str) -> float | None:
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?|-?\d+(\.\d+)?", text):
        return float(text.replace(",", ""))
    return None


def _date(text: str) -> dt.date | None:
    """ISO, d/m/yyyy B.E. or '15 ต.ค. 2563' / '15 ต.ค. 63'."""
    try:
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text):
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        if m := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text):
            return dt.date(int(m[3]) - 543, int(m[2]), int(m[1]))
        if (m := re.fullmatch(r"(\d{1,2}) (\S+) (\d{4}|\d{2})", text)) and m[2] in _MONTHS:
            year = int(m[3]) + (2500 if len(m[3]) == 2 else 0) - 543
            return dt.date(year, _MONTHS[m[2]], int(m[1]))
    except ValueError:
        return None
    return None


def _int(row: dict[str, str], name: str) -> int:
    return int(row[name])


def problems(row: dict[str, str], codes: set[str]) -> set[str]:
    """The finding codes a row deserves, by the schema and dataset rules (our own reading)."""
    found = set()
    for name in REQUIRED:
        if row[name] == "":
            found.add("missing_value")
    for f in hs.SCHEMA:
        value = row[f["name"]]
        if value and f["type"] in ("integer", "number") and _number(value) is None:
            found.add("wrong_type")
    if row["survey_date"] and _date(row["survey_date"]) is None:
        found.add("wrong_type")
    if row["head_citizen_id"] and not re.fullmatch(r"\d{13}", row["head_citizen_id"]):
        found.add("pattern_mismatch")
    elif row["head_citizen_id"] and not citizen_id_valid(row["head_citizen_id"]):
        found.add("invalid_checksum")
    if not re.fullmatch(r"\d{8}", row["village_code"]):
        found.add("pattern_mismatch")
    if row["head_occupation"] and row["head_occupation"] not in ENUM:
        found.add("not_in_list")
    if "wrong_type" in found or "missing_value" in found:
        return found
    members = _int(row, "members")
    if members < 1:
        found.add("below_minimum")
    if members > 30:
        found.add("above_maximum")
    if members != _int(row, "members_male") + _int(row, "members_female"):
        found.add("sum_mismatch")
    for part, total in TOTAL_OF.items():
        if _int(row, part) > _int(row, total):
            found.add("sum_exceeds")
    if _int(row, "children_6_14") + _int(row, "elderly_60_plus") > members or _int(row, "disabled") > members:
        found.add("sum_exceeds")
    if not row["household_id"].startswith(row["village_code"]):
        found.add("prefix_mismatch")
    day = _date(row["survey_date"])
    if not ROUND.first_day <= day <= ROUND.last_day:
        found.add("date_outside_round")
    if row["village_code"] not in codes:
        found.add("unknown_code")
    return found


# --------------------------------------------------------------------------- tests


def test_same_arguments_give_identical_bytes(tmp_path):
    def run(folder: str) -> dict[str, str]:
        out = tmp_path / folder / "2563-10"
        hs.generate(ROUND, out, provinces=["75"], scale=0.05)
        files = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()}
        files["truth"] = hashlib.sha256(hs.truth_path(out).read_bytes()).hexdigest()
        return files

    first, second = run("a"), run("b")
    assert first == second and len(first) > 10
    other = tmp_path / "c" / "2563-10"
    hs.generate(ROUND, other, provinces=["75"], scale=0.05, seed=7)
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in other.iterdir()} != first


def test_truth_loads_and_matches_the_files(sample, tables):
    out_dir, truth = sample
    again = SampleTruth.load(hs.truth_path(out_dir))
    assert again.summary == truth.summary and len(again.files) == len(truth.files)
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(f.name for f in truth.files)
    for f in truth.files:
        data = (out_dir / f.name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f.sha256 and len(data) == f.size
        if f.format != "bad":
            assert len(tables[f.name]) == f.rows, f.name
    assert truth.summary["rows"] == sum(f.rows for f in truth.files if f.format != "bad" and not f.duplicate_of)


def test_every_fault_kind_is_injected_and_codes_are_the_pipelines(sample):
    _, truth = sample
    kinds = {x.fault for _, x in truth.faults()}
    assert kinds == set(hs.FAULT_KINDS)
    messages = yaml.safe_load((REPO_ROOT / "validation" / "messages.yaml").read_text(encoding="utf-8"))
    assert set(hs.EXPECTED_CODE.values()) <= set(messages["rows"])
    for name, x in truth.faults():
        assert x.expected_code == hs.EXPECTED_CODE[x.fault]
        assert x.line == truth.file(name).header_row + x.row
    per_file_rows = [(name, x.row) for name, x in truth.faults()]
    assert len(per_file_rows) == len(set(per_file_rows)), "at most one fault per row"
    rows = truth.summary["rows"]
    for kind, count in truth.summary["faults_by_kind"].items():
        assert 1 <= count <= 0.005 * rows, kind


def test_truth_rows_really_carry_their_fault_and_other_rows_are_clean(sample, tables, registry_codes):
    _, truth = sample
    faults = {(name, x.row): x for name, x in truth.faults()}
    checked = 0
    for f in truth.files:
        if f.format == "bad" or f.duplicate_of:
            continue
        for number, row in enumerate(tables[f.name], start=1):
            found = problems(row, registry_codes)
            fault = faults.get((f.name, number))
            if fault is None or fault.fault == "duplicate_household":
                assert not found, (f.name, number, row)
                continue
            checked += 1
            assert fault.expected_code in found, (f.name, fault, row)
            assert found - {fault.expected_code} <= set(hs.ALSO_CODES.get(fault.fault, [])), (fault, found)
            if fault.field and fault.value is not None:
                assert _clean(fault.value) == row[fault.field], fault
            assert row["village_code"] == fault.village_code or fault.fault == "short_code"
    assert checked == sum(1 for x in faults.values() if x.fault != "duplicate_household")


def test_duplicates_are_later_copies_in_a_correction_file(sample, tables):
    _, truth = sample
    assert truth.duplicate_villages
    for entry in truth.duplicate_villages:
        (old, new), kept = entry["rows"], entry["kept"]
        assert kept == new
        old_row, new_row = tables[old["file"]][old["row"] - 1], tables[new["file"]][new["row"] - 1]
        assert old_row["household_id"] == new_row["household_id"] == entry["household_id"]
        assert _date(old_row["survey_date"]) < _date(new_row["survey_date"]) <= ROUND.last_day
        fault = next(x for x in truth.file(old["file"]).faults if x.row == old["row"])
        assert fault.fault == "duplicate_household" and fault.expected_code == "duplicate_row"
        assert old["file"] != new["file"]


def test_citizen_ids_are_valid_except_the_injected_ones(sample, tables):
    _, truth = sample
    injected = {
        (name, x.row)
        for name, x in truth.faults()
        if x.field == "head_citizen_id" and x.fault in ("bad_check_digit", "short_code", "missing_value")
    }
    assert any(x.fault == "bad_check_digit" for _, x in truth.faults())
    invalid = set()
    seen = []
    for name, rows in tables.items():
        for number, row in enumerate(rows, start=1):
            if not citizen_id_valid(row["head_citizen_id"]):
                invalid.add((name, number))
            seen.append(row["head_citizen_id"])
    assert invalid == injected
    assert len(set(seen)) > 0.99 * len(seen)  # the same head only in re-sent households


def test_check_digit_matches_the_dopa_rule():
    first12 = np.array([110170020345, 310050123456, 999999999999])
    check = hs.citizen_check_digit(first12)
    for number, digit in zip(first12, check, strict=True):
        s = sum(int(d) * (13 - i) for i, d in enumerate(str(number)))
        assert digit == (11 - s % 11) % 10
        assert citizen_id_valid(f"{number}{digit}")
        assert not citizen_id_valid(f"{number}{(digit + 1) % 10}")


def test_every_format_encoding_and_noise_is_present(sample):
    out_dir, truth = sample
    data = [f for f in truth.files if f.format != "bad"]
    assert {(f.format, f.encoding) for f in data} == {
        ("csv", "utf-8"), ("csv", "utf-8-sig"), ("csv", "cp874"), ("xlsx", None)
    }  # fmt: skip
    assert {f.header_language for f in data} == {"th", "en", "alias"}
    assert {f.date_style for f in data} == {"iso", "dmy_be", "thai"}
    assert any(f.thai_digits for f in data) and any(f.thousands_separators for f in data)
    assert any(f.blank_trailing_rows for f in data)
    raw = b"".join((out_dir / f.name).read_bytes() for f in data if f.format == "csv" and f.encoding != "cp874")
    text = raw.decode("utf-8-sig", errors="replace")
    assert "\u200b" in text and re.search(r'"\d{1,3}(,\d{3})+(\.00)?"', text) and "๑" in text
    assert re.search(r"\d{1,2} ต\.ค\. (25)?63", text) and re.search(r"\d{1,2}/10/2563", text)
    assert {f.bad_kind for f in truth.files if f.format == "bad"} >= {
        "not_a_table", "empty", "corrupt_xlsx", "unknown_encoding"
    }  # fmt: skip
    assert truth.silent_tambons and truth.missing_villages


def test_xlsx_files_have_typed_cells_and_title_rows(sample):
    out_dir, truth = sample
    books = [f for f in truth.files if f.format == "xlsx"]
    assert books
    for f in books:
        book = load_workbook(out_dir / f.name, read_only=True)
        rows = list(book.worksheets[0].iter_rows(values_only=True))
        book.close()
        assert len(rows) == f.header_row + f.rows + f.blank_trailing_rows
        if f.title_rows:
            assert str(rows[0][0]).startswith("ข้อมูลความจำเป็นพื้นฐาน")


def test_households_and_their_distributions_are_plausible(sample, tables):
    _, truth = sample
    villages = load_villages()
    attrs = _village_attributes(villages, truth.seed, ROUND)
    counts = np.maximum(1, np.rint(attrs["households"] * hs.HOUSEHOLD_FACTOR * SCALE))
    expected = dict(zip(villages["village_code"], counts, strict=True))
    faulty = {(name, x.row) for name, x in truth.faults()}
    by_province: dict[str, list[dict[str, str]]] = {}
    last_serial: dict[str, int] = {}
    for f in truth.files:
        if f.format == "bad" or f.duplicate_of:
            continue
        for number, row in enumerate(tables[f.name], start=1):
            if (f.name, number) in faulty:
                continue
            by_province.setdefault(row["village_code"][:2], []).append(row)
            code, serial = row["household_id"][:8], int(row["household_id"][8:])
            last_serial[code] = max(last_serial.get(code, 0), serial)
    same = sum(last_serial[c] == expected[c] for c in last_serial)
    assert all(last_serial[c] <= expected[c] for c in last_serial)
    assert same >= 0.95 * len(last_serial)

    poor = {}
    for province, rows in by_province.items():
        members = np.array([_int(r, "members") for r in rows])
        income = np.array([sum(_number(r[n]) for n in hs.INCOME_FIELDS) for r in rows]) / members
        poor[province] = float((income < 38_000).mean())
        assert 2.5 < members.mean() < 3.1 and members.max() <= 12
        assert 40_000 < np.median(income) < 200_000
        assert 0.12 < np.mean([_int(r, "elderly_60_plus") > 0 for r in rows]) < 0.30
        assert 0.02 < np.mean([_int(r, "disabled") > 0 for r in rows]) < 0.06
        assert 0.25 < np.mean([r["welfare_card"] in ("มี", "ใช่") for r in rows]) < 0.5
        assert 0.9 < np.mean([r["drinking_water_all_year"] in ("มี", "ใช่") for r in rows]) < 0.99
        assert 0.47 < sum(_int(r, "members_male") for r in rows) / members.sum() < 0.5
        children = sum(_int(r, "children_6_14") for r in rows)
        assert 0.95 < sum(_int(r, "children_6_14_in_school") for r in rows) / children < 1.0
        assert {r["head_occupation"] for r in rows} <= ENUM
        assert all(re.fullmatch(r"\d+(/\d)?", r["house_no"]) for r in rows)
        assert all(re.fullmatch(r"TST-\d{6}-[12]", r["recorded_by"]) for r in rows)
    assert 0.10 < poor["49"] < 0.25 and poor["75"] < poor["49"] and poor["75"] < 0.08


def test_command_line(tmp_path, capsys):
    out = tmp_path / "cli"
    assert hs.main(["--round", "2563-10", "--out", str(out), "--provinces", "75", "--scale", "0.02"]) == 0
    line = capsys.readouterr().out
    assert line.startswith("household_survey 2563-10:") and "rows" in line
    assert hs.truth_path(out).exists()


def test_refuses_unknown_provinces_and_a_non_empty_folder(tmp_path):
    with pytest.raises(ValueError):
        hs.generate(ROUND, tmp_path / "a", provinces=["10"])
    busy = tmp_path / "b"
    busy.mkdir()
    (busy / "x.csv").write_text("x")
    with pytest.raises(FileExistsError):
        hs.generate(ROUND, busy, provinces=["75"], scale=0.01)
