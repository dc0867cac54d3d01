"""The national catalog (GD-Catalog) harvests ours: a second CKAN with ckanext-harvest's CKAN harvester.

แคตตาล็อกระดับชาติ (GD-Catalog) เก็บเกี่ยวข้อมูลจากแคตตาล็อกของเรา: CKAN ตัวที่สองพร้อม ckanext-harvest
ดึงชุดข้อมูลสาธารณะทุกชุดที่ยินยอม (allow_harvest) พร้อมฟิลด์ Thai GDC ทรัพยากร และสัญญาอนุญาต

Issue #13, point 3. A sample round is published to our test CKAN (the ``ckan_server`` fixture) with one dataset's
declaration saying ``allow_harvest: false``, and a private dataset is added. The national CKAN (``ckan.sh`` in its
national role: the ``national_ckan`` fixture, on 127.0.0.1 only) gets a harvest source of type ``ckan`` pointing at
our catalog, made through ckanext-harvest's ``harvest_source_create`` action, and runs a harvest job
(``ckan.sh harvest``: gather, fetch and import in one process, as the queue consumers would).

How a dataset with ``allow_harvest`` off is left out: the harvest source's configuration. The CKAN harvester has no
free query option, but it puts each ``organizations_filter_include`` entry verbatim after ``organization:`` into
the Solr ``fq`` it sends to our ``package_search``; the entry ``* -allow_harvest:False`` makes that
``organization:* -allow_harvest:False``, answered by our catalog's search (a Solr CKAN answers it the same way:
CKAN indexes extras under their own names). A dataset without the field (the analysts' database, which the
declarations do not publish) is harvested: consent is the default. Private datasets are never listed to the
anonymous harvester.

Then, over HTTP on the national CKAN: every public dataset of ours that allows harvesting is there, with its Thai
GDC fields (compared field by field), its resources (names, URLs, formats) and its licence; the refused and the
private datasets are not. A second harvest with nothing new adds and updates nothing, and no harvested dataset's
``metadata_modified`` moves.
"""

from __future__ import annotations

import json
import time

import ckanapi
import dagster as dg
import pytest
import requests

import samples.village_profile as generator
from catalog.local import LocalCatalog
from domain.layout import Layout
from domain.rounds import parse_round
from tests.dagster_round import run_in_process
from tests.integration.gdc_fields import GDC_STATISTICS

pytestmark = pytest.mark.integration

ROUND = parse_round("2563-10")
PROVINCE = "21"  # Rayong
#: the output whose declaration says allow_harvest: false (the rest keep the default, true)
REFUSED_OUTPUT = "village_profile_quality"
REFUSED = REFUSED_OUTPUT.replace("_", "-")
PRIVATE = "tambon-harvest-private"
SOURCE = "tambon-opendata"
#: the harvest source's configuration (ckanext-harvest's CKAN harvester): every organisation's datasets but those
#: whose allow_harvest is "False", the remote organisations and theme groups made again on the national side
SOURCE_CONFIG = {
    "organizations_filter_include": ["* -allow_harvest:False"],
    "remote_orgs": "create",
    "remote_groups": "create",
}
#: dataset keys that are the national catalog's own record of the dataset, not what was harvested
OWN_KEYS = {"metadata_created", "metadata_modified", "owner_org", "organization", "creator_user_id", "revision_id"}


def _schema_fields(url: str) -> tuple[list[str], list[str]]:
    schema = ckanapi.RemoteCKAN(url).action.scheming_dataset_schema_show(type="dataset")
    return [f["field_name"] for f in schema["dataset_fields"]], [f["field_name"] for f in schema["resource_fields"]]


