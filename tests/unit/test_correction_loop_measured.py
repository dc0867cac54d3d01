"""The correction loop measured (issue #14, point 4): returned, fixed, open, on time, turnaround per office.

One hand-made round (two districts of Surat Thani) runs through the real stages and is published
(r1); the offices' workbooks are written on 26 Oct 2020 and re-written on 28 Oct (a re-run: the
loop is still timed from the first for a plain fixed file). Mueang Surat Thani (8401), which had
three rows returned, sends back the 28 Oct workbook on 30 Oct (Bangkok) with one row fixed, and a
plain fixed file for a second row on 7 Nov (Bangkok; 6 Nov 18:30 UTC), after the correction
deadline (4 Nov 2020: the 25th plus the default ten days); its third row stays open. Kanchanadit
(8402), one row returned, sends nothing. The round re-runs and is published again (r2).

Expected, by construction:

* 8401: returned 3, fixed 2, open 1, on time 1 (33.33%), turnaround 2 days (30 Oct - 28 Oct, the
  returned workbook's own stamp) and 12 days (7 Nov - 26 Oct, the office's first workbook):
  median 7, longest 12;
* 8402: returned 1, fixed 0, open 1, on time 0 (0%), no turnaround;
* Surat Thani (84) and the nation: 4, 2, 2, 1 (25%), median 7, longest 12.

Then the next round (2563-11) is run and its workbooks written: each office's summary sheet shows
its 2563-10 figures.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import openpyxl
import pandas as pd
import pytest
import yaml
from python_calamine import CalamineWorkbook

from domain.rounds import parse_round
from pipelines import stages
from pipelines.assets import correction_metadata
from pipelines.ingest.corrections import land_returned
from pipelines.report.corrections import correction_deadline, write_correction_workbooks
from pipelines.report.corrections import texts as T
from pipelines.report.corrections.measured import LEDGER_FILE, LOOP_TABLE, MEASURES, fix_date
from pipelines.scorecards import SCORECARDS_DIR, parse_scorecard, published_parquet, score
from tests.unit.test_correction_workbook import PRODUCED, ROUND, csv_bytes, village
from tests.unit.test_returned_corrections import SPEC, _sheet_rows, _stages, first_round

RE_WRITTEN = dt.date(2020, 10, 28)  # the workbooks written again: what 8401 downloads and sends back
UPLOADED_WORKBOOK = "2020-10-30T03:00:00+00:00"  # 10:00 in Bangkok, 30 Oct 2020
UPLOADED_FIXED_FILE = "2020-11-06T18:30:00Z"  # 01:30 in Bangkok, 7 Nov 2020: after the deadline
NEXT = parse_round("2563-11")

EXPECTED = {
    # returned, fixed, open, fixed on time, on time %, median days, longest days
    "8401": (3, 2, 1, 1, 33.33, 7.0, 12),
    "8402": (1, 0, 1, 0, 0.0, None, None),
    "84": (4, 2, 2, 1, 25.0, 7.0, 12),
    "TH": (4, 2, 2, 1, 25.0, 7.0, 12),
}


def _origin(uploaded_at: str, resource: str) -> dict:
    return {
        "source": "ckan",
        "resource_id": resource,
        "resource_url": f"http://ckan.example/dataset/corrections/resource/{resource}",
        "uploaded_by": "officer-8401",
        "uploaded_at": uploaded_at,
    }


def _one_fix(path) -> bytes:
    """8401's edit of its workbook: 84010102's households filled in; the other rows sent back as they were."""
    book = openpyxl.load_workbook(path)
    (_sheet, header, rows), *_ = list(_sheet_rows(book))
    for cells in rows:
        if cells[header.index("village_code")].value == "84010102":
            cells[header.index("households")].value = 12
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    layout, job, catalog, first = first_round(tmp_path_factory.mktemp("loop"))
    geo = job.geography
    reports = layout.reports(SPEC.name, ROUND)
    write_correction_workbooks(SPEC, ROUND, job.work, geo, reports, produced=PRODUCED)
    written = write_correction_workbooks(SPEC, ROUND, job.work, geo, reports, produced=RE_WRITTEN)

    book = written.offices["8401"]
    land_returned(layout, SPEC, ROUND, "8401", book.name, _one_fix(book), _origin(UPLOADED_WORKBOOK, "r-1"))
    fixed = csv_bytes([village("84010201")])
    land_returned(layout, SPEC, ROUND, "8401", "fixed_84010201.csv", fixed, _origin(UPLOADED_FIXED_FILE, "r-2"))
    second = _stages(job, catalog)
    figures = stages.quality(job)  # what the quality asset is given (the same tables again)

    # the next round: 8401 sends a file with one faulty row; every office of the province gets a workbook
    landing_next = layout.landing_dir(SPEC.name, NEXT)
    landing_next.mkdir(parents=True)
    rows = [village("84010101", survey_date="15 พ.ย. 2563"), village("84010102", survey_date="15 พ.ย. 2563")]
    rows[1]["households"] = "-1"
    (landing_next / "a_talat_nov.csv").write_bytes(csv_bytes(rows))
    job_next = stages.RoundJob(SPEC, NEXT, layout, lambda: geo)
    for stage in (stages.ingest, stages.validate, stages.quality):
        stage(job_next)
    reports_next = layout.reports(SPEC.name, NEXT)
    next_books = write_correction_workbooks(
        SPEC, NEXT, job_next.work, geo, reports_next, produced=dt.date(2020, 11, 26)
    )
    return {
        "job": job,
        "layout": layout,
        "catalog": catalog,
        "reports": reports,
        "first": first,
        "report": second,
        "figures": figures,
        "next_books": next_books,
        "geo": geo,
    }


def _measured(frame: pd.DataFrame, level: str, code: str) -> tuple:
    row = frame[(frame["level"] == level) & (frame["area_code"] == code)].iloc[0]
    return tuple(None if pd.isna(row[c]) else row[c] for c in MEASURES)


def test_the_fixture_is_what_the_story_says():
    assert correction_deadline(SPEC, ROUND) == dt.date(2020, 11, 4)
    assert fix_date({"uploaded_at": UPLOADED_WORKBOOK}) == dt.date(2020, 10, 30)
    assert fix_date({"uploaded_at": UPLOADED_FIXED_FILE}) == dt.date(2020, 11, 7)  # Bangkok's date, not UTC's
    # no upload time: when it landed; neither: when the round read it
    assert fix_date({"landed_at": "2020-11-01T00:00:00+00:00"}, "2020-12-01T00:00:00+00:00") == dt.date(2020, 11, 1)
    assert fix_date({}, "2020-12-01T00:00:00+00:00") == dt.date(2020, 12, 1)


def test_the_loop_per_office_province_and_nation(world):
    loop = world["job"].work.read(LOOP_TABLE)
    assert list(loop["level"]) == ["amphoe", "amphoe", "province", "nation"]
    for code, expected in EXPECTED.items():
        level = {"84": "province", "TH": "nation"}.get(code, "amphoe")
        assert _measured(loop, level, code) == expected, code
    office = loop[loop["area_code"] == "8401"].iloc[0]
    assert (office["area_name_th"], office["area_name_en"]) == ("เมืองสุราษฎร์ธานี", "Mueang Surat Thani")


def test_the_counts_are_the_run_reports(world):
    offices = world["report"]["corrections"]["offices"]
    loop = world["job"].work.read(LOOP_TABLE).set_index("area_code")
    for code in ("8401", "8402"):
        assert loop.loc[code, "correction_rows_returned"] == offices[code]["rows_returned"]
        assert loop.loc[code, "correction_rows_fixed"] == offices[code]["rows_corrected"]
        assert loop.loc[code, "correction_rows_open"] == offices[code]["rows_open"]


def test_before_anything_came_back_every_returned_row_is_open(world):
    published = {p["output"]: p for p in world["first"]["published"]}
    first = pd.read_csv(published["village_profile_quality"]["files"]["csv"], dtype=str, keep_default_na=False)
    office = first[(first["level"] == "amphoe") & (first["area_code"] == "8401")].iloc[0]
    assert (office["correction_rows_returned"], office["correction_rows_fixed"], office["correction_rows_open"]) == (
        "3",
        "0",
        "3",
    )
    assert office["correction_turnaround_days_median"] == "" and office["corrections_on_time_pct"] == "0.0"


def test_the_first_workbook_is_the_publication_of_a_plain_fixed_file(world):
    ledger = json.loads((world["reports"] / LEDGER_FILE).read_text(encoding="utf-8"))
    assert ledger["first_produced"] == {"8401": "2020-10-26", "8402": "2020-10-26"}  # not moved by the re-write


def test_the_quality_table_carries_the_loop_and_tambons_are_blank(world):
    quality = world["job"].work.read("quality")
    for code, expected in EXPECTED.items():
        level = {"84": "province", "TH": "nation"}.get(code, "amphoe")
        assert _measured(quality, level, code) == expected, code
    tambons = quality[quality["level"] == "tambon"]
    assert tambons[MEASURES].isna().all().all()
    other = quality[(quality["level"] == "amphoe") & (quality["area_code"] == "4701")].iloc[0]
    assert other["correction_rows_returned"] == 0 and pd.isna(other["corrections_on_time_pct"])


def test_the_published_quality_csv_has_the_columns_with_their_titles(world):
    published = {p["output"]: p for p in world["report"]["published"]}
    entry = published["village_profile_quality"]
    assert (entry["status"], entry["revision"]) == ("new", 2)
    csv = pd.read_csv(entry["files"]["csv"], dtype=str, keep_default_na=False)
    office = csv[(csv["level"] == "amphoe") & (csv["area_code"] == "8401")].iloc[0]
    assert [office[c] for c in MEASURES] == ["3", "2", "1", "1", "33.33", "7.0", "12"]
    silent = csv[(csv["level"] == "amphoe") & (csv["area_code"] == "8402")].iloc[0]
    assert [silent[c] for c in MEASURES] == ["1", "0", "1", "0", "0.0", "", ""]
    assert set(csv.loc[csv["level"] == "tambon", MEASURES].to_numpy().ravel()) == {""}
    package = json.loads((world["layout"].catalog / "village_profile_quality" / ROUND.key / "r2" /
                          "datapackage.json").read_text(encoding="utf-8"))  # fmt: skip
    fields = {f["name"]: f for f in package["resources"][0]["schema"]["fields"]}
    titles = [(fields[c]["title"], fields[c]["title_th"]) for c in MEASURES]
    assert len({t for t, _ in titles}) == len({th for _, th in titles}) == len(MEASURES)
    assert all(fields[c]["description"] and fields[c]["description_th"] for c in MEASURES)
    assert fields["correction_rows_returned"]["type"] == "integer"
    assert fields["corrections_on_time_pct"]["type"] == "number"


def _row_cells(html: str, label: str) -> list[str]:
    """The number cells of the corrections table's row whose heading holds ``label``."""
    section = html[html.index('<section id="corrections">') :]
    section = section[: section.index("</section>")]
    row = next(r for r in re.findall(r"<tr[^>]*>(.*?)</tr>", section) if label in r.split("</th>")[0])
    return re.findall(r'<td class="num">(.*?)</td>', row)


