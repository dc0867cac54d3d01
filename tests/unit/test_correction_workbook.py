"""The correction workbooks: each district office gets its own held-back rows, and nobody else's.

One hand-made round (two districts of Surat Thani, a third district in Sakon Nakhon that sends
nothing) runs through the real ingest, validation and quality stages; the workbooks are then
opened with two readers that are not the writer: python-calamine (values, as Excel would show
them) and openpyxl in read mode (fills and cell types), plus the raw XML for formulas.

Which office each file belongs to is known here by construction (the file was written for that
district), so the expected rows of an office are taken from ``quarantine.parquet`` by file,
never from the code under test.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from openpyxl.utils import get_column_letter
from python_calamine import CalamineWorkbook

from catalog.files import guard_formula
from domain.declarations import load_datasets
from domain.geography import Geography
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages
from pipelines.ingest.normalise import header_matcher
from pipelines.ingest.tables import read_workbook
from pipelines.report.corrections import (
    DATA_TEAM_FILE,
    OFFICES_FOLDER,
    correction_deadline,
    write_correction_workbooks,
)
from pipelines.report.corrections.attribution import Gazetteer, place_without_rows
from pipelines.report.corrections.cells import FAULT_FILL
from pipelines.report.corrections.returned import read_returned, unguard

ROUND = parse_round("2563-10")
PRODUCED = dt.date(2020, 10, 26)
PAYLOAD = '=HYPERLINK("http://x","y")'
ERROR_LOOKALIKE = "#N/A"
FIELDS = load_datasets()["village_profile"].field_names
TAMBONS = {  # tambon -> (amphoe, Thai, English, latitude, longitude)
    "840101": ("8401", "ตลาด", "Talat", 9.14, 99.33),
    "840102": ("8401", "มะขามเตี้ย", "Makham Tia", 9.04, 99.24),
    "840201": ("8402", "ท่าทองใหม่", "Tha Thong Mai", 9.17, 99.47),
    "840202": ("8402", "ท่าทอง", "Tha Thong", 9.22, 99.52),
    "470101": ("4701", "ธาตุเชิงชุม", "That Choeng Chum", 17.16, 104.15),
}
#: The district each landed file was written for (None: nobody can tell).
OFFICE_OF = {"a_talat.csv": "8401", "b_makham.xlsx": "8401", "c_thong.csv": "8402", "f_unknown.csv": None}


def geography() -> Geography:
    villages = [
        {
            "village_code": f"{t}{v:02d}",
            "village_no": v,
            "village_name": f"บ้าน{name}{v}",
            "tambon_code": t,
            "amphoe_code": a,
            "province_code": t[:2],
            "latitude": lat + v / 1000,
            "longitude": lon + v / 1000,
        }
        for t, (a, name, _, lat, lon) in TAMBONS.items()
        for v in (1, 2, 3)
    ]
    return Geography(
        villages=pd.DataFrame(villages),
        tambons=pd.DataFrame(
            [
                {"tambon_code": t, "amphoe_code": a, "province_code": t[:2], "name_th": th, "name_en": en}
                for t, (a, th, en, _, _) in TAMBONS.items()
            ]
        ),
        amphoes=pd.DataFrame(
            {
                "amphoe_code": ["8401", "8402", "4701"],
                "province_code": ["84", "84", "47"],
                "name_th": ["เมืองสุราษฎร์ธานี", "กาญจนดิษฐ์", "เมืองสกลนคร"],
                "name_en": ["Mueang Surat Thani", "Kanchanadit", "Mueang Sakon Nakhon"],
            }
        ),
        provinces=pd.DataFrame(
            {
                "province_code": ["84", "47"],
                "name_th": ["สุราษฎร์ธานี", "สกลนคร"],
                "name_en": ["Surat Thani", "Sakon Nakhon"],
            }
        ),
    )


def village(code: str, **changes: str) -> dict[str, str]:
    """A row that passes every rule, with ``changes`` (the faults) applied."""
    _, _, _, lat, lon = TAMBONS.get(code[:6], ("", "", "", 9.1, 99.3))
    number = int(code[-2:])
    row = {
        "village_code": code,
        "village_no": str(number),
        "village_name": f"บ้านทดสอบ {code}",
        "survey_date": "15 ต.ค. 2563",
        "households": "120",
        "population_male": "200",
        "population_female": "210",
        "population_total": "410",
        "latitude": f"{lat + number / 1000:.4f}",
        "longitude": f"{lon + number / 1000:.4f}",
        "drinking_water_source": "ประปาหมู่บ้าน",
        "has_electricity": "มี",
        "has_internet": "ไม่มี",
        "access_road": "ลาดยาง",
        "main_occupation": "เกษตรกรรม",
        "notable_product": "",
        "headman_name": f"นายทดสอบ {code}",
        "headman_phone": "0812345678",
        "recorded_by": f"TST-{code[:6]}-1",
    }
    return row | changes


def csv_bytes(rows: list[dict[str, str]]) -> bytes:
    return pd.DataFrame(rows, columns=FIELDS).to_csv(index=False).encode("utf-8")


def xlsx_bytes(rows: list[dict[str, str]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "หมู่บ้าน"
    sheet.append(["ข้อมูลพื้นฐานหมู่บ้าน ตำบลมะขามเตี้ย"])  # a title row above the header, as offices do
    sheet.append(FIELDS)
    for row in rows:
        sheet.append([row[f] or None for f in FIELDS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


LANDED = {
    # 8401, tambon ตลาด: three rows of its own, one naming a village of 8402 (still 8401's: it typed it)
    "a_talat.csv": csv_bytes(
        [
            village("84010101"),
            village("84010102", households="-5", village_name=PAYLOAD, notable_product=ERROR_LOOKALIKE),
            village("84010103", population_total="999", headman_name="นายสมชาย ใจดี"),
            village("84020101", drinking_water_source="น้ำแร่", headman_name="นางสมศรี มีสุข"),
        ]
    ),
    # 8401, tambon มะขามเตี้ย: a required cell left empty, a date outside the round
    "b_makham.xlsx": xlsx_bytes(
        [
            village("84010201", households=""),
            village("84010202"),
            village("84010203", survey_date="2020-11-05"),
        ]
    ),
    # 8402, tambon ท่าทองใหม่, sent late: coordinates swapped
    "c_thong.csv": csv_bytes(
        [village("84020102", latitude="99.4720", longitude="9.1720", headman_name="นายกาญจน์ ดิษฐ์")]
    ),
    # a cover letter instead of the form: its name says the tambon
    "ข้อมูลหมู่บ้าน ต.มะขามเตี้ย.csv": "บันทึกข้อความ\nส่งข้อมูลพื้นฐานหมู่บ้าน ประจำเดือน ตุลาคม 2563\n".encode(),
    "book1.csv": b"",  # empty: nothing says whose
    "f_unknown.csv": csv_bytes([village("99999901", headman_name="นายไม่ทราบ ที่มา")]),  # no district
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("corrections")
    layout = Layout(root / "data")
    spec = load_datasets()["village_profile"]
    landing = layout.landing_dir(spec.name, ROUND)
    landing.mkdir(parents=True)
    on_time = dt.datetime(2020, 10, 20, 9, tzinfo=dt.UTC).timestamp()
    late = dt.datetime(2020, 10, 27, 9, tzinfo=dt.UTC).timestamp()
    for name, data in LANDED.items():
        (landing / name).write_bytes(data)
        os.utime(landing / name, (on_time, late if name == "c_thong.csv" else on_time))
    geo = geography()
    job = stages.RoundJob(spec, ROUND, layout, lambda: geo)
    for stage in (stages.ingest, stages.validate, stages.quality):
        stage(job)
    reports = layout.reports(spec.name, ROUND)
    written = write_correction_workbooks(
        spec, ROUND, job.work, geo, reports, catalog_root=layout.catalog, produced=PRODUCED
    )
    return {"spec": spec, "job": job, "written": written, "reports": reports, "geo": geo, "layout": layout}


def files_of(world) -> pd.DataFrame:
    return world["job"].work.read("files")


def sha_of(world, name: str) -> str:
    files = files_of(world)
    return files.loc[files["name"].str.endswith(name), "sha256"].iloc[0]


def file_sheets(path: Path) -> dict[str, list[dict[str, str]]]:
    """Every file sheet's data rows as {column name (row 5): value as calamine reads it}."""
    book = CalamineWorkbook.from_path(str(path))
    out = {}
    for name in book.sheet_names:
        rows = book.get_sheet_by_name(name).to_python(skip_empty_area=False)
        if len(rows) < 5 or "_file" not in rows[4]:
            continue
        header = [str(c) for c in rows[4]]
        out[name] = [dict(zip(header, (_text(c) for c in row), strict=False)) for row in rows[5:]]
    return out