def _harvest(national) -> dict:
    """One harvest job, run to its end by ``ckan.sh harvest``; returns the finished job and its report."""
    done = national.ckan_sh("harvest", SOURCE, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _all_packages(url: str) -> dict[str, dict]:
    """Every dataset an anonymous visitor lists on a catalog, by name, as package_show gives it (harvest sources,
    datasets of their own type, left out)."""
    anon = ckanapi.RemoteCKAN(url)
    packages = {name: anon.action.package_show(id=name) for name in anon.action.package_list()}
    return {name: p for name, p in packages.items() if p["type"] == "dataset"}


@pytest.fixture(scope="module")
def world(ckan_server, national_ckan, tmp_path_factory):
    root = tmp_path_factory.mktemp("ckan-harvest")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root))
    mp.setenv("CKAN_URL", ckan_server.url)
    mp.setenv("CKAN_API_TOKEN", ckan_server.token)
    # one dataset's declaration refuses harvesting: its Thai GDC block, as stages.publish hands it to the catalog
    publish = LocalCatalog.publish

    def declared(self, output, round_, gdc, *args, **kwargs):
        if output.name == REFUSED_OUTPUT:
            gdc = {**gdc, "allow_harvest": False}
        return publish(self, output, round_, gdc, *args, **kwargs)

    mp.setattr(LocalCatalog, "publish", declared)
    layout = Layout(root)
    generator.generate(ROUND, layout.landing_dir("village_profile", ROUND), provinces=[PROVINCE], bad_files=False)
    from pipelines.definitions import build_definitions

    results = run_in_process(build_definitions(), "village_profile", ROUND, dg.DagsterInstance.ephemeral())
    assert all(r.success for r in results)
    ours = ckanapi.RemoteCKAN(ckan_server.url, apikey=ckan_server.token)
    ours.action.package_create(
        name=PRIVATE, title="ชุดข้อมูลส่วนตัว / Private harvest check", notes="-", private=True, allow_harvest="True",
        **GDC_STATISTICS,
    )  # fmt: skip

    national = ckanapi.RemoteCKAN(national_ckan.url, apikey=national_ckan.token)
    national.action.organization_create(name="gd-catalog", title="GD-Catalog harvest sources")
    source = national.action.harvest_source_create(
        name=SOURCE, title="Tambon open data (กรมการปกครอง)", url=ckan_server.url, source_type="ckan",
        frequency="MANUAL", owner_org="gd-catalog", config=json.dumps(SOURCE_CONFIG),
    )  # fmt: skip
    started = time.monotonic()
    first = _harvest(national_ckan)
    first_seconds = time.monotonic() - started
    harvested = _all_packages(national_ckan.url)
    started = time.monotonic()
    second = _harvest(national_ckan)
    second_seconds = time.monotonic() - started
    held = ours.action.package_search(q="*:*", include_private=True, rows=1000)["results"]
    yield {
        "ours": _all_packages(ckan_server.url),
        #: our private datasets: the one made above, the round's correction workbook for the data team
        "ours_private": {p["name"] for p in held if p["private"]},
        "ours_admin": ours,
        "ours_url": ckan_server.url,
        "national_url": national_ckan.url,
        "national": national,
        "source": source,
        "first": first,
        "second": second,
        "harvested": harvested,
        "after_second": _all_packages(national_ckan.url),
        "seconds": (first_seconds, second_seconds),
    }
    mp.undo()


def _expected(world) -> dict[str, dict]:
    """Our public datasets that allow harvesting (saying nothing allows it)."""
    return {name: p for name, p in world["ours"].items() if p.get("allow_harvest") != "False"}


def test_declaration_sets_allow_harvest(world):
    """allow_harvest comes from each dataset's declaration: on by default, off where it says false."""
    ours = world["ours"]
    assert REFUSED in ours, sorted(ours)  # public on our catalog: only the harvest leaves it out
    assert ours[REFUSED]["allow_harvest"] == "False"
    declared = {name: p.get("allow_harvest") for name, p in ours.items() if name.startswith("village-profile")}
    del declared[REFUSED]
    assert len(declared) >= 5 and set(declared.values()) == {"True"}, declared


def test_first_harvest_takes_every_public_dataset_that_allows_it(world):
    job, report = world["first"]["job"], world["first"]["report"]
    expected = _expected(world)
    assert job["status"] == "Finished", job
    assert not report["gather_errors"] and not report["object_errors"], report
    assert job["stats"].get("added") == len(expected), job["stats"]
    assert not job["stats"].get("errored"), job["stats"]
    harvested = world["harvested"]
    assert set(harvested) == set(expected), (sorted(harvested), sorted(expected))
    assert REFUSED not in harvested and PRIVATE not in harvested