def test_the_quality_report_has_the_section(world):
    html = (world["reports"] / "quality_report.html").read_text(encoding="utf-8")
    assert "การแก้ไขข้อมูลของอำเภอ" in html and "Corrections by district office" in html
    assert html.index("การแก้ไขข้อมูลของอำเภอ") < html.index("Corrections by district office")
    assert _row_cells(html, "(8401)") == ["3", "2", "1", "1", "33.33%", "7", "12"]
    assert _row_cells(html, "(8402)") == ["1", "0", "1", "0", "0.00%", "–", "–"]
    assert _row_cells(html, "(84)") == ["4", "2", "2", "1", "25.00%", "7", "12"]
    published = world["layout"].catalog / "village_profile_quality" / ROUND.key / "quality_report.html"
    assert "Corrections by district office" in published.read_text(encoding="utf-8")


def test_the_quality_assets_metadata(world):
    figures = world["figures"]
    assert figures["corrections"] == {
        "offices": 2,
        "correction_rows_returned": 4,
        "correction_rows_fixed": 2,
        "correction_rows_open": 2,
        "correction_rows_fixed_on_time": 1,
        "corrections_on_time_pct": 25.0,
        "correction_turnaround_days_median": 7.0,
        "correction_turnaround_days_max": 12,
    }
    metadata = correction_metadata(world["job"].work.read(LOOP_TABLE))
    assert metadata["correction_rows_returned"].value == 4
    assert metadata["correction_rows_fixed"].value == 2
    assert metadata["correction_rows_open"].value == 2
    assert metadata["corrections_on_time_pct"].value == 25.0
    assert metadata["correction_turnaround_days_median"].value == 7.0
    assert metadata["correction_turnaround_days_max"].value == 12
    table = metadata["corrections_by_office"].value
    assert "8401" in table and "8402" in table and "33.33" in table


