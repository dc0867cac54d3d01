"""An office's returned correction workbook is applied in the round (issue #14, point 3).

One hand-made round (two districts of Surat Thani) runs through the real stages and is published
to a local catalog (r1); the offices' correction workbooks are written by the real writer. Then,
as an office would, the Mueang Surat Thani (8401) workbook is opened with openpyxl: two rows are
fixed, one is left as it was, a row is added for a village whose accepted row it supersedes
(with an earlier survey date, which would otherwise lose), and a row is added for a village of
another district (8402). It is landed with ``land_returned``; Kanchanadit (8402) lands a damaged
workbook, one without ``_about``, one with its identity headers typed over, one written for another
round, and 8401's workbook. The round re-runs and is published again.

What is expected is known here by construction (which rows were faulty, which were fixed), never
taken from the code under test.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import shutil

import duckdb
import openpyxl
import pandas as pd
import pytest

from catalog.local import LocalCatalog
from domain.declarations import load_datasets
from domain.layout import Layout
from pipelines import stages
from pipelines.ingest.corrections import CORRECTIONS_FOLDER, land_returned, sidecar
from pipelines.report.corrections import write_correction_workbooks
from pipelines.report.corrections.applied import correction_figures, correction_table
from pipelines.report.corrections.attribution import districts_sql, places_by_rows
from pipelines.report.corrections.measured import COUNTS_TABLE
from pipelines.report.corrections.returned import read_returned
from tests.ingest_parts import ingest
from tests.unit.test_correction_workbook import PRODUCED, ROUND, csv_bytes, geography, village

SPEC = load_datasets()["village_profile"]
ORIGINALS = {
    # 8401: one good row, three faulty ones (two tambons of the district)
    "a_talat.csv": csv_bytes(
        [
            village("84010101", headman_name="นายเดิม ถูกต้อง"),
            village("84010102", households="-5"),
            village("84010103", population_total="999"),
            village("84010201", households=""),
        ]
    ),
    # 8402: one good row, one faulty (coordinates swapped)
    "c_thong.csv": csv_bytes(
        [
            village("84020101", headman_name="นายของ กาญจนดิษฐ์"),
            village("84020102", latitude="99.4720", longitude="9.1720"),
        ]
    ),
}
ORIGIN = {"uploaded_by": "officer-8401", "source": "ckan", "resource_id": "r-123", "url": "http://ckan/r-123"}


def _stages(job: stages.RoundJob, catalog: LocalCatalog) -> dict:
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    published = stages.publish(job, catalog)
    return stages.write_report(job, published)


def _sheet_rows(book: openpyxl.Workbook):
    """(sheet, header list, data rows) of every file sheet of a correction workbook."""
    for sheet in book.worksheets:
        header = [c.value for c in sheet[5]] if sheet.max_row >= 5 else []
        if "_file" in header:
            yield sheet, header, list(sheet.iter_rows(min_row=6))


def _add_row(sheet, header: list, values: dict[str, str]) -> None:
    row = sheet.max_row + 1
    for name, value in values.items():
        sheet.cell(row=row, column=header.index(name) + 1, value=value)


def _corrected_8401(path) -> bytes:
    """The office's edits: two fixes, one row left open, a superseding village, another district's village."""
    book = openpyxl.load_workbook(path)
    (sheet, header, rows), *_ = list(_sheet_rows(book))
    for cells in rows:
        code = cells[header.index("village_code")].value
        if code == "84010102":
            cells[header.index("households")].value = 12
            cells[header.index("office_note")].value = "แก้จำนวนครัวเรือนแล้ว"
        elif code == "84010103":
            cells[header.index("population_total")].value = 410
    fields = SPEC.field_names
    added = village("84010101", survey_date="2 ต.ค. 2563", headman_name="นายใหม่ แก้ไข")
    _add_row(sheet, header, {f: added[f] for f in fields if added[f]})
    foreign = village("84020101", headman_name="นายแทรก ข้ามเขต")
    _add_row(sheet, header, {f: foreign[f] for f in fields if foreign[f]})
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _without_about(path) -> bytes:
    book = openpyxl.load_workbook(path)
    del book["_about"]
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _for_another_round(path) -> bytes:
    book = openpyxl.load_workbook(path)
    about = book["_about"]
    for key, value, *_ in about.iter_rows():
        if key.value == "round":
            value.value = "2020-09"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _identity_typed_over(path) -> bytes:
    book = openpyxl.load_workbook(path)
    for sheet, header, _ in _sheet_rows(book):
        sheet.cell(row=5, column=header.index("_file") + 1, value="ไฟล์")
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return build_world(tmp_path_factory.mktemp("returned"))


def first_round(root) -> tuple[Layout, stages.RoundJob, LocalCatalog, dict]:
    """The two districts' files landed on time, through the stages and published (r1): layout, job, catalog, report."""
    layout = Layout(root / "data")
    landing = layout.landing_dir(SPEC.name, ROUND)
    landing.mkdir(parents=True)
    on_time = dt.datetime(2020, 10, 20, 9, tzinfo=dt.UTC).timestamp()
    for name, data in ORIGINALS.items():
        (landing / name).write_bytes(data)
        os.utime(landing / name, (on_time, on_time))
    geo = geography()
    job = stages.RoundJob(SPEC, ROUND, layout, lambda: geo)
    catalog = LocalCatalog(layout.catalog)
    return layout, job, catalog, _stages(job, catalog)