def _text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


def identity(row: dict[str, str]) -> tuple[str, str, int]:
    return row["_file"], row["_sheet"], int(row["_row"])


def keys(rows: pd.DataFrame) -> set[tuple[str, str, int]]:
    """The identities (file SHA-256, sheet, row) of quarantined rows."""
    return set(zip(rows["_file"], rows["_sheet"].fillna(""), rows["_row"].astype(int), strict=True))


def expected_rows(world, office: str | None) -> pd.DataFrame:
    quarantine = world["job"].work.read("quarantine")
    shas = {sha_of(world, name) for name, o in OFFICE_OF.items() if o == office}
    return quarantine[quarantine["_file"].isin(shas)]


def test_a_workbook_for_every_district_of_a_province_that_sent_data_and_none_elsewhere(world):
    folder = world["reports"] / OFFICES_FOLDER
    assert sorted(p.name for p in folder.glob("*.xlsx")) == ["8401_Mueang_Surat_Thani.xlsx", "8402_Kanchanadit.xlsx"]
    assert world["written"].rows == {"8401": 5, "8402": 1} and world["written"].rows_unattributed == 1
    assert (world["reports"] / DATA_TEAM_FILE).is_file()
    catalog = world["layout"].catalog
    assert not catalog.exists() or not list(catalog.rglob("*.xlsx"))  # personal data: never under the catalog
    assert not list(world["reports"].rglob("*.tmp"))