def _earlier_rows(path) -> list[list]:
    """The rows under the summary's "earlier rounds" heading, up to the next blank line."""
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name(T.SUMMARY_SHEET).to_python()
    start = next(i for i, r in enumerate(rows) if r and str(r[0]).startswith(T.SECTION_EARLIER[0]))
    assert rows[start + 1][1].startswith(T.EARLIER_HEADER[1][0])  # the header, Thai first
    out = []
    for row in rows[start + 2 :]:
        if not any(str(c).strip() for c in row):
            break
        out.append(row)
    return out


def test_the_next_workbook_shows_the_office_its_last_round(world):
    books = world["next_books"].offices
    mine = _earlier_rows(books["8401"])
    assert mine[0][0].startswith("ต.ค. 2563 (2563-10)") or "(2563-10)" in mine[0][0]
    assert [float(v) for v in mine[0][1:8]] == [3, 2, 1, 1, 33.33, 7, 12]
    theirs = _earlier_rows(books["8402"])
    assert [theirs[0][i] for i in range(1, 8)] == [1, 0, 1, 0, 0, "–", "–"]


def test_a_first_round_workbook_says_there_is_no_earlier_round(world):
    book = world["reports"] / "offices"
    first = next(book.glob("8401_*.xlsx"))
    rows = _earlier_rows(first)
    assert rows and rows[0][0] == T.both(T.NONE)


