"""The data team's morning: who to chase first, the full list and the quarantined rows, never cut silently.

Hand-made quality figures test the split and the check tables; a hand-made work area tests
the quarantine table; one real round (one small province, in Dagster, on a SQLite instance)
tests that every file is written, linked from Dagster and from the quality page, and that
the page (published) carries no personal value from the quarantine table (internal).
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

import samples.village_profile as generator
from catalog.files import guard_formula
from catalog.privacy import scan_files
from domain.layout import Layout
from domain.rounds import parse_round
from domain.work import WorkArea
from pipelines import checks, stages
from pipelines.deadlines import (
    NOT_REPORTED_COLUMNS,
    NOT_REPORTED_FILE,
    not_reported,
    not_reported_table,
    split_not_reported,
)
from pipelines.report import render_quality_page
from pipelines.report.internal_tables import (
    QUARANTINE_FILE,
    guard_sql,
    register_guard,
    spreadsheet_safe,
    write_quarantine_csv,
)
from tests.dagster_round import run_in_process

ROUND = parse_round("2563-10")
DEADLINE = dt.date(2020, 10, 25)


def area(level: str, code: str, th: str, en: str, received: int, villages: int = 10) -> dict:
    return {
        "level": level,
        "area_code": code,
        "area_name_th": th,
        "area_name_en": en,
        "rows_received": received,
        "villages_expected": villages,
    }


def quality_frame(chase_tambons: int = 2) -> pd.DataFrame:
    """Nonthaburi (12) sent nothing: 600 tambons whose codes sort first. Sakon Nakhon (47) sent most:
    ``chase_tambons`` missing in two amphoes. Chiang Mai (50) sent everything."""
    rows = [area("nation", "TH", "ประเทศไทย", "Thailand", 40)]
    rows += [area("province", "12", "นนทบุรี", "Nonthaburi", 0)]
    for a in range(1, 7):
        rows += [area("amphoe", f"12{a:02d}", f"อำเภอ{a}", f"Amphoe {a}", 0)]
        rows += [area("tambon", f"12{a:02d}{t:02d}", f"ตำบล{t}", f"Tambon {t}", 0) for t in range(100)]
    rows += [area("province", "47", "สกลนคร", "Sakon Nakhon", 30)]
    rows += [
        area("amphoe", "4701", "เมืองสกลนคร", "Mueang Sakon Nakhon", 20),
        area("amphoe", "4702", "กุสุมาลย์", "Kusuman", 10),
    ]
    rows += [area("tambon", "470100", "ธาตุเชิงชุม", "That Choeng Chum", 20)]
    rows += [area("amphoe", "4703", "พังโคน", "Phang Khon", 0), area("amphoe", "4704", "วาริชภูมิ", "Waritchaphum", 0)]
    missing = [f"47{1 + i % 4:02d}{i // 4 + 1:02d}" for i in range(chase_tambons)]  # up to 396 in four amphoes
    rows += [area("tambon", code, f"ขาด{code}", f"Missing {code}", 0, villages=3) for code in missing]
    rows += [
        area("province", "50", "เชียงใหม่", "Chiang Mai", 10),
        area("amphoe", "5001", "เมืองเชียงใหม่", "Mueang Chiang Mai", 10),
    ]
    rows += [area("tambon", "500101", "ศรีภูมิ", "Si Phum", 10)]
    return pd.DataFrame(rows)


def test_missing_tambons_split_into_those_to_chase_and_provinces_that_sent_nothing():
    quality = quality_frame()
    missing = split_not_reported(quality)
    assert list(missing.chase["tambon_code"]) == ["470101", "470201"]
    first = missing.chase.iloc[0]
    assert (first.province_name_th, first.province_name_en, first.amphoe_code, first.amphoe_name_en) == (
        "สกลนคร",
        "Sakon Nakhon",
        "4701",
        "Mueang Sakon Nakhon",
    )
    assert missing.silent[["province_code", "province_name_en", "tambons"]].values.tolist() == [
        ["12", "Nonthaburi", 600]
    ]
    assert missing.tambons == len(not_reported(quality)) == 602


def test_reported_by_deadline_shows_the_tambons_to_chase_first_and_counts_the_silent_provinces(tmp_path):
    quality = quality_frame()
    links = {"full_list": tmp_path / NOT_REPORTED_FILE, "quality_page": tmp_path / "quality_report.html"}
    result = checks.reported_by_deadline(
        DEADLINE, DEADLINE + dt.timedelta(days=1), split_not_reported(quality), 602, links
    )
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert next(iter(result.metadata)) == "tambons_to_chase"  # first thing the UI shows
    chase = result.metadata["tambons_to_chase"].value
    assert "470101 ขาด470101 (Missing 470101)" in chase and "470201" in chase
    assert "สกลนคร Sakon Nakhon (47)" in chase and "เมืองสกลนคร Mueang Sakon Nakhon (4701)" in chase
    assert "กุสุมาลย์ Kusuman (4702)" in chase
    assert "1201" not in chase  # no silent tambon crowds them out
    silent = result.metadata["provinces_sent_nothing"].value
    assert "| 12 | นนทบุรี Nonthaburi | 600 |" in silent and "120101" not in silent
    assert result.metadata["tambons_late_or_missing"].value == 602
    assert result.metadata["tambons_to_chase_count"].value == 2
    assert result.metadata["tambons_in_provinces_sent_nothing"].value == 600
    assert result.metadata["full_list"] == dg.MetadataValue.path(str(links["full_list"]))


def test_a_long_list_to_chase_says_how_many_more_and_where_they_are(tmp_path):
    quality = quality_frame(chase_tambons=250)
    links = {"full_list": tmp_path / NOT_REPORTED_FILE}
    result = checks.reported_by_deadline(
        DEADLINE, DEADLINE + dt.timedelta(days=1), split_not_reported(quality), 850, links
    )
    chase = result.metadata["tambons_to_chase"].value
    named = set(re.findall(r"\b47\d{4}\b", chase))  # codes also appear in the test names
    assert len(named) == checks.MARKDOWN_TAMBONS == 200
    assert "อีก 50 ตำบล" in chase and "50 more tambons" in chase and str(links["full_list"]) in chase


def test_before_the_deadline_nobody_is_late_but_the_check_says_how_many_have_not_reported():
    quality = quality_frame()
    empty = split_not_reported(quality, not_reported(quality).iloc[0:0])
    result = checks.reported_by_deadline(DEADLINE, DEADLINE, empty, 602, {})
    assert result.passed
    assert (
        "602" in result.metadata["before_deadline"].value
        and "ยังไม่ถึงกำหนดส่ง" in result.metadata["before_deadline"].value
    )


def test_completeness_lists_the_same_split_without_a_silent_cut(village_spec, tmp_path):
    quality = quality_frame()
    figures = {"completeness_pct": 4.0, "accuracy_pct": 90.0}
    result = checks.completeness(village_spec, figures, split_not_reported(quality), {"full_list": tmp_path / "x.csv"})
    assert next(iter(result.metadata)) == "tambons_to_chase" and "470201" in result.metadata["tambons_to_chase"].value
    assert result.metadata["tambons_not_reported"].value == 602
    assert "tambons_not_reported_codes" not in result.metadata


def test_full_list_file_has_every_missing_tambon_chaseable_first_for_excel(tmp_path, village_spec):
    layout = Layout(tmp_path)
    job = stages.RoundJob(village_spec, ROUND, layout)
    job.work.write("quality", quality_frame())
    path = stages.not_reported_list(job)
    assert path == layout.reports("village_profile", ROUND) / NOT_REPORTED_FILE
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    table = pd.read_csv(path, encoding="utf-8-sig", dtype=str)
    assert list(table.columns) == list(NOT_REPORTED_COLUMNS.values())
    assert len(table) == 602
    assert list(table["รหัสตำบล / tambon_code"][:2]) == ["470101", "470201"]
    assert set(table["จังหวัดส่งข้อมูลรอบนี้ / province_sent_data"][:2]) == {"ใช่ / yes"}
    assert set(table["จังหวัดส่งข้อมูลรอบนี้ / province_sent_data"][2:]) == {"ไม่ / no"}


def test_internal_tables_guard_formulas_by_the_published_csv_rule():
    """The streamed (SQL) path and the small-table path give exactly ``catalog.files.guard_formula``."""
    values = ["=1+1", "+66812345678", "-5", "-5 is below", "@SUM(A1)", "\tx", "\rx", " =x", "'x", "＝x"]
    values += ["บ้านนา", "ั x", "1-2", "(x)", "", "75010101"]
    con = duckdb.connect()
    register_guard(con)
    con.execute("CREATE TABLE t (i INTEGER, v VARCHAR)")
    con.executemany("INSERT INTO t VALUES (?, ?)", list(enumerate([*values, None])))
    streamed = [v for (v,) in con.execute(f"SELECT {guard_sql('v')} FROM t ORDER BY i").fetchall()]
    assert streamed == [guard_formula(v) for v in values] + [None]
    assert [spreadsheet_safe(v) for v in values] == [guard_formula(v) for v in values]
    assert spreadsheet_safe(None) is None and spreadsheet_safe(5) == 5
    assert guard_formula("=1+1") == "'=1+1" and guard_formula("-5") == "-5"  # the rule itself, as relied on


def hand_made_work_area(folder: Path, village_spec) -> WorkArea:
    """Two files, three quarantined rows, four findings, values an Excel user must not run."""
    work = WorkArea(folder)
    fields = village_spec.field_names
    quarantine = pd.DataFrame({name: [None, None, None] for name in fields})
    quarantine.insert(0, "_row_id", [7, 3, 9])
    quarantine["village_code"] = ["75010101", "75010102", '=HYPERLINK("http://x")']
    quarantine["headman_name"] = ["นายสมชาย ใจดี", "นางสมศรี มีสุข", "x"]
    quarantine["_file"] = ["b" * 64, "a" * 64, "a" * 64]
    quarantine["_sheet"] = ["=หมู่บ้าน", "", ""]  # a sheet name is the office's text too
    quarantine["_row"] = [12, 5, 4]
    quarantine["codes"] = quarantine["reasons_th"] = quarantine["reasons_en"] = ""
    work.write("quarantine", quarantine)
    work.write(
        "findings",
        pd.DataFrame(
            {
                "_row_id": [3, 7, 7, 9],
                "field": ["households", "population_total", "households", "village_code"],
                "code": ["below_minimum", "sum_mismatch", "wrong_type", "unknown_code"],
                "rule": ["schema", "sum_equals", "schema", "registry_member"],
                "value": ["-5", "696", "@SUM(A1)", '=HYPERLINK("http://x")'],
                "detail": ["0", "", "", ""],
                "message_th": ["ค่า -5 ต่ำกว่าค่าต่ำสุด", "ผลรวมไม่ตรง", "ไม่ใช่จำนวนเต็ม", "ไม่พบรหัส"],
                "message_en": ["-5 is below the minimum (0).", "Total mismatch.", "Not an integer.", "Unknown code."],
            }
        ),
    )
    work.write("files", pd.DataFrame({"sha256": ["a" * 64, "b" * 64], "name": ["2563-10/+a.csv", "2563-10/b.xlsx"]}))
    return work


def test_quarantine_table_has_where_what_and_why_for_each_finding(tmp_path, village_spec):
    work = hand_made_work_area(tmp_path / "work", village_spec)
    path, lines = write_quarantine_csv(village_spec, work, tmp_path / "reports")
    assert path.name == QUARANTINE_FILE and lines == 4
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.count(b"\r\n") == 5
    table = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(table.columns) == [
        "ไฟล์ / file",
        "ชีต / sheet",
        "แถวที่ (ใน Excel) / row (as in Excel)",
        "รหัสหมู่บ้าน / village_code",
        "ช่อง / field",
        "ชื่อช่อง / field_th",
        "ค่าที่ได้รับ / value_as_received",
        "รหัสสาเหตุ / reason_code",
        "สาเหตุ / reason_th",
        "reason_en",
    ]
    # file, then sheet, then row as the office sees it; within a row, fields in the form's order
    assert table[["ไฟล์ / file", "แถวที่ (ใน Excel) / row (as in Excel)", "ช่อง / field"]].values.tolist() == [
        ["2563-10/+a.csv", "4", "village_code"],
        ["2563-10/+a.csv", "5", "households"],
        ["2563-10/b.xlsx", "12", "households"],
        ["2563-10/b.xlsx", "12", "population_total"],
    ]
    assert table["ชีต / sheet"].tolist() == ["", "", "'=หมู่บ้าน", "'=หมู่บ้าน"]
    assert table["ค่าที่ได้รับ / value_as_received"].tolist() == ['\'=HYPERLINK("http://x")', "-5", "'@SUM(A1)", "696"]
    assert table["รหัสหมู่บ้าน / village_code"].tolist()[0] == '\'=HYPERLINK("http://x")'
    assert table["reason_en"].tolist()[1] == "'-5 is below the minimum (0)."
    assert table["ชื่อช่อง / field_th"].tolist()[1] == "จำนวนครัวเรือน"
    assert not list(tmp_path.rglob("*.tmp"))  # no temporary file left behind


def test_quality_page_links_the_internal_tables_by_name_only(tmp_path, village_spec):
    layout = Layout(tmp_path)
    generator.generate(ROUND, layout.landing_dir("village_profile", ROUND), provinces=["75"])
    job = stages.RoundJob(village_spec, ROUND, layout)
    for stage in (stages.ingest, stages.validate, stages.quality):
        stage(job)
    work_root = layout.root / "work" / "village_profile"
    without = render_quality_page(village_spec, ROUND, work_root)
    assert f'href="{QUARANTINE_FILE}"' not in without and f'href="{NOT_REPORTED_FILE}"' not in without
    page = render_quality_page(village_spec, ROUND, work_root, [QUARANTINE_FILE, NOT_REPORTED_FILE])
    assert f'<a href="{QUARANTINE_FILE}">' in page and f'<a href="{NOT_REPORTED_FILE}">' in page
    assert "internal, never published" in page and "ไม่เผยแพร่" in page


@pytest.fixture(scope="module")
def demo_round(tmp_path_factory):
    """One province through the whole village job in Dagster, judged after the deadline, with the local
    CKAN's env file present but CKAN_URL unset (a UI started without `make ui`)."""
    root = tmp_path_factory.mktemp("morning")
    home = root / "dagster_home"
    home.mkdir()
    ckan_run = root / "ckan-run"
    ckan_run.mkdir()
    (ckan_run / "env").write_text("CKAN_URL=http://127.0.0.1:5000\nCKAN_API_TOKEN=tok-secret-42\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAMBON_DATA_DIR", str(root / "data"))
        patch.setenv("TAMBON_TODAY", "2020-10-26")
        patch.setenv("TAMBON_CKAN_RUN", str(ckan_run))
        patch.delenv("CKAN_URL", raising=False)
        layout = Layout(root / "data")
        generator.generate(ROUND, layout.landing_dir("village_profile", ROUND), provinces=["81"])  # leaves gaps
        from pipelines.definitions import build_definitions

        instance = dg.DagsterInstance.local_temp(str(home))
        result = run_in_process(build_definitions(), "village_profile", ROUND, instance)[-1]  # the nation's run
        assert result.success
        yield result, layout, instance
        instance.dispose()