@pytest.mark.parametrize("office", ["8401", "8402"])
def test_each_office_gets_its_quarantined_rows_as_received_with_reasons_and_nobody_elses(world, office):
    path = world["written"].offices[office]
    sheets = file_sheets(path)
    got = {identity(row): row for rows in sheets.values() for row in rows}
    expected = expected_rows(world, office)
    assert set(got) == keys(expected)
    findings = world["job"].work.read("findings")
    for record in expected.to_dict("records"):
        row = got[(record["_file"], record["_sheet"] or "", record["_row"])]
        for field in FIELDS:  # every field, as received, through the spreadsheet rule
            value = record[field]
            assert row[field] == ("" if pd.isna(value) else guard_formula(value)), field
        mine = findings[findings["_row_id"] == record["_row_id"]]
        # one reason a line, in the validators' order; a cell starting "-5 is below…" is guarded like any text
        assert row["reasons_th"] == guard_formula("\n".join(mine["message_th"]))
        assert row["reasons_en"] == guard_formula("\n".join(mine["message_en"]))
        assert sorted(unguard(row["reasons_th"]).split("\n")) == sorted(record["reasons_th"].split(" | "))
    others = expected_rows(world, "8402" if office == "8401" else "8401")
    raw = _all_xml(path)
    for name in others["headman_name"]:  # nothing of another office's rows, anywhere in the file
        assert name.encode() not in raw


def test_a_file_goes_to_the_office_most_of_its_rows_name_including_its_stray_row(world):
    sheets = file_sheets(world["written"].offices["8401"])
    stray = [row for rows in sheets.values() for row in rows if row["village_code"] == "84020101"]
    assert len(stray) == 1 and stray[0]["headman_name"] == "นางสมศรี มีสุข"
    assert not [
        r
        for rows in file_sheets(world["written"].offices["8402"]).values()
        for r in rows
        if r["village_code"] == "84020101"
    ]