# --------------------------------------------------------------------------- the scorecard's switch


def _card(counts: bool):
    raw = yaml.safe_load((SCORECARDS_DIR / "role_model_district.yaml").read_text(encoding="utf-8"))
    c2 = next(c for c in raw["criteria"] if c["id"] == "c2_data")
    c2["source"]["also_counts"]["corrections_on_time_pct"] = counts
    return parse_scorecard(raw, SCORECARDS_DIR / "role_model_district.yaml")


UNITS = pd.DataFrame(
    [
        ("8401", "เมืองสุราษฎร์ธานี", "Mueang Surat Thani", "84", "สุราษฎร์ธานี", "Surat Thani", 5),
        ("8402", "กาญจนดิษฐ์", "Kanchanadit", "84", "สุราษฎร์ธานี", "Surat Thani", 5),
        ("4701", "เมืองสกลนคร", "Mueang Sakon Nakhon", "47", "สกลนคร", "Sakon Nakhon", 11),
    ],
    columns=["unit_code", "unit_name_th", "unit_name_en", "province_code", "province_name_th", "province_name_en",
             "region"],
)  # fmt: skip


def test_the_shipped_role_model_card_declares_the_switch_off():
    raw = yaml.safe_load((SCORECARDS_DIR / "role_model_district.yaml").read_text(encoding="utf-8"))
    c2 = next(c for c in raw["criteria"] if c["id"] == "c2_data")
    assert c2["source"]["also_counts"] == {"corrections_on_time_pct": False}


def test_criterion_2_counts_corrections_on_time_only_when_switched_on(world):
    path = published_parquet(world["layout"].catalog, "village_profile_quality", ROUND)
    quality = pd.read_parquet(path)
    self_assessment = pd.DataFrame(
        {"amphoe_code": ["8401", "8402"], "criterion1_score": [80.0, 80.0], "criterion3_score": [80.0, 80.0],
         "criterion4_score": [80.0, 80.0]}
    )  # fmt: skip
    inputs = {"quality": quality, "self_assessment": self_assessment}
    off = score(_card(False), ROUND, inputs, UNITS).ranking.set_index("unit_code")
    on = score(_card(True), ROUND, inputs, UNITS).ranking.set_index("unit_code")
    figures = quality[quality["level"] == "amphoe"].set_index("area_code")
    for code, on_time in (("8401", 33.33), ("8402", 0.0)):
        three = [float(figures.loc[code, c]) for c in ("completeness_pct", "accuracy_pct", "on_time_pct")]
        assert off.loc[code, "c2_data_value"] == pytest.approx(sum(three) / 3)
        assert on.loc[code, "c2_data_value"] == pytest.approx((sum(three) + on_time) / 4)
        assert on.loc[code, "c2_data_score"] < off.loc[code, "c2_data_score"]
    # a district with nothing returned to it has no on-time figure: scored on the three others alone
    assert on.loc["4701", "c2_data_value"] == pytest.approx(off.loc["4701", "c2_data_value"])
    # switched off, a table published before the loop was measured still scores
    older = quality.drop(columns=list(MEASURES))
    assert score(_card(False), ROUND, {**inputs, "quality": older}, UNITS).ranking["total_score"].notna().all()
