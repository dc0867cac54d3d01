"""The offices' loop end to end on a real CKAN: workbook out, fixes back, a new revision (issue #14, acceptance).

A hand-made round of two districts of Surat Thani (8401 with three faulty rows, 8402 with one)
runs through the stages and is published (r1) to CKAN; ``tambon offices sync`` makes the
district offices, and each office's correction workbook is delivered to its private dataset.
Then, over HTTP as each person would:

* the Mueang Surat Thani office (``office-8401``) downloads its workbook, fixes two rows in it
  (openpyxl, as Excel would save it) and adds it back to its own dataset;
* the Kanchanadit office (``office-8402``) sends back a damaged copy of its own workbook;
* an office of another province, another office of the province and an anonymous visitor can
  neither find, read nor download what 8401 was sent or sent back (API, pages, search, activity);
* the office-uploads sensor (evaluated as Dagster's daemon would) lands both uploads in the
  round's corrections folders with their origin, once;
* the round re-runs and is published again: revision 2 on CKAN accepts the two fixed rows, the
  row left open stays held, and the damaged workbook is refused in the run report with its reason.

What is expected is known by construction (which rows were faulty and which fixed).
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json

import dagster as dg
import openpyxl
import pytest

from catalog.ckan_client import CkanClient
from catalog.ckan_publish import CkanPublisher
from catalog.local import LocalCatalog
from catalog.office_delivery import Collection, OfficeDelivery, dataset_name
from catalog.offices import offices_from_registry, sync_offices, user_name
from domain.declarations import load_datasets
from domain.layout import Layout
from pipelines import stages
from pipelines.automation import office_uploads_sensor
from pipelines.cli import main
from pipelines.ingest.corrections import read_origin
from pipelines.report.corrections import write_correction_workbooks
from pipelines.report.corrections.measured import BANGKOK
from pipelines.resources import CkanResource
from tests.integration.viewers import Viewer, add_file
from tests.unit.test_correction_workbook import PRODUCED, ROUND, csv_bytes, geography, village

pytestmark = pytest.mark.integration

SPEC = load_datasets()["village_profile"]
ORIGINALS = {
    "a_talat.csv": csv_bytes(
        [
            village("84010101"),
            village("84010102", households="-5"),
            village("84010103", population_total="999"),
            village("84010201", households=""),
        ]
    ),
    "c_thong.csv": csv_bytes([village("84020101"), village("84020102", latitude="99.4720", longitude="9.1720")]),
}
FIXES = {"84010102": ("households", 12), "84010103": ("population_total", 410)}


def _run(job: stages.RoundJob, catalog: LocalCatalog) -> dict:
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    return stages.write_report(job, stages.publish(job, catalog))


def _publish(client: CkanClient, catalog: LocalCatalog) -> None:
    publisher = CkanPublisher(client, catalog)
    publisher.ensure_organization()
    current = catalog.pointer(SPEC.name)["latest"]["path"]
    package = json.loads((catalog.root / SPEC.name / current / "datapackage.json").read_text(encoding="utf-8"))
    publisher.publish(SPEC.name, package["resources"][0]["schema"])


def _fixed(workbook: bytes) -> bytes:
    """The office's edits in its workbook: the two faulty values corrected, the third row left open."""
    book = openpyxl.load_workbook(io.BytesIO(workbook))
    done = set()
    for sheet in book.worksheets:
        header = [c.value for c in sheet[5]] if sheet.max_row >= 5 else []
        if "_file" not in header:
            continue
        for cells in sheet.iter_rows(min_row=6):
            code = cells[header.index("village_code")].value
            if code in FIXES:
                column, value = FIXES[code]
                cells[header.index(column)].value = value
                done.add(code)
    assert done == set(FIXES), "the workbook holds the rows to fix"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _evaluate(sensor: dg.SensorDefinition, server, cursor: str | None):
    """One tick as the daemon runs it: its cursor and skip message."""
    with dg.build_sensor_context(cursor=cursor, resources={"ckan": CkanResource(url=server.url)}) as context:
        return sensor.evaluate_tick(context)


def _latest_csv(viewer: Viewer) -> list[dict[str, str]]:
    package = viewer.action("package_show", id="village-profile")
    link = next(r for r in package["resources"] if r.get("role") == "latest" and r.get("file_format") == "csv")
    return list(csv.DictReader(io.StringIO(viewer.get(link["url"]).content.decode("utf-8-sig"))))