def test_faulty_cells_are_filled_exactly_where_a_finding_names_the_field(world):
    findings = world["job"].work.read("findings")
    quarantine = world["job"].work.read("quarantine").set_index(["_file", "_row"])
    checked = 0
    for office in ("8401", "8402"):
        book = openpyxl.load_workbook(world["written"].offices[office])
        for sheet in book.worksheets:
            header = [c.value for c in sheet[5]] if sheet.max_row >= 5 else []
            if "_file" not in header:
                continue
            column = {name: i for i, name in enumerate(header)}
            for cells in sheet.iter_rows(min_row=6):
                key = (cells[column["_file"]].value, int(cells[column["_row"]].value))
                row_id = quarantine.loc[key, "_row_id"]
                named = set(findings.loc[findings["_row_id"] == row_id, "field"])
                filled = {
                    f for f in FIELDS if cells[column[f]].fill.fill_type == "solid"
                    and cells[column[f]].fill.fgColor.rgb.endswith(FAULT_FILL)
                }  # fmt: skip
                assert filled == named & set(FIELDS)
                checked += 1
    assert checked == 6
    empty = _row_where(world, "8401", "84010201")
    assert empty["households"] == ""  # a required cell left empty is still the one to fill in, and red


def _row_where(world, office: str, code: str) -> dict[str, str]:
    return next(
        r for rows in file_sheets(world["written"].offices[office]).values() for r in rows if r["village_code"] == code
    )


def test_a_formula_in_a_village_name_is_text_and_no_cell_anywhere_is_a_formula(world):
    row = _row_where(world, "8401", "84010102")
    assert row["village_name"] == "'" + PAYLOAD  # shown as text, the apostrophe in front
    assert row["notable_product"] == ERROR_LOOKALIKE  # text, not Excel's error value
    for path in [*world["written"].offices.values(), world["written"].data_team]:
        assert b"<f>" not in _all_xml(path) and b"<f " not in _all_xml(path)
        book = openpyxl.load_workbook(path)
        types = {c.data_type for sheet in book.worksheets for line in sheet.iter_rows() for c in line if c.value}
        assert types <= {"s", "n"}, types  # strings and numbers only: no formula, no error cell


def _all_xml(path: Path) -> bytes:
    with zipfile.ZipFile(path) as archive:
        return b"".join(archive.read(n) for n in archive.namelist() if n.endswith(".xml"))


def test_thai_text_round_trips_and_every_cell_has_a_thai_font(world):
    path = world["written"].offices["8401"]
    row = _row_where(world, "8401", "84010103")
    assert row["headman_name"] == "นายสมชาย ใจดี" and row["village_name"] == "บ้านทดสอบ 84010103"
    assert row["reasons_th"].startswith("ประชากรรวม (999) ไม่เท่ากับผลรวม")
    book = openpyxl.load_workbook(path)
    fonts = {c.font.name for sheet in book.worksheets for line in sheet.iter_rows() for c in line if c.value}
    assert fonts == {"Tahoma"}
    summary = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("สรุป Summary").to_python()
    assert summary[0][0] == "แบบแก้ไขข้อมูลที่ไม่ผ่านการตรวจสอบ / Correction workbook: rows held back"
    # the row number (and, for a workbook, the sheet it came from) stay in view with the headers
    sheets = [s for s in book.worksheets[1:] if s.sheet_state == "visible"]
    assert [s.freeze_panes for s in sheets] == ["B6", "C6"]
    for sheet in sheets:  # the identity is there but hidden; every other column is shown
        header = [c.value for c in sheet[5]]
        hidden = {h for i, h in enumerate(header, 1) if sheet.column_dimensions[get_column_letter(i)].hidden}
        assert hidden == {"_file", "_sheet", "_row"}
        assert sheet.row_dimensions[4].height == 28  # Thai and English titles on two lines
    assert [s.title for s in book.worksheets if s.sheet_state == "hidden"] == ["_about"]