def materialization(result, *path: str) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key == dg.AssetKey(["village_profile", *path]):
            return dict(event.materialization.metadata)
    raise AssertionError(f"no materialization of {path}")


def test_real_round_writes_both_internal_tables_and_links_them_from_dagster(demo_round, village_spec):
    result, layout, _ = demo_round
    reports = layout.reports("village_profile", ROUND)
    quarantine = materialization(result, "quarantine_report")
    assert quarantine["rows_table"] == dg.MetadataValue.path(str(reports / QUARANTINE_FILE))
    work = WorkArea(layout.work("village_profile", ROUND), partitioned=True)
    findings = work.read("findings")
    assert quarantine["rows_table_lines"].value == len(findings) > 0
    table = pd.read_csv(reports / QUARANTINE_FILE, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(table) == len(findings)
    assert set(table["รหัสสาเหตุ / reason_code"]) == set(findings["code"])
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    late = evaluations["reported_by_deadline"]
    assert not late.passed
    chase = late.metadata["tambons_to_chase"].value
    quality = pd.read_parquet(layout.work("village_profile", ROUND) / "quality.parquet")
    missing = not_reported_table(quality)
    to_chase = missing[missing["province_sent_data"]]
    assert 0 < len(to_chase) < 50 and set(to_chase["province_code"]) == {"81"}
    for code in to_chase["tambon_code"]:
        assert code in chase
    assert late.metadata["provinces_sent_nothing_count"].value == 75
    full_list = Path(late.metadata["full_list"].value)
    assert full_list == reports / NOT_REPORTED_FILE
    assert len(pd.read_csv(full_list, encoding="utf-8-sig", dtype=str)) == len(missing)
    assert late.metadata["quality_page"].value == str(reports / "quality_report.html")
    assert materialization(result, "quality")["tambons_not_reported_list"].value == str(full_list)


def test_published_quality_page_links_but_never_embeds_personal_values(demo_round, village_spec):
    _, layout, _ = demo_round
    reports = layout.reports("village_profile", ROUND)
    published = layout.catalog / "village_profile_quality" / ROUND.key / "quality_report.html"
    for page in (reports / "quality_report.html", published):
        html = page.read_text(encoding="utf-8")
        assert f'<a href="{QUARANTINE_FILE}">' in html and f'<a href="{NOT_REPORTED_FILE}">' in html
    html = published.read_text(encoding="utf-8")
    work = WorkArea(layout.work("village_profile", ROUND), partitioned=True)
    rows = work.read("quarantine")
    personal = [f["name"] for f in village_spec.fields if f.get("privacy") in ("personal", "sensitive")]
    values = {v for name in personal for v in rows[name].dropna() if len(str(v)) >= 4}
    assert values and not [v for v in values if str(v) in html]
    received = work.path("received")
    assert scan_files([(published.name, published.read_bytes())], village_spec, received) == []
    assert not list(layout.catalog.rglob(QUARANTINE_FILE)) and not list(layout.catalog.rglob(NOT_REPORTED_FILE))


def test_a_run_with_ckan_configured_elsewhere_says_so(demo_round):
    result, _, _ = demo_round
    published = materialization(result, "published")
    notice = published["ckan"].value
    assert "CKAN_URL" in notice and "ไม่ได้ส่งขึ้น CKAN" in notice and "not to CKAN" in notice
    assert "tok-secret-42" not in notice