def build_world(root) -> dict:
    """The round, published (r1), its workbooks written, the offices' returns landed, re-run and published."""
    layout, job, catalog, first = first_round(root)
    geo = job.geography
    before = {"quarantine": job.work.read("quarantine"), "accepted": job.work.read("accepted"), "report": first}
    reports = layout.reports(SPEC.name, ROUND)
    written = write_correction_workbooks(SPEC, ROUND, job.work, geo, reports, produced=PRODUCED)

    mine, theirs = written.offices["8401"], written.offices["8402"]
    corrected = _corrected_8401(mine)
    landed = land_returned(layout, SPEC, ROUND, "8401", mine.name, corrected, ORIGIN)
    theirs_bytes = theirs.read_bytes()
    bad = {
        "damaged.xlsx": theirs_bytes[: len(theirs_bytes) // 2],
        "retyped_no_about.xlsx": _without_about(theirs),
        "retyped_headers.xlsx": _identity_typed_over(theirs),
        "someone_elses.xlsx": mine.read_bytes(),
        "last_month.xlsx": _for_another_round(theirs),
    }
    for name, data in bad.items():
        land_returned(layout, SPEC, ROUND, "8402", name, data, {"uploaded_by": "officer-8402"})

    second = _stages(job, catalog)
    return {
        "job": job,
        "layout": layout,
        "reports": reports,
        "catalog": catalog,
        "before": before,
        "report": second,
        "landed": landed,
        "corrected": corrected,
        "bad": bad,
        "geo": geo,
    }


def _by_code(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    return frame[frame["village_code"] == code]


def _sha(world, name: str) -> str:
    files = world["job"].work.read("files")
    return files.loc[files["name"].str.endswith(name), "sha256"].iloc[0]


def test_the_first_round_held_back_the_faulty_rows(world):
    quarantine = world["before"]["quarantine"]
    assert sorted(quarantine["village_code"]) == ["84010102", "84010103", "84010201", "84020102"]


def test_fixed_rows_are_accepted_from_the_returned_workbook_and_the_originals_stay_held(world):
    accepted = world["job"].work.read("accepted")
    workbook = _sha(world, world["landed"].name)
    fixed = _by_code(accepted, "84010102")
    assert len(fixed) == 1 and fixed["_file"].iloc[0] == workbook and int(fixed["households"].iloc[0]) == 12
    fixed = _by_code(accepted, "84010103")
    assert len(fixed) == 1 and fixed["_file"].iloc[0] == workbook and int(fixed["population_total"].iloc[0]) == 410
    quarantine = world["job"].work.read("quarantine")
    original = _sha(world, "a_talat.csv")
    held = quarantine[quarantine["_file"] == original]
    # nothing lost: the rows as first sent are still in the quarantine, with their own reasons
    assert set(held["village_code"]) >= {"84010102", "84010103", "84010201"}
    assert not len(_by_code(accepted, "84010201"))  # left open: still not accepted


def test_a_correction_supersedes_by_key_whatever_the_survey_date(world):
    accepted = world["job"].work.read("accepted")
    row = _by_code(accepted, "84010101")
    assert len(row) == 1
    assert row["headman_name"].iloc[0] == "นายใหม่ แก้ไข" and str(row["survey_date"].iloc[0])[:10] == "2020-10-02"
    quarantine = world["job"].work.read("quarantine")
    old = _by_code(quarantine, "84010101")
    assert list(old["headman_name"]) == ["นายเดิม ถูกต้อง"] and list(old["codes"]) == ["duplicate_row"]
    assert world["landed"].name in old["reasons_en"].iloc[0]  # the kept row is the correction's


def test_a_village_of_another_office_is_refused_with_a_reason_and_kept(world):
    accepted = world["job"].work.read("accepted")
    theirs = _by_code(accepted, "84020101")
    assert list(theirs["headman_name"]) == ["นายของ กาญจนดิษฐ์"]  # 8402's own row is untouched
    quarantine = world["job"].work.read("quarantine")
    refused = quarantine[quarantine["headman_name"] == "นายแทรก ข้ามเขต"]
    assert len(refused) == 1 and refused["codes"].iloc[0] == "correction_outside_area"
    assert "ไม่อยู่ในเขตอำเภอ" in refused["reasons_th"].iloc[0] and "8401" in refused["reasons_th"].iloc[0]
    assert "cannot correct another" in refused["reasons_en"].iloc[0]


def test_the_counts_say_what_changed_per_office(world):
    figures = world["report"]["corrections"]
    assert figures["offices"]["8401"] == {
        "files_returned": 1,
        "files_refused": 0,
        "rows_returned": 3,
        "rows_corrected": 2,
        "rows_open": 1,
        "rows_superseded": 1,
        "corrections_accepted": 3,
        "corrections_refused": 1,
        "corrections_refused_outside_area": 1,
        "rows_unchanged": 1,
    }
    mine = figures["offices"]["8402"]
    assert (mine["files_returned"], mine["files_refused"]) == (5, 5)
    assert (mine["rows_returned"], mine["rows_corrected"], mine["rows_open"]) == (1, 0, 1)
    assert figures["total"]["rows_open"] == 2
    listed = {f["name"]: f for f in world["report"]["files"]}
    returned = listed[f"{ROUND.be_key}/{CORRECTIONS_FOLDER}/8401/{world['landed'].name}"]
    assert (returned["office"], returned["rows_accepted"], returned["rows_quarantined"]) == ("8401", 3, 1)
    assert returned["rows_received"] == 4 and returned["rows_unchanged"] == 1
    on_disk = json.loads((world["layout"].reports(SPEC.name, ROUND) / "run_report.json").read_text(encoding="utf-8"))
    assert on_disk["corrections"] == figures
    before = world["before"]["report"]["corrections"]["offices"]
    assert before["8401"]["rows_returned"] == 3 and before["8401"]["files_returned"] == 0


def test_damaged_and_retyped_workbooks_get_a_file_reason_and_are_archived(world):
    files = world["job"].work.read("files").set_index("name")
    expected = {
        "damaged.xlsx": "corrupt_xlsx",
        "retyped_no_about.xlsx": "correction_retyped",
        "retyped_headers.xlsx": "correction_retyped",
        "someone_elses.xlsx": "correction_wrong_office",
        "last_month.xlsx": "correction_other_round",
    }
    for name, code in expected.items():
        record = files.loc[f"{ROUND.be_key}/{CORRECTIONS_FOLDER}/8402/{name}"]
        assert (record["status"], record["problem_code"], record["office"]) == ("rejected", code, "8402")
        assert record["message_th"] and record["message_en"]
        with open(record["archived_as"], "rb") as handle:
            assert handle.read() == world["bad"][name]  # the raw file kept byte for byte
    assert "re-typed" in files.loc[f"{ROUND.be_key}/{CORRECTIONS_FOLDER}/8402/retyped_headers.xlsx", "message_en"]
    assert not [n for n in files.index if n.endswith(".json")]  # origin sidecars are never data files
    returned = files.loc[f"{ROUND.be_key}/{CORRECTIONS_FOLDER}/8401/{world['landed'].name}"]
    assert json.loads(returned["origin"])["uploaded_by"] == "officer-8401"
    assert (returned["status"], returned["rows_unchanged"], returned["correction_order"] > 0) == ("ok", 1, True)


def test_the_round_is_republished_as_r2_and_an_unchanged_rerun_publishes_nothing(world):
    revisions = {p["output"]: (p["status"], p["revision"]) for p in world["before"]["report"]["published"]}
    assert revisions["village_profile"] == ("new", 1)
    revisions = {p["output"]: (p["status"], p["revision"]) for p in world["report"]["published"]}
    assert revisions["village_profile"] == ("new", 2)
    again = _stages(world["job"], world["catalog"])
    revisions = {p["output"]: (p["status"], p["revision"]) for p in again["published"]}
    assert revisions["village_profile"] == ("unchanged", 2)
    assert again["corrections"] == world["report"]["corrections"]
    assert again["totals"] == world["report"]["totals"]


def test_a_work_area_without_the_counts_table_is_counted_again(world, tmp_path):
    """A work area the quality stage wrote before it kept the offices' counts: the report counts them itself."""
    job = world["job"]
    counts = job.work.path(COUNTS_TABLE)
    report = job.layout.reports(job.spec.name, job.round) / "run_report.json"
    kept = {path: tmp_path / path.name for path in (counts, report)}
    for path, copy in kept.items():
        shutil.copy(path, copy)
    counts.unlink()
    try:
        assert stages.write_report(job, [])["corrections"] == world["report"]["corrections"]
    finally:
        for path, copy in kept.items():
            shutil.copy(copy, path)


def test_correction_figures_are_reusable_on_their_own(world):
    job = world["job"]
    assert correction_figures(correction_table(SPEC, job.work, world["geo"])) == world["report"]["corrections"]


def test_files_are_placed_alike_from_their_rows_and_from_the_parts_counts(world):
    """The parts' quality counts (rows by file and area) stand in for reading every row: same places."""
    job, con = world["job"], duckdb.connect()
    world["geo"].register(con)
    received, field = job.work.path("received"), SPEC.geography_field
    from_rows = places_by_rows(con, received, field)
    from_counts = places_by_rows(con, received, field, job.work.path("quality_counts"))
    assert len(from_rows) > 1 and from_rows["amphoe_code"].notna().any()
    pd.testing.assert_frame_equal(from_rows, from_counts)
    # the district alone, as the correction figures take it: the same, from the rows and from the counts
    for counted in (None, job.work.path("quality_counts")):
        districts = con.execute(f"{districts_sql(received, field, counted)} ORDER BY _file").fetchall()
        assert districts == list(from_rows[["_file", "amphoe_code"]].itertuples(index=False, name=None))


def test_landing_is_idempotent_and_never_overwrites(world, tmp_path):
    again = land_returned(world["layout"], SPEC, ROUND, "8401", "anything.xlsx", world["corrected"], {})
    assert again == world["landed"]  # the same bytes: the file already there
    origin = json.loads(sidecar(world["landed"]).read_text(encoding="utf-8"))
    assert origin["uploaded_by"] == "officer-8401" and origin["amphoe_code"] == "8401"
    assert origin["sha256"] and origin["landed_at"] and origin["round"] == ROUND.key
    folder = tmp_path / "landing"
    first = land_returned(folder, SPEC, ROUND, "8401", "book.xlsx", b"one", {})
    second = land_returned(folder, SPEC, ROUND, "8401", "book.xlsx", b"two", {})
    assert first != second and first.read_bytes() == b"one" and second.read_bytes() == b"two"
    assert first.parent == folder / CORRECTIONS_FOLDER / "8401"
    with pytest.raises(ValueError, match="amphoe_code"):
        land_returned(folder, SPEC, ROUND, "../x", "book.xlsx", b"x", {})
    assert land_returned(folder, SPEC, ROUND, "8401", "../../etc/passwd", b"three", {}).parent == first.parent


def test_a_returned_workbook_outside_a_corrections_folder_is_not_read_as_rows(world, tmp_path):
    landing = tmp_path / "2563-10"
    landing.mkdir()
    (landing / "returned.xlsx").write_bytes(world["corrected"])
    received = ingest(SPEC, [landing], tmp_path, round_=ROUND)
    record = received.files.iloc[0]
    assert (record["status"], record["problem_code"]) == ("rejected", "correction_misplaced")
    assert received.rows == 0


def test_a_plain_fixed_file_is_read_like_any_file_but_only_for_the_office(world, tmp_path):
    layout = Layout(tmp_path / "data")
    landing = layout.landing_dir(SPEC.name, ROUND)
    landing.mkdir(parents=True)
    for name, data in ORIGINALS.items():
        (landing / name).write_bytes(data)
    fixed = csv_bytes([village("84010201"), village("84020102", headman_name="นายแก้ ผิดเขต")])
    land_returned(layout, SPEC, ROUND, "8401", "fixed.csv", fixed, {"uploaded_by": "officer-8401"})
    geo = world["geo"]
    job = stages.RoundJob(SPEC, ROUND, layout, lambda: geo)
    stages.ingest(job)
    stages.validate(job)
    accepted, quarantine = job.work.read("accepted"), job.work.read("quarantine")
    assert len(_by_code(accepted, "84010201")) == 1
    foreign = quarantine[quarantine["headman_name"] == "นายแก้ ผิดเขต"]
    assert list(foreign["codes"]) == ["correction_outside_area"]
    record = job.work.read("files").set_index("name").loc[f"{ROUND.be_key}/{CORRECTIONS_FOLDER}/8401/fixed.csv"]
    assert (record["status"], record["format"], record["rows_received"]) == ("ok", "csv", 2)


def test_the_rewritten_workbook_lists_what_is_still_open_and_what_was_refused(tmp_path):
    world = build_world(tmp_path)
    job, geo = world["job"], world["geo"]
    written = write_correction_workbooks(SPEC, ROUND, job.work, geo, world["reports"], produced=PRODUCED)
    book = written.offices["8401"]
    listed = sorted((r["village_code"], r["headman_name"]) for _, r in read_returned(book, SPEC).rows.iterrows())
    assert listed == [("84010201", "นายทดสอบ 84010201"), ("84020101", "นายแทรก ข้ามเขต")]
    assert written.rows["8401"] == 2
    # sent back again as it is: nothing is a correction, nothing changes, nothing is published
    land_returned(world["layout"], SPEC, ROUND, "8401", book.name, book.read_bytes(), {"uploaded_by": "officer-8401"})
    again = _stages(job, world["catalog"])
    mine = again["corrections"]["offices"]["8401"]
    assert (mine["files_returned"], mine["rows_unchanged"], mine["corrections_refused"]) == (2, 3, 1)
    assert (mine["rows_corrected"], mine["rows_open"]) == (2, 1)
    revisions = {p["output"]: (p["status"], p["revision"]) for p in again["published"]}
    assert revisions["village_profile"] == ("unchanged", 2)


def test_among_corrections_of_one_village_the_latest_landed_wins(world, tmp_path):
    layout = Layout(tmp_path / "data")
    landing = layout.landing_dir(SPEC.name, ROUND)
    landing.mkdir(parents=True)
    for name, data in ORIGINALS.items():
        (landing / name).write_bytes(data)
    # landed first, with the later survey date and the name that sorts last: it still loses
    first = village("84010201", survey_date="20 ต.ค. 2563", headman_name="นายส่ง ก่อน")
    second = village("84010201", survey_date="5 ต.ค. 2563", headman_name="นายส่ง ทีหลัง")
    land_returned(layout, SPEC, ROUND, "8401", "z_first.csv", csv_bytes([first]), {})
    land_returned(layout, SPEC, ROUND, "8401", "a_second.csv", csv_bytes([second]), {})
    geo = world["geo"]
    job = stages.RoundJob(SPEC, ROUND, layout, lambda: geo)
    stages.ingest(job)
    stages.validate(job)
    accepted, quarantine = job.work.read("accepted"), job.work.read("quarantine")
    assert list(_by_code(accepted, "84010201")["headman_name"]) == ["นายส่ง ทีหลัง"]
    lost = quarantine[quarantine["headman_name"] == "นายส่ง ก่อน"]
    assert list(lost["codes"]) == ["duplicate_row"] and "a_second.csv" in lost["reasons_en"].iloc[0]
    files = job.work.read("files").set_index("name")
    order = files["correction_order"].to_dict()
    assert order[f"{ROUND.be_key}/{CORRECTIONS_FOLDER}/8401/z_first.csv"] == 1
    assert order[f"{ROUND.be_key}/{CORRECTIONS_FOLDER}/8401/a_second.csv"] == 2


def test_a_correction_outside_any_office_folder_is_refused(world, tmp_path):
    landing = tmp_path / "2563-10"
    (landing / CORRECTIONS_FOLDER).mkdir(parents=True)
    (landing / CORRECTIONS_FOLDER / "fixed.csv").write_bytes(csv_bytes([village("84010201")]))
    received = ingest(SPEC, [landing], tmp_path, round_=ROUND)
    record = received.files.iloc[0]
    assert (record["status"], record["problem_code"], received.rows) == ("rejected", "correction_no_office", 0)
    assert "corrections/<" in record["message_en"] and "ไม่ได้อยู่ในโฟลเดอร์ของอำเภอ" in record["message_th"]
