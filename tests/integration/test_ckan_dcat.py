"""The DCAT feed as a harvester reads it: a round published to a real CKAN, the RDF fetched over HTTP and parsed.

ฟีด DCAT ในมุมของผู้เก็บเกี่ยวข้อมูล (harvester): เผยแพร่ข้อมูลหนึ่งรอบไปยัง CKAN จริง ดึง /catalog.ttl และ
/dataset/<ชื่อ>.ttl / .rdf ผ่าน HTTP แล้วแยกวิเคราะห์ด้วย rdflib

Every public dataset and every distribution must carry what a harvester needs (issue #13, point 1): the
licence's URI, the rounds as a dct:PeriodOfTime with dates, the provinces as dct:Location, the data's own
issued/modified (the publication time of each revision in the local catalog, not CKAN's record dates),
dcat:downloadURL, an IANA dcat:mediaType for every format (Parquet and DuckDB included), dct:language,
dct:accrualPeriodicity and dcat:theme. Private datasets and staged (pending) files must not appear.

Expected values come from outside the feed: the local catalog's ``datapackage.json`` files, CKAN's API and
the round itself, so a profile that states the wrong thing fails here.
"""

from __future__ import annotations

import datetime as dt
import json

import ckanapi
import dagster as dg
import pytest
import requests
from rdflib import Graph, URIRef
from rdflib.namespace import RDF, SKOS, Namespace

import samples.village_profile as generator
from catalog import analyst_db
from catalog.local import LocalCatalog
from domain.layout import Layout
from domain.rounds import parse_round
from tests.dagster_round import run_in_process
from tests.integration.gdc_fields import GDC_STATISTICS

pytestmark = pytest.mark.integration

DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCT = Namespace("http://purl.org/dc/terms/")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"

ROUND = parse_round("2563-10")
#: the round as a period: a round is a calendar month
PERIOD = (dt.date(2020, 10, 1), dt.date(2020, 10, 31))
PROVINCE = ("21", "ระยอง", "Rayong")
#: the licence of "Open Data Common" in catalog/ckan/ckanext-tambon/ckanext/tambon/licenses.json
LICENCE = URIRef("https://www.data.go.th/pages/dga-open-government-license")
MEDIA = {
    "CSV": IANA + "text/csv",
    "Parquet": IANA + "application/vnd.apache.parquet",
    "JSON": IANA + "application/json",
    "DuckDB": IANA + "application/octet-stream",
    "HTML": IANA + "text/html",
    "DataStore": IANA + "text/csv",
}
LANGUAGES = {URIRef(EU + "language/THA"), URIRef(EU + "language/ENG")}
MONTHLY = URIRef(EU + "frequency/MONTHLY")
THAILAND = URIRef(EU + "country/THA")
XSD_DATE = URIRef("http://www.w3.org/2001/XMLSchema#date")  # not rdflib's XSD: pytest's collection trips on it


@pytest.fixture(scope="module")
def world(ckan_server, tmp_path_factory):
    """One sample round of village profiles (Rayong) run end to end with CKAN set: every output, the
    analysts' DuckDB database, plus a private dataset and a staged file that the feed must not show."""
    root = tmp_path_factory.mktemp("ckan-dcat")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root))
    mp.setenv("CKAN_URL", ckan_server.url)
    mp.setenv("CKAN_API_TOKEN", ckan_server.token)
    layout = Layout(root)
    generator.generate(ROUND, layout.landing_dir("village_profile", ROUND), provinces=[PROVINCE[0]], bad_files=False)
    from pipelines.definitions import build_definitions

    results = run_in_process(build_definitions(), "village_profile", ROUND, dg.DagsterInstance.ephemeral())
    assert all(r.success for r in results)
    admin = ckanapi.RemoteCKAN(ckan_server.url, apikey=ckan_server.token)
    private = admin.action.package_create(
        name="tambon-dcat-private", title="ชุดข้อมูลส่วนตัว / Private DCAT check", notes="-", private=True,
        **GDC_STATISTICS,
    )  # fmt: skip
    staged = admin.action.resource_create(
        package_id="village-profile", url="https://example.invalid/staged.csv", name="staged file", format="CSV",
        role="revision", publish_state="pending",
    )  # fmt: skip
    anon = ckanapi.RemoteCKAN(ckan_server.url)
    names = anon.action.package_list()
    yield {
        "url": ckan_server.url,
        "local": LocalCatalog(layout.catalog),
        "packages": {name: anon.action.package_show(id=name) for name in names},
        "private": private,
        "staged": staged,
    }
    mp.undo()