@pytest.fixture(scope="module")
def world(ckan_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("loop")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root))
    mp.setenv("CKAN_URL", ckan_server.url)
    mp.setenv("CKAN_API_TOKEN", ckan_server.token)
    layout = Layout(root)
    landing = layout.landing_dir(SPEC.name, ROUND)
    landing.mkdir(parents=True)
    for name, data in ORIGINALS.items():
        (landing / name).write_bytes(data)
    geo = geography()
    job = stages.RoundJob(SPEC, ROUND, layout, lambda: geo)
    catalog = LocalCatalog(layout.catalog)
    _run(job, catalog)
    first_quarantine = job.work.read("quarantine")
    reports = layout.reports(SPEC.name, ROUND)
    written = write_correction_workbooks(SPEC, ROUND, job.work, geo, reports, produced=PRODUCED)
    assert {"8401", "8402"} <= set(written.offices)

    client = CkanClient(ckan_server.url, ckan_server.token)
    _publish(client, catalog)
    # Surat Thani's offices, and one of another province (Mueang Sakon Nakhon) to look from outside
    sync_offices(client, [*offices_from_registry(["84"]), offices_from_registry(["47"])[0]])
    OfficeDelivery(client, Collection.of(SPEC)).deliver_round(reports, ROUND)
    admin = Viewer(ckan_server.url, ckan_server.token, "sysadmin")
    viewers = {
        code: Viewer(
            ckan_server.url,
            admin.action("api_token_create", user=user_name(code), name="loop")["token"],
            f"office {code}",
        )
        for code in ("8401", "8402", "8403", "4701")
    }
    office, kanchanadit = viewers["8401"], viewers["8402"]

    # 8401 downloads its workbook, fixes two rows, sends it back; 8402 sends back a damaged copy of its own
    package = office.action("package_show", id=dataset_name(SPEC.name, "8401"))
    [delivered] = [r for r in package["resources"] if r.get("role") == "correction_workbook"]
    workbook = office.get(delivered["url"])
    assert workbook.status_code == 200
    corrected = _fixed(workbook.content)
    sent = add_file(office, package["id"], "แก้ไขแล้ว_8401.xlsx", corrected)
    assert sent.status_code == 200, sent.text
    theirs = kanchanadit.action("package_show", id=dataset_name(SPEC.name, "8402"))
    [their_workbook] = [r for r in theirs["resources"] if r.get("role") == "correction_workbook"]
    damaged = kanchanadit.get(their_workbook["url"]).content
    sent_damaged = add_file(kanchanadit, theirs["id"], "เสีย.xlsx", damaged[: len(damaged) // 2])
    assert sent_damaged.status_code == 200, sent_damaged.text

    sensor = office_uploads_sensor(SPEC)
    first_tick = _evaluate(sensor, ckan_server, None)
    second_tick = _evaluate(sensor, ckan_server, first_tick.cursor)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # the data team's hand pull: what landed stays one file each
        pulled = main(["offices", "pull", "--dataset", SPEC.name])
    report = _run(job, catalog)
    _publish(client, catalog)
    yield {
        "server": ckan_server,
        "layout": layout,
        "job": job,
        "catalog": catalog,
        "first_quarantine": first_quarantine,
        "corrected": corrected,
        "upload": sent.json()["result"],
        "damaged_upload": sent_damaged.json()["result"],
        "first_tick": first_tick,
        "second_tick": second_tick,
        "pulled": (pulled, printed.getvalue()),
        "report": report,
        "admin": admin,
        "office": office,
        "other": viewers["8403"],
        "other_province": viewers["4701"],
        "delivered": delivered,
        "anonymous": Viewer(ckan_server.url, None, "anonymous"),
    }
    mp.undo()


def test_the_round_held_back_the_faulty_rows(world):
    held = sorted(world["first_quarantine"]["village_code"])
    assert held == ["84010102", "84010103", "84010201", "84020102"]


def test_what_the_office_sent_is_hidden_from_everyone_else(world):
    """Another province's office, another office of the province and an anonymous visitor: nothing, anywhere."""
    upload, delivered = world["upload"], world["delivered"]
    assert world["office"].get(upload["url"]).content == world["corrected"]
    dataset = upload["package_id"]
    for viewer in (world["other_province"], world["other"], world["anonymous"]):
        for action, params in (
            ("package_show", {"id": dataset}),
            ("resource_show", {"id": upload["id"]}),
            ("resource_show", {"id": delivered["id"]}),
            ("package_activity_list", {"id": dataset}),
            ("resource_view_list", {"id": upload["id"]}),
        ):
            assert viewer.post(action, **params).status_code in (403, 404), (viewer.label, action)
        for path in (
            upload["url"],
            delivered["url"],
            f"/dataset/{dataset}",
            f"/dataset/{dataset}/resource/{upload['id']}",
            f"/dataset/activity/{dataset}",
        ):
            assert viewer.get(path).status_code in (403, 404), (viewer.label, path)
        organization = viewer.action("organization_show", id="amphoe-8401", include_datasets=True)
        assert dataset not in {p["id"] for p in organization.get("packages", [])}, viewer.label
        found = viewer.action("package_search", q="corrections", include_private=True, rows=1000)
        assert dataset not in {p["id"] for p in found["results"]}, viewer.label
        hits = viewer.post("resource_search", query=f"name:{upload['name']}")
        assert hits.status_code != 200 or hits.json()["result"]["count"] == 0, viewer.label
    # the control: the office itself and the data team find it by the same routes
    for viewer in (world["office"], world["admin"]):
        assert viewer.post("resource_show", id=upload["id"]).status_code == 200, viewer.label
        found = viewer.action("package_search", q="corrections", include_private=True, rows=1000)
        assert dataset in {p["id"] for p in found["results"]}, viewer.label


def test_the_sensor_lands_each_upload_once_with_its_origin(world):
    uploads = (world["upload"], world["damaged_upload"])
    keys = {f"{u['id']}@{u.get('last_modified') or u['created']}" for u in uploads}
    assert set(json.loads(world["first_tick"].cursor)) == keys
    folder = world["layout"].landing_dir(SPEC.name, ROUND) / "corrections"
    landed = sorted(p for p in folder.glob("*/*") if not p.name.startswith("."))  # beside each: its origin
    assert [(p.parent.name, p.name) for p in landed] == [("8401", "แก้ไขแล้ว_8401.xlsx"), ("8402", "เสีย.xlsx")]
    assert landed[0].read_bytes() == world["corrected"]
    origin = read_origin(landed[0])
    assert origin["resource_id"] == world["upload"]["id"] and origin["amphoe_code"] == "8401"
    assert origin["uploaded_at"].startswith(world["upload"]["created"][:16]) and origin["source"] == "ckan"
    assert world["server"].token not in json.dumps(origin)
    code, printed = world["pulled"]
    assert code == 0 and "แก้ไขแล้ว_8401.xlsx" in printed and "เสีย.xlsx" in printed
    second = world["second_tick"]  # nothing new: nothing downloaded or landed again
    assert "no new corrections" in second.skip_message and second.cursor in (None, world["first_tick"].cursor)


def test_the_new_revision_accepts_the_fixed_rows(world):
    pointer = world["catalog"].pointer(SPEC.name)
    assert pointer["rounds"][ROUND.key]["revision"] == 2
    rows = {row["village_code"]: row for row in _latest_csv(world["anonymous"])}
    for code, (column, value) in FIXES.items():
        assert rows[code][column] == str(value), code
    assert "84010201" not in rows  # left open by the office: still held
    package = world["anonymous"].action("package_show", id="village-profile")
    revisions = {(r["round"], int(r["revision"])) for r in package["resources"] if r.get("role") == "revision"}
    assert {(ROUND.key, 1), (ROUND.key, 2)} <= revisions


def test_the_damaged_workbook_is_refused_with_its_reason_and_nothing_is_lost(world):
    files = {f["name"].rsplit("/", 1)[-1]: f for f in world["report"]["files"]}
    assert files["เสีย.xlsx"]["status"] == "rejected" and files["เสีย.xlsx"]["problem_code"] == "corrupt_xlsx"
    assert files["แก้ไขแล้ว_8401.xlsx"]["rows_accepted"] == len(FIXES)
    quarantine = world["job"].work.read("quarantine")
    assert {"84010102", "84010103", "84010201", "84020102"} <= set(quarantine["village_code"])  # as first sent


def test_the_loop_is_measured_with_the_turnaround(world):
    """Returned, fixed, open and the days from the workbook the office answered to its upload on CKAN."""
    loop = world["job"].work.read("correction_loop")
    office = loop[(loop["level"] == "amphoe") & (loop["area_code"] == "8401")].iloc[0]
    counts = [office[f"correction_rows_{what}"] for what in ("returned", "fixed", "open")]
    assert counts == [3, 2, 1]
    uploaded = dt.datetime.fromisoformat(read_origin(_landed(world, "8401"))["uploaded_at"])
    days = (uploaded.astimezone(BANGKOK).date() - PRODUCED).days  # the workbook's _about says PRODUCED
    assert office["correction_turnaround_days_median"] == office["correction_turnaround_days_max"] == days
    quality = world["job"].work.read("quality")
    nation = quality[quality["level"] == "nation"].iloc[0]
    assert nation["correction_rows_fixed"] == 2 and nation["correction_rows_returned"] == 4


def _landed(world, office: str):
    folder = world["layout"].landing_dir(SPEC.name, ROUND) / "corrections" / office
    return next(p for p in folder.iterdir() if not p.name.startswith("."))
