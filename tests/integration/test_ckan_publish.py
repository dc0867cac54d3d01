"""Publishing a sample round to a real CKAN, then reading it back over HTTP as an agency would.

Covers the publisher's promises: found by Thai and English words and by facets,
Thai GDC fields, byte-identical downloads, typed DataStore rows, DCAT, pages that
render, zero uploads on a re-run, a new revision that leaves old files intact, a
run killed between staging and switching, and a token that appears nowhere.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging

import ckanapi
import dagster as dg
import duckdb
import pytest
import requests

import samples.village_profile as generator
from catalog import analyst_db
from catalog.ckan_client import CkanClient, CkanError
from catalog.ckan_publish import CkanPublisher, SwitchInterrupted, revision_files
from catalog.local import LocalCatalog
from domain.layout import Layout
from domain.rounds import parse_round
from tests.analyst_process import attach_and_read, normalised
from tests.dagster_round import run_in_process

pytestmark = pytest.mark.integration

ROUND = parse_round("2563-10")


def _run_job(instance: dg.DagsterInstance) -> list[dg.ExecuteInProcessResult]:
    """The round end to end: its runs (landing, provinces, nation)."""
    from pipelines.definitions import build_definitions

    return run_in_process(build_definitions(), "village_profile", ROUND, instance)


@pytest.fixture(scope="module")
def world(ckan_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("ckan-round")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root))
    mp.setenv("CKAN_URL", ckan_server.url)
    mp.setenv("CKAN_API_TOKEN", ckan_server.token)
    layout = Layout(root)
    generator.generate(ROUND, layout.landing_dir("village_profile", ROUND), provinces=["21"], bad_files=False)
    instance = dg.DagsterInstance.ephemeral()
    results = _run_job(instance)
    assert all(r.success for r in results)
    yield {
        "layout": layout,
        "local": LocalCatalog(layout.catalog),
        "instance": instance,
        "results": results,
        "server": ckan_server,
        "anon": ckanapi.RemoteCKAN(ckan_server.url),
    }
    mp.undo()


def _publisher(world, calls: list[str] | None = None, **kwargs) -> CkanPublisher:
    client = CkanClient(
        world["server"].url, world["server"].token, on_call=(calls.append if calls is not None else None)
    )
    return CkanPublisher(client, world["local"], **kwargs)


def _publish_all(publisher: CkanPublisher, local: LocalCatalog) -> dict:
    outcomes = {}
    for pointer in sorted(local.root.glob("*/latest.json")):
        output = pointer.parent.name
        outcomes[output] = publisher.publish(output)
    return outcomes


def _visible(world, name: str) -> dict:
    return world["anon"].action.package_show(id=name)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_agencies_find_the_datasets_by_thai_english_and_facets(world):
    anon = world["anon"]
    thai = anon.action.package_search(q="หมู่บ้าน", rows=100)
    assert {"village-profile", "village-profile-tambon", "village-profile-quality"} <= {
        r["name"] for r in thai["results"]
    }
    english = anon.action.package_search(q="Village profile province", rows=100)
    assert "village-profile-province" in {r["name"] for r in english["results"]}
    faceted = anon.action.package_search(
        fq='organization:dopa AND tags:"หมู่บ้าน" AND res_format:Parquet',
        facet="true",
        **{"facet.field": '["organization","tags","res_format","data_type"]'},
        rows=100,
    )
    names = {r["name"] for r in faceted["results"]}
    assert {"village-profile", "village-profile-nation"} <= names
    facets = faceted["search_facets"]
    assert {i["name"]: i["count"] for i in facets["res_format"]["items"]}["Parquet"] == faceted["count"]
    assert {i["name"] for i in facets["data_type"]["items"]} >= {"ข้อมูลระเบียน", "ข้อมูลสถิติ"}


def test_each_dataset_shows_the_thai_gdc_fields(world):
    records = _visible(world, "village-profile")
    assert records["data_type"] == "ข้อมูลระเบียน" and records["geo_coverage"] == "หมู่บ้าน"
    assert records["title"] == "ข้อมูลพื้นฐานหมู่บ้าน รายหมู่บ้าน" and records["title_en"].startswith("Village profile")
    assert records["license_id"] == "Open Data Common" and records["data_category"] == "ข้อมูลสาธารณะ"
    assert records["version"] == "2563-10_2020-10_r1" and "2563-10" in records["round_coverage"]
    stats = _visible(world, "village-profile-province")
    assert stats["data_type"] == "ข้อมูลสถิติ" and stats["geo_coverage"] == "จังหวัด"
    assert stats["unit_of_multiplier"] == "หน่วย"


def test_downloads_are_byte_identical_to_the_local_catalog(world):
    local = world["local"]
    for output in ("village-profile", "village-profile-tambon"):
        package = _visible(world, output)
        files = {(f.round, f.revision, f.format): f for f in revision_files(local, output.replace("-", "_"))}
        latest = [r for r in package["resources"] if r.get("role") == "latest"]
        revisions = [r for r in package["resources"] if r.get("role") == "revision"]
        assert len(latest) == 3 and len(revisions) == len(files)
        for resource in revisions + latest:
            body = requests.get(resource["url"], timeout=60).content
            key = (ROUND.key, 1, resource["file_format"])
            assert _sha(body) == files[key].sha256 == _sha(files[key].path.read_bytes()), resource["name"]


def test_datastore_returns_typed_rows_with_a_data_dictionary(world):
    package = _visible(world, "village-profile")
    table = next(r for r in package["resources"] if r.get("role") == "datastore")
    got = world["anon"].action.datastore_search(resource_id=table["id"], limit=5, sort="village_code")
    types = {f["id"]: f["type"] for f in got["fields"]}
    assert (types["households"], types["has_electricity"], types["survey_date"], types["latitude"]) == (
        "int8",
        "bool",
        "date",
        "float8",
    )
    record = got["records"][0]
    assert isinstance(record["households"], int) and isinstance(record["has_electricity"], bool)
    views = world["anon"].action.resource_view_list(id=table["id"])
    assert "datatables_view" in {v["view_type"] for v in views}  # the preview on the resource page
    info = next(f for f in got["fields"] if f["id"] == "households")["info"]
    assert "จำนวนครัวเรือน" in info["label"] and "Households" in info["label"]
    assert got["total"] == sum(1 for _ in csv.reader(io.StringIO(_latest_csv(world, "village-profile")))) - 1


def _latest_csv(world, name: str) -> str:
    package = _visible(world, name)
    latest = next(r for r in package["resources"] if r.get("role") == "latest" and r["file_format"] == "csv")
    return requests.get(latest["url"], timeout=60).content.decode("utf-8-sig")


def test_dcat_endpoint_lists_the_datasets(world):
    body = requests.get(f"{world['server'].url}/catalog.ttl", timeout=60).content.decode("utf-8")
    for name in ("village-profile", "village-profile-tambon", "village-profile-quality"):
        assert f"/dataset/{_visible(world, name)['id']}>" in body, name
    assert "ข้อมูลพื้นฐานหมู่บ้าน รายหมู่บ้าน" in body


def test_analysts_attach_the_catalog_database_from_ckan_with_only_duckdb(world):
    package = world["anon"].action.package_show(id=analyst_db.CKAN_DATASET)
    url = next(r["url"] for r in package["resources"] if r["format"] == analyst_db.CKAN_FORMAT)
    assert url.startswith(world["server"].url)
    views = ["village_profile", "village_profile_latest", "village_profile_quality"]
    remote = attach_and_read(url, views)
    assert remote["loaded"] == []  # no pandas, pyarrow or requests: duckdb and its httpfs extension only
    local = duckdb.connect()
    local.execute(f"ATTACH '{world['layout'].catalog / analyst_db.CATALOG_DB}' AS tambon (READ_ONLY)")
    for view in views:
        expected = normalised(local.execute(f"SELECT * FROM tambon.{view} ORDER BY ALL").fetchall())
        assert remote["rows"][view] == expected and expected, view


def test_search_dataset_and_resource_pages_render_with_thai(world):
    url = world["server"].url
    package = _visible(world, "village-profile")
    resource = next(r for r in package["resources"] if r.get("role") == "latest")
    for path in (
        "/dataset/?q=หมู่บ้าน",
        "/dataset/village-profile",
        f"/dataset/village-profile/resource/{resource['id']}",
    ):
        page = requests.get(url + path, timeout=60)
        assert page.status_code == 200, path
        assert "ข้อมูลพื้นฐานหมู่บ้าน" in page.text, path


def test_republishing_the_same_round_makes_no_upload_and_no_change(world):
    calls: list[str] = []
    before = {n: _visible(world, n)["metadata_modified"] for n in ("village-profile", "village-profile-nation")}
    outcomes = _publish_all(_publisher(world, calls), world["local"])
    writes = [c for c in calls if c not in ("package_show", "organization_show", "download")]
    assert writes == [] and all(not o.uploaded and not o.switched for o in outcomes.values())
    assert {n: _visible(world, n)["metadata_modified"] for n in before} == before


def _change_one_village(layout: Layout, extra: int) -> None:
    """An office sends a corrected file: one household count changes."""
    folder = layout.landing_dir("village_profile", ROUND)
    path = next(
        p for p in sorted(folder.iterdir()) if p.suffix == ".csv" and p.read_bytes().startswith(b"\xef\xbb\xbf")
    )
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    column = next(i for i, h in enumerate(rows[0]) if h.strip() in ("จำนวนครัวเรือน", "households"))
    rows[1][column] = str(100 + extra)
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8-sig")


def test_a_changed_round_adds_a_revision_and_old_files_still_download(world):
    package = _visible(world, "village-profile")
    old = {
        r["url"]: requests.get(r["url"], timeout=60).content
        for r in package["resources"]
        if r.get("role") == "revision"
    }
    _change_one_village(world["layout"], 1)
    assert all(r.success for r in _run_job(world["instance"]))
    package = _visible(world, "village-profile")
    assert package["version"] == "2563-10_2020-10_r2"
    revisions = {int(r["revision"]) for r in package["resources"] if r.get("role") == "revision"}
    assert revisions == {1, 2}
    for url, body in old.items():
        assert requests.get(url, timeout=60).content == body
    latest_csv = _latest_csv(world, "village-profile")
    r2 = next(f for f in revision_files(world["local"], "village_profile") if f.revision == 2 and f.format == "csv")
    assert latest_csv.encode("utf-8-sig") == r2.path.read_bytes()


def test_a_run_killed_before_the_switch_leaves_the_previous_revision_then_completes(world):
    def die(dataset: str) -> None:
        raise SwitchInterrupted(dataset)

    before = _visible(world, "village-profile")
    # the revision now public, whichever tests of this module ran before (alone: the first run's r1)
    shown = int(before["version"].rsplit("_r", 1)[1])
    _change_one_village(world["layout"], 2 + shown)
    # the local catalog gets the next revision (stages run directly: the job would also publish to CKAN) ...
    from domain.declarations import load_datasets
    from pipelines import stages

    job = stages.RoundJob(load_datasets()["village_profile"], ROUND, world["layout"])
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    stages.publish(job, world["local"])
    calls: list[str] = []
    with pytest.raises(SwitchInterrupted):
        _publish_all(_publisher(world, calls, before_switch=die), world["local"])
    assert "resource_create" in calls  # ... the new files are staged, then the run dies before the switch

    after = _visible(world, "village-profile")  # ... but the public sees the previous revision only
    assert after["version"] == before["version"] == f"2563-10_2020-10_r{shown}"
    assert [r["id"] for r in after["resources"]] == [r["id"] for r in before["resources"]]
    admin = ckanapi.RemoteCKAN(world["server"].url, apikey=world["server"].token)
    pending = [
        r for r in admin.action.package_show(id="village-profile")["resources"] if r.get("publish_state") == "pending"
    ]
    assert len(pending) == 3
    denied = requests.get(
        f"{world['server'].url}/api/3/action/resource_show", params={"id": pending[0]["id"]}, timeout=60
    )
    assert denied.status_code == 403
    assert requests.get(pending[0]["url"], timeout=60).status_code in (403, 404)

    calls.clear()
    outcomes = _publish_all(_publisher(world, calls), world["local"])  # the next run completes the switch
    completed = outcomes["village_profile"]  # the run died on this dataset: its staged files are reused
    assert completed.uploaded == [] and completed.switched
    staged = {f.resource_name for f in revision_files(world["local"], "village_profile") if f.revision == shown + 1}
    assert {name for name in completed.reused if f"ฉบับที่ {shown + 1} /" in name} == staged
    done = admin.action.package_show(id="village-profile")
    assert done["version"] == f"2563-10_2020-10_r{shown + 1}"
    files = revision_files(world["local"], "village_profile")
    revision = [r for r in done["resources"] if r.get("role") == "revision"]
    # equal to a clean run: each local revision file exactly once, all published, latest on the new revision
    assert sorted((r["round"], int(r["revision"]), r["file_format"], r["hash"]) for r in revision) == sorted(
        (f.round, f.revision, f.format, f.sha256) for f in files
    )
    assert all(r["publish_state"] == "published" for r in revision)
    latest = {r["file_format"]: r["url"] for r in done["resources"] if r.get("role") == "latest"}
    newest = {r["file_format"]: r["url"] for r in revision if r["revision"] == str(shown + 1)}
    assert latest == newest


def test_the_token_never_appears_in_logs_or_reports(world, caplog):
    token = world["server"].token
    caplog.set_level(logging.DEBUG)
    bad = CkanClient(world["server"].url, token + "x", retries=0)
    with pytest.raises(CkanError) as refused:
        bad.call("package_create", name="should-not-exist", owner_org="dopa")
    texts = [str(refused.value), repr(bad), caplog.text]
    texts += [repr(entry) for result in world["results"] for entry in world["instance"].all_logs(result.run_id)]
    texts += [p.read_text(errors="replace") for p in world["layout"].root.rglob("*.json")]
    texts += [p.read_text(errors="replace") for p in world["server"].run_dir.glob("*.log")]
    assert texts and all(token not in text for text in texts)
    assert "refused package_create" in str(refused.value) and "ปฏิเสธ" in str(refused.value)