def _fetch(world, path: str, fmt: str) -> Graph:
    """A feed as a harvester gets it: a plain GET, parsed by rdflib (a parse error fails the test)."""
    response = requests.get(world["url"] + path, timeout=60)
    assert response.status_code == 200, (path, response.status_code)
    return Graph().parse(data=response.content, format=fmt)


def _instant(value: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def _one(graph: Graph, subject, predicate):
    values = list(graph.objects(subject, predicate))
    assert len(values) == 1, (subject, predicate, values)
    return values[0]


def _revision_dates(world, output: str) -> dict[tuple[str, int], str]:
    """Each revision's publication time, from the local catalog (what the data says, not CKAN)."""
    dates = {}
    for path in (world["local"].root / output).glob("*/r*/datapackage.json"):
        package = json.loads(path.read_text("utf-8"))
        dates[(package["round"], int(package["revision"]))] = package["created"]
    return dates


def _expected_file_dates(world, package: dict) -> dict[str, str]:
    """Resource id -> the date its file was published: a revision's own, the revision a stable link serves,
    the DuckDB database's upload; the DataStore table is left out (it has the dataset's)."""
    output = package["name"].replace("-", "_")
    revisions = _revision_dates(world, output) if package["name"] != analyst_db.CKAN_DATASET else {}
    by_url = {r["url"]: r for r in package["resources"] if r.get("role") in ("revision", "report")}
    expected = {}
    for resource in package["resources"]:
        role = resource.get("role")
        if role in ("revision", "report"):
            expected[resource["id"]] = revisions[(resource["round"], int(resource["revision"]))]
        elif role == "latest":
            target = by_url[resource["url"]]
            expected[resource["id"]] = revisions[(target["round"], int(target["revision"]))]
        elif role == analyst_db.CKAN_ROLE:
            expected[resource["id"]] = resource["modified"]
    return expected


def _check_dataset(world, graph: Graph, package: dict) -> set[str]:
    """Every point of the issue for one dataset and its distributions; returns the media types seen."""
    url = world["url"]
    dataset = URIRef(f"{url}/dataset/{package['id']}")
    assert (dataset, RDF.type, DCAT.Dataset) in graph, package["name"]

    # licence: a URI, on the dataset and on each distribution
    assert _one(graph, dataset, DCT.license) == LICENCE
    # the rounds, as dates
    periods = list(graph.objects(dataset, DCT.temporal))
    assert len(periods) == 1, package["name"]
    assert (periods[0], RDF.type, DCT.PeriodOfTime) in graph
    start, end = _one(graph, periods[0], DCAT.startDate), _one(graph, periods[0], DCAT.endDate)
    assert start.datatype == XSD_DATE and end.datatype == XSD_DATE
    assert (start.toPython(), end.toPython()) == PERIOD, package["name"]
    # the provinces covered (or Thailand for a dataset without provinces)
    places = set(graph.objects(dataset, DCT.spatial))
    codes = package.get("coverage_province_code") or []
    if codes:
        stated = set()
        for place in places:
            assert (place, RDF.type, DCT.Location) in graph
            labels = {label.language: str(label) for label in graph.objects(place, SKOS.prefLabel)}
            stated.add((str(_one(graph, place, SKOS.notation)), labels["th"], labels["en"]))
        want = zip(codes, package["coverage_province"], package["coverage_province_en"], strict=True)
        assert stated == set(want), package["name"]
        if package["name"] == "village-profile":  # the records: the one province sent
            assert stated == {PROVINCE}
    else:
        assert places == {THAILAND}, package["name"]
    # the data's dates, not CKAN's
    file_dates = _expected_file_dates(world, package)
    assert file_dates, package["name"]
    instants = sorted(_instant(v) for v in file_dates.values())
    issued, modified = _one(graph, dataset, DCT.issued), _one(graph, dataset, DCT.modified)
    assert _instant(issued.toPython().isoformat()) == instants[0], package["name"]
    assert _instant(modified.toPython().isoformat()) == instants[-1], package["name"]
    assert _instant(issued) != _instant(package["metadata_created"])
    # language, periodicity, theme
    assert set(graph.objects(dataset, DCT.language)) == LANGUAGES, package["name"]
    assert package["update_frequency_unit"] == "เดือน"
    assert _one(graph, dataset, DCT.accrualPeriodicity) == MONTHLY
    themes = set(graph.objects(dataset, DCAT.theme))
    assert URIRef(EU + "data-theme/SOCI") in themes and URIRef(EU + "data-theme/REGI") in themes

    distributions = set(graph.objects(dataset, DCAT.distribution))
    assert len(distributions) == len(package["resources"]), package["name"]
    media_seen = set()
    for resource in package["resources"]:
        distribution = URIRef(f"{url}/dataset/{package['id']}/resource/{resource['id']}")
        assert distribution in distributions
        what = (package["name"], resource["name"])
        assert _one(graph, distribution, DCT.license) == LICENCE, what
        download = _one(graph, distribution, DCAT.downloadURL)
        if resource.get("role") == "datastore":
            assert str(download) == f"{url}/datastore/dump/{resource['id']}", what
        else:
            assert str(download) == resource["url"], what
        assert requests.head(str(download), timeout=60, allow_redirects=True).status_code == 200, what
        media = _one(graph, distribution, DCAT.mediaType)
        assert str(media) == MEDIA[resource["format"]], what
        media_seen.add(resource["format"])
        own = file_dates.get(resource["id"])
        want_issued, want_modified = (own, own) if own else (issued, modified)
        got_issued = _one(graph, distribution, DCT.issued)
        got_modified = _one(graph, distribution, DCT.modified)
        if resource.get("role") == analyst_db.CKAN_ROLE:  # replaced in place: first and latest upload
            want_issued = resource["issued"]
        assert _instant(got_issued.toPython().isoformat()) == _instant(str(want_issued)), what
        assert _instant(got_modified.toPython().isoformat()) == _instant(str(want_modified)), what
    return media_seen


def test_catalog_feed_gives_every_public_dataset_what_a_harvester_needs(world):
    graph = _fetch(world, "/catalog.ttl", "turtle")
    listed = set(graph.subjects(RDF.type, DCAT.Dataset))
    packages = world["packages"]
    assert listed == {URIRef(f"{world['url']}/dataset/{p['id']}") for p in packages.values()}
    assert {"village-profile", "village-profile-province", analyst_db.CKAN_DATASET} <= set(packages)
    media = set()
    for package in packages.values():
        media |= _check_dataset(world, graph, package)
    # every format the catalog publishes has its media type, Parquet and DuckDB included
    assert {"CSV", "Parquet", "JSON", "DuckDB", "HTML", "DataStore"} <= media


@pytest.mark.parametrize(("suffix", "fmt"), [(".ttl", "turtle"), (".rdf", "xml")])
def test_each_dataset_page_feed_says_the_same(world, suffix, fmt):
    for name, package in world["packages"].items():
        graph = _fetch(world, f"/dataset/{name}{suffix}", fmt)
        _check_dataset(world, graph, package)


def test_private_datasets_and_staged_files_stay_out_of_the_feed(world):
    body = requests.get(world["url"] + "/catalog.ttl", timeout=60).text
    assert world["private"]["id"] not in body and "tambon-dcat-private" not in body
    assert world["staged"]["id"] not in body and "example.invalid" not in body
    page = requests.get(world["url"] + "/dataset/village-profile.ttl", timeout=60).text
    assert world["staged"]["id"] not in page
    # a harvester without a token cannot read the private dataset's own feed either
    assert requests.get(world["url"] + "/dataset/tambon-dcat-private.ttl", timeout=60).status_code in (403, 404)