def summary_table(path: Path, heading: str) -> list[list[object]]:
    """The rows of the summary's table under ``heading`` (Thai part), to the next blank row."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("สรุป Summary").to_python(skip_empty_area=False)
    start = next(i for i, r in enumerate(rows) if str(r[0]).startswith(heading))
    out = []
    for row in rows[start + 2 :]:
        if not any(str(c).strip() for c in row):
            break
        out.append(row)
    return out


def test_summary_figures_are_the_quality_tables(world):
    quality = world["job"].work.read("quality").set_index(["level", "area_code"])
    path = world["written"].offices["8402"]
    table = {row[0]: row for row in summary_table(path, "ผลการส่งข้อมูลเทียบกับจังหวัดและเป้าหมาย")}
    mine, province = quality.loc[("amphoe", "8402")], quality.loc[("province", "84")]
    completeness = table["ความครบถ้วน (%) / Completeness (%)"]
    assert completeness[1:4] == [mine["completeness_pct"], province["completeness_pct"], 95.0]
    assert completeness[4] == "ต่ำกว่าเป้าหมาย / below target"
    accuracy = table["ความถูกต้อง (%) / Accuracy (%)"]
    assert accuracy[1:4] == [mine["accuracy_pct"], province["accuracy_pct"], 95.0]  # 100 - quarantine_pct
    on_time = table["ส่งตรงเวลา (% ของตำบล) / On time (% of tambons)"]
    assert on_time[1:3] == [mine["on_time_pct"], province["on_time_pct"]] and mine["on_time_pct"] == 0.0  # sent late
    assert table["แถวที่ไม่ผ่าน (ต้องแก้ไข) / Rows held back (to correct)"][1:3] == [
        mine["rows_quarantined"],
        province["rows_quarantined"],
    ]
    tambons = summary_table(path, "รายตำบล")
    assert [(r[0], r[6]) for r in tambons] == [
        (code, quality.loc[("tambon", code), "completeness_pct"]) for code in ("840201", "840202")
    ]


def test_summary_lists_tambons_villages_and_unreadable_files_of_the_office(world):
    path = world["written"].offices["8402"]
    assert [r[0] for r in summary_table(path, "ตำบลที่ไม่ได้ส่งข้อมูล")] == ["840202"]
    villages = summary_table(path, "หมู่บ้านที่ไม่ได้ส่งข้อมูล")
    assert [(r[0], r[4]) for r in villages] == [
        ("84020103", "ไม่ / no"),
        ("84020201", "ใช่ / yes"),
        ("84020202", "ใช่ / yes"),
        ("84020203", "ใช่ / yes"),
    ]
    unreadable = summary_table(world["written"].offices["8401"], "ไฟล์ที่อ่านไม่ได้")
    assert len(unreadable) == 1 and unreadable[0][0].endswith("ข้อมูลหมู่บ้าน ต.มะขามเตี้ย.csv")
    assert unreadable[0][2] == "not_a_table" and "header" in unreadable[0][4]
    assert "ชื่อไฟล์" in unreadable[0][5]  # how we know: its name
    assert summary_table(path, "ไฟล์ที่อ่านไม่ได้")[0][0] == "ไม่มี / none"


def test_a_file_of_an_office_whose_tambon_is_unknown_is_listed_in_its_summary(world, tmp_path, monkeypatch):
    """A file given to an office whose rows name no single tambon still shows, with its rows held back."""
    import pipelines.report.corrections as corrections

    tables = corrections.load_round(world["spec"], world["job"].work, world["geo"])
    files = tables.files.copy()
    theirs = files["amphoe_code"] == "8402"
    files.loc[theirs, "tambon_code"] = None  # a blank, as load_round leaves one
    monkeypatch.setattr(corrections, "load_round", lambda *_: dataclasses.replace(tables, files=files))
    job = world["job"]
    written = write_correction_workbooks(
        world["spec"], ROUND, job.work, world["geo"], tmp_path / "reports", produced=PRODUCED
    )
    last = summary_table(written.offices["8402"], "รายตำบล")[-1]
    assert str(last[1]).startswith("ไม่ทราบตำบล") and last[9] == files.loc[theirs, "held"].sum() > 0


def test_the_data_team_gets_what_no_office_can_be_given(world):
    path = world["written"].data_team
    files = summary_table(path, "ไฟล์ที่ระบุอำเภอไม่ได้")
    names = {Path(r[0]).name for r in files}
    assert names == {"book1.csv", "f_unknown.csv"}
    sheets = file_sheets(path)
    rows = [row for rows in sheets.values() for row in rows]
    assert {identity(r) for r in rows} == keys(expected_rows(world, None))
    assert rows[0]["headman_name"] == "นายไม่ทราบ ที่มา"
    guessed = summary_table(path, "ไฟล์ที่อ่านไม่ได้ซึ่งระบุอำเภอ")
    assert len(guessed) == 1 and "(8401)" in guessed[0][1]
    mixed = summary_table(path, "ไฟล์ที่มีแถวของหลายอำเภอ")
    assert [(Path(r[0]).name, r[1], r[2]) for r in mixed] == [("a_talat.csv", "8401", "8401 (3), 8402 (1)")]


def test_a_returned_workbook_reads_back_by_identity_with_the_guard_undone(world, tmp_path):
    source = world["written"].offices["8401"]
    book = openpyxl.load_workbook(source)  # the office opens it, corrects a cell, writes a note, saves
    for sheet in book.worksheets:
        header = [c.value for c in sheet[5]] if sheet.max_row >= 5 else []
        if "_file" not in header:
            continue
        for cells in sheet.iter_rows(min_row=6):
            if cells[header.index("village_code")].value == "84010102":
                cells[header.index("households")].value = 12
                cells[header.index("office_note")].value = "แก้จำนวนครัวเรือนแล้ว"
    returned = tmp_path / "returned.xlsx"
    book.save(returned)
    back = read_returned(returned, world["spec"])
    assert back.about["amphoe_code"] == "8401" and back.about["round"] == "2020-10"
    assert back.about["correction_deadline"] == "2020-11-04"
    rows = back.rows.set_index("village_code")
    fixed = rows.loc["84010102"]
    assert (fixed["households"], fixed["village_name"], fixed["notable_product"]) == ("12", PAYLOAD, ERROR_LOOKALIKE)
    assert fixed["office_note"] == "แก้จำนวนครัวเรือนแล้ว"
    quarantine = expected_rows(world, "8401")
    assert set(zip(back.rows["_file"], back.rows["_sheet"], back.rows["_row"], strict=True)) == keys(quarantine)
    untouched = rows.loc["84010103"]
    original = quarantine[quarantine["village_code"] == "84010103"].iloc[0]
    assert [untouched[f] for f in FIELDS if f != "village_code"] == [original[f] for f in FIELDS if f != "village_code"]
    assert set(back.sheets.values()) == {sha_of(world, "a_talat.csv"), sha_of(world, "b_makham.xlsx")}


def test_a_returned_sheet_is_also_a_file_of_the_form_to_the_ingest(world):
    """Row 5 (the field names) is the header the ingest finds; the two-language titles above it are title rows."""
    data = world["written"].offices["8401"].read_bytes()
    sheets = read_workbook(data, "xlsx", header_matcher(world["spec"].fields))
    assert [s.header_row for s in sheets] == [5, 5]  # the summary and the hidden _about are not tables
    assert sum(s.rows.num_rows for s in sheets) == world["written"].rows["8401"]


def test_unguard_undoes_exactly_what_the_guard_added():
    for value in [PAYLOAD, "'x", "''=1", "-5", "+66812345678", "@SUM(A1)", "บ้านนา", " =x", "\tx"]:
        assert unguard(guard_formula(value)) == value
    assert unguard("'abc") == "'abc"  # an apostrophe the guard would not have added stays


def test_deadline_is_declared_days_after_the_reporting_deadline(world):
    spec = world["spec"]
    assert correction_deadline(spec, ROUND) == dt.date(2020, 11, 4)  # 25 Oct + 10 (the default)
    declared = type(spec)(**{**spec.__dict__, "raw": {**spec.raw, "corrections": {"deadline_days": 3}}})
    assert correction_deadline(declared, ROUND) == dt.date(2020, 10, 28)
    wrong = type(spec)(**{**spec.__dict__, "raw": {**spec.raw, "corrections": {"deadline_days": "soon"}}})
    with pytest.raises(ValueError, match="deadline_days"):
        correction_deadline(wrong, ROUND)
    rows = CalamineWorkbook.from_path(str(world["written"].offices["8401"])).get_sheet_by_name("สรุป Summary")
    deadline = next(r for r in rows.to_python() if str(r[0]).startswith("กำหนดส่งแก้ไข"))
    assert deadline[1] == "4 พ.ย. 2563 (4 Nov 2020)"


def test_several_processes_write_the_same_workbooks(world, tmp_path):
    """The national round is written by a process per CPU: each must give exactly what one process gives."""
    job = world["job"]
    parallel = write_correction_workbooks(
        world["spec"], ROUND, job.work, world["geo"], tmp_path, produced=PRODUCED, workers=2
    )
    assert parallel.rows == world["written"].rows
    for office, path in world["written"].offices.items():
        mine, theirs = CalamineWorkbook.from_path(str(path)), CalamineWorkbook.from_path(str(parallel.offices[office]))
        assert mine.sheet_names == theirs.sheet_names
        for name in mine.sheet_names:
            assert mine.get_sheet_by_name(name).to_python() == theirs.get_sheet_by_name(name).to_python()


def test_a_round_no_office_sent_anything_to_writes_no_office_workbook(tmp_path):
    """Only an empty file came: no district to write to, and the data team gets the file (once crashed)."""
    layout = Layout(tmp_path / "data")
    spec = load_datasets()["village_profile"]
    landing = layout.landing_dir(spec.name, ROUND)
    landing.mkdir(parents=True)
    (landing / "book1.csv").write_bytes(b"")
    geo = geography()
    job = stages.RoundJob(spec, ROUND, layout, lambda: geo)
    for stage in (stages.ingest, stages.validate, stages.quality):
        stage(job)
    written = write_correction_workbooks(
        spec, ROUND, job.work, geo, layout.reports(spec.name, ROUND), produced=PRODUCED, workers=2
    )
    assert written.offices == {} and written.files_unattributed == 1


def test_never_written_under_the_catalog(world):
    with pytest.raises(ValueError, match="catalog"):
        write_correction_workbooks(
            world["spec"], ROUND, world["job"].work, world["geo"], world["layout"].catalog / "x",
            catalog_root=world["layout"].catalog,
        )  # fmt: skip


def test_unreadable_files_are_attributed_by_codes_or_names_or_left_to_the_data_team(tmp_path):
    gazetteer = Gazetteer(geography())
    letter = tmp_path / "letter.csv"
    letter.write_text("ที่ทำการปกครองอำเภอกาญจนดิษฐ์ จังหวัดสุราษฎร์ธานี\nเรียน นายอำเภอกาญจนดิษฐ์", encoding="utf-8")
    assert place_without_rows("scan.csv", str(letter), gazetteer, set()).amphoe_code == "8402"
    utf16 = tmp_path / "unicode.csv"
    utf16.write_bytes(b"\xff\xfe" + "village_code\tx\r\n84010101\t1\r\n84010102\t2\r\n".encode("utf-16-le"))
    place = place_without_rows("สำรวจ.csv", str(utf16), gazetteer, set())
    assert (place.amphoe_code, place.how) == ("8401", "content")
    assert place_without_rows("จปฐ63_840201.csv", None, gazetteer, set()).amphoe_code == "8402"
    zipped = tmp_path / "data.xlsx"
    zipped.write_bytes(b"PK\x03\x04" + "ต.ตลาด".encode() * 10)  # a container is never opened
    assert place_without_rows("data.xlsx", str(zipped), gazetteer, set()).amphoe_code is None
    # ท่าทอง is also the start of ท่าทองใหม่: the longest name wins, so each names its own district
    assert place_without_rows("ต.ท่าทองใหม่.csv", None, gazetteer, set()).tambon_code == "840201"
    assert place_without_rows("ต.ท่าทอง.csv", None, gazetteer, set()).tambon_code == "840202"
    nobody = place_without_rows("book1.csv", None, gazetteer, {"8401"})
    assert nobody.amphoe_code is None and "file name" in nobody.evidence_en


@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed here")
def test_libreoffice_opens_the_workbook(world, tmp_path):
    path = world["written"].offices["8401"]
    subprocess.run(
        ["soffice", "--headless", "--convert-to", "csv", "--outdir", str(tmp_path), str(path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    text = (tmp_path / (path.stem + ".csv")).read_text(encoding="utf-8", errors="replace")
    assert "แบบแก้ไขข้อมูลที่ไม่ผ่านการตรวจสอบ" in text