def test_private_and_refused_datasets_are_not_on_the_national_catalog(world):
    national = world["national"]  # a sysadmin there sees everything it holds, private too
    held = national.action.package_search(q="*:*", include_private=True, rows=1000)
    names = {p["name"] for p in held["results"]}
    assert set(_expected(world)) <= names
    private = world["ours_private"]
    assert PRIVATE in private, sorted(private)
    assert not names & (private | {REFUSED}), sorted(names & (private | {REFUSED}))
    for name in (*sorted(private), REFUSED):
        response = requests.get(f"{world['national_url']}/api/3/action/package_show", params={"id": name}, timeout=30)
        assert response.status_code == 404, (name, response.status_code)


def test_thai_gdc_fields_resources_and_licence_arrive(world):
    dataset_fields, resource_fields = _schema_fields(world["ours_url"])
    national_fields, _ = _schema_fields(world["national_url"])
    compared = [f for f in dataset_fields if f in national_fields and f not in OWN_KEYS]
    assert {"data_type", "objective", "data_category", "license_id", "allow_harvest"} <= set(compared)
    for name, ours in _expected(world).items():
        theirs = world["harvested"][name]
        for field in ("data_type", "maintainer", "objective", "data_category", "license_id"):
            assert theirs.get(field), (name, field)  # no field compared as empty on both sides only
        for field in compared:
            assert theirs.get(field) == ours.get(field), (name, field, theirs.get(field), ours.get(field))
        assert theirs["id"] == ours["id"]
        assert theirs["organization"]["name"] == ours["organization"]["name"]
        assert sorted(g["name"] for g in theirs["groups"]) == sorted(g["name"] for g in ours["groups"])
        for key in ("license_id", "license_title", "license_url"):
            assert theirs.get(key) == ours.get(key), (name, key)
        assert theirs["license_title"], name
        mine = [(r["name"], r["url"], r["format"]) for r in ours["resources"]]
        got = [(r["name"], r["url"], r["format"]) for r in theirs["resources"]]
        assert got == mine, name
        assert all(r["url"].startswith(world["ours_url"] + "/") for r in theirs["resources"] if r.get("url"))
        for ours_res, their_res in zip(ours["resources"], theirs["resources"], strict=True):
            for field in resource_fields:
                if field in ours_res:
                    assert their_res.get(field) == ours_res[field], (name, ours_res["name"], field)


def test_harvest_source_counts_its_datasets(world):
    """The national side finds its harvested datasets by ``harvest_source_id`` (its own search, our backend)."""
    national = world["national"]
    found = national.action.package_search(fq=f'+harvest_source_id:"{world["source"]["id"]}"', rows=1000)
    assert {p["name"] for p in found["results"]} == set(_expected(world))
    shown = national.action.harvest_source_show(id=SOURCE)
    assert shown["status"]["total_datasets"] == len(_expected(world)), shown["status"]


def test_second_harvest_changes_nothing(world):
    job, report = world["second"]["job"], world["second"]["report"]
    assert job["status"] == "Finished", job
    assert not report["gather_errors"] and not report["object_errors"], report
    stats = job["stats"]
    assert not stats.get("added") and not stats.get("updated") and not stats.get("errored"), stats
    assert not stats.get("deleted"), stats
    assert max(world["seconds"]) < 60, world["seconds"]  # each harvest job, run to its end
    before, after = world["harvested"], world["after_second"]
    assert set(after) == set(before)
    for name, package in before.items():
        assert after[name]["metadata_modified"] == package["metadata_modified"], name


def test_national_catalog_reaches_only_127_0_0_1(world, national_ckan):
    """A harvest source elsewhere (TEST-NET-1, never routed) fails at once: the national catalog's harvest runs
    send every other address to a closed local port (ckan.sh's national role), so nothing leaves the machine."""
    world["national"].action.harvest_source_create(
        name="elsewhere", url="http://192.0.2.1/", source_type="ckan", frequency="MANUAL", owner_org="gd-catalog",
    )  # fmt: skip
    started = time.monotonic()
    done = national_ckan.ckan_sh("harvest", "elsewhere", timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - started < 60
    errors = json.loads(done.stdout.strip().splitlines()[-1])["report"]["gather_errors"]
    assert errors and all("port=9" in e["message"] for e in errors), errors
