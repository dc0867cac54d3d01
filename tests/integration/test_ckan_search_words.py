"""Searching the real CKAN the way people type: Thai words (not substrings), English stems, the
provinces and rounds a dataset covers, what its columns measure, relevance, fuzzy terms, numeric
ranges, and the search index itself (filled by CKAN's indexing hooks and by ``search-index rebuild``).

The catalog: one village-profile round of Sakon Nakhon (province 47) run through the pipeline's
stages and published by the real publisher, plus a few datasets made over the API for the cases the
demo data does not hold.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import ckanapi
import pytest
import requests

import samples.village_profile as generator
from catalog.ckan_client import CkanClient
from catalog.ckan_publish import CkanPublisher
from catalog.local import LocalCatalog
from domain.layout import Layout
from domain.rounds import parse_round

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
CKAN_PYTHON = REPO_ROOT / ".cache" / "ckan" / "venv" / "bin" / "python"
ROUND = parse_round("2563-10")
GDC = {
    "owner_org": "dopa",
    "maintainer": "ศูนย์สารสนเทศเพื่อการบริหารงานปกครอง",
    "maintainer_email": "opendata@example.go.th",
    "objective": ["พันธกิจหน่วยงาน"],
    "update_frequency_unit": "เดือน",
    "update_frequency_interval": "1",
    "data_source": "กรมการปกครอง",
    "data_category": "ข้อมูลสาธารณะ",
    "license_id": "Open Data Common",
    "data_language": ["ไทย"],
    "data_type": "ข้อมูลสถิติ",
    "geo_coverage": "จังหวัด",
    "data_format": ["CSV"],
}
TAGS = [{"name": "words"}]
# the aggregate tables: each has a column "ร้อยละหมู่บ้านที่แหล่งน้ำดื่มหลักเป็นประปาหมู่บ้าน"
TAP_WATER = {"village-profile-tambon", "village-profile-amphoe", "village-profile-province", "village-profile-nation"}
IN_SAKON_NAKHON = {"village-profile", "village-profile-tambon", "village-profile-amphoe", "village-profile-province"}


@pytest.fixture(scope="module")
def catalog(ckan_server, tmp_path_factory):
    from domain.declarations import load_datasets
    from pipelines import stages

    root = tmp_path_factory.mktemp("search-words")
    mp = pytest.MonkeyPatch()
    mp.setenv("TAMBON_DATA_DIR", str(root))
    layout = Layout(root)
    generator.generate(ROUND, layout.landing_dir("village_profile", ROUND), provinces=["47"], bad_files=False)
    job = stages.RoundJob(load_datasets()["village_profile"], ROUND, layout)
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    local = LocalCatalog(layout.catalog)
    stages.publish(job, local)
    publisher = CkanPublisher(CkanClient(ckan_server.url, ckan_server.token), local)
    publisher.ensure_organization()
    for pointer in sorted(local.root.glob("*/latest.json")):
        publisher.publish(pointer.parent.name)

    admin = ckanapi.RemoteCKAN(ckan_server.url, apikey=ckan_server.token)
    # made in this order, so that the description-only match is the newer one (it would come first
    # if relevance did not count)
    admin.action.package_create(
        name="lake-title", title="ทะเลสาบในตำบล", notes="ข้อมูลทั่วไป", tags=[{"name": "rank"}], **GDC
    )
    time.sleep(0.05)
    admin.action.package_create(
        name="lake-notes", title="แหล่งน้ำในตำบล", notes="รายชื่อทะเลสาบและบึง", tags=[{"name": "rank"}], **GDC
    )
    admin.action.package_create(name="plan", title="แผนพัฒนาท้องถิ่น", notes="แผนพัฒนาสามปี", tags=TAGS, **GDC)
    admin.action.package_create(name="rice-fields", title="นาและไร่ รายตำบล", notes="พื้นที่ปลูกข้าว", tags=TAGS, **GDC)
    for name, count in (("res-1", 1), ("res-7", 7), ("res-12", 12)):
        resources = [{"name": f"part {i}", "url": f"https://example.invalid/{i}.csv"} for i in range(count)]
        admin.action.package_create(
            name=name, title=f"ชุดทดสอบ {name}", notes="ทดสอบ", tags=[{"name": "numtest"}], resources=resources, **GDC
        )
    yield {"server": ckan_server, "admin": admin, "anon": ckanapi.RemoteCKAN(ckan_server.url)}
    mp.undo()


def found(catalog, **params) -> list[str]:
    params.setdefault("rows", 100)
    return [d["name"] for d in catalog["anon"].action.package_search(**params)["results"]]


def test_provinces_covered_are_found_by_thai_and_english_names_and_code(catalog):
    for q in ("สกลนคร", "Sakon Nakhon", "47"):
        names = set(found(catalog, q=q))
        assert names >= IN_SAKON_NAKHON, q
        assert "village-profile-nation" not in names, q  # national totals carry no province
    dataset = catalog["anon"].action.package_show(id="village-profile-province")
    assert dataset["coverage_province"] == ["สกลนคร"] and dataset["coverage_province_en"] == ["Sakon Nakhon"]
    assert dataset["coverage_province_code"] == ["47"]
    assert (dataset["coverage_round"], dataset["coverage_round_ce"]) == (["2563-10"], ["2020-10"])


def test_rounds_covered_are_found_and_faceted(catalog):
    names = set(found(catalog, q="2563-10"))
    assert IN_SAKON_NAKHON | {"village-profile-nation"} <= names
    assert "lake-title" not in names
    result = catalog["anon"].action.package_search(
        fq="coverage_round:2563-10", **{"facet.field": '["coverage_province","coverage_round_ce"]'}
    )
    facets = {f: {i["name"]: i["count"] for i in v["items"]} for f, v in result["search_facets"].items()}
    assert facets["coverage_province"]["สกลนคร"] >= len(IN_SAKON_NAKHON)
    assert facets["coverage_round_ce"] == {"2020-10": result["count"]}


def test_tap_water_is_found_through_the_column_titles(catalog):
    names = set(found(catalog, q="ประปา"))
    assert names >= TAP_WATER
    for name in TAP_WATER:  # through the columns, not the title or the description
        dataset = catalog["anon"].action.package_show(id=name)
        assert "ประปา" not in dataset["title"] + dataset["notes"]
        assert any("ประปา" in title for title in dataset["column_titles"])


def test_thai_words_are_matched_as_words_not_substrings(catalog):
    assert "rice-fields" in found(catalog, q="นา")
    assert "plan" not in found(catalog, q="นา")  # only inside พัฒนา
    assert "plan" in found(catalog, q="พัฒนา")
    assert {"village-profile", "village-profile-tambon"} <= set(found(catalog, q="หมู่บ้าน"))
    assert "village-profile" in found(catalog, q="ครัวเรือน")


def test_english_words_are_stemmed(catalog):
    village = set(found(catalog, q="village"))
    assert "village-profile" in village and set(found(catalog, q="villages")) == village


def test_a_title_match_ranks_above_a_description_match(catalog):
    assert found(catalog, q="ทะเลสาบ") == ["lake-title", "lake-notes"]
    assert found(catalog, q="ทะเลสาบ", sort="metadata_modified desc") == ["lake-notes", "lake-title"]


def test_fuzzy_terms_find_similar_words(catalog):
    assert "village-profile" in found(catalog, q="villag~")
    assert "village-profile" in found(catalog, q="vilage~")  # a typo
    assert "village-profile" not in found(catalog, q="vilage")


def test_numeric_ranges_compare_as_numbers(catalog):
    # as text, "7" > "10" and "12" < "5": only numbers put 7 alone between 5 and 10
    assert found(catalog, fq="tags:numtest num_resources:[5 TO 10]") == ["res-7"]
    assert sorted(found(catalog, fq="tags:numtest num_resources:[2 TO *]")) == ["res-12", "res-7"]


def _index_rows(server, sql: str, *params: str) -> list[tuple]:
    """Read (or change) the index table directly, with the CKAN virtualenv's SQLAlchemy and the server's ckan.ini."""
    code = (
        "import configparser, json, sys, sqlalchemy as sa\n"
        "ini = configparser.ConfigParser(interpolation=None); ini.read(sys.argv[1])\n"
        "engine = sa.create_engine(ini['app:main']['sqlalchemy.url'])\n"
        "with engine.begin() as c:\n"
        '    result = c.execute(sa.text(sys.argv[2]), {f"p{i}": v for i, v in enumerate(sys.argv[3:])})\n'
        "    rows = result.fetchall() if result.returns_rows else []\n"
        "print(json.dumps([list(r) for r in rows], default=str))\n"
    )
    sql = sql.replace("?", ":p0")
    out = subprocess.run(
        [str(CKAN_PYTHON), "-c", code, str(server.run_dir / "ckan.ini"), sql, *params],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [tuple(r) for r in json.loads(out.stdout)]


def test_an_index_row_is_updated_on_update_and_removed_on_delete(catalog):
    admin, server = catalog["admin"], catalog["server"]
    dataset = admin.action.package_create(name="to-change", title="ข้อมูลสะพาน", notes="ทดสอบ", tags=TAGS, **GDC)
    assert found(catalog, q="สะพาน") == ["to-change"]
    admin.action.package_patch(id="to-change", title="ข้อมูลเขื่อน")
    assert found(catalog, q="สะพาน") == [] and found(catalog, q="เขื่อน") == ["to-change"]
    assert _index_rows(server, "SELECT name FROM tambon_search_index WHERE id = ?", dataset["id"]) == [("to-change",)]
    admin.action.package_delete(id="to-change")
    assert found(catalog, q="เขื่อน") == []
    assert _index_rows(server, "SELECT name FROM tambon_search_index WHERE id = ?", dataset["id"]) == []


def _ckan_cli(server, *args: str) -> str:
    ini = str(server.run_dir / "ckan.ini")
    ckan = REPO_ROOT / ".cache" / "ckan" / "venv" / "bin" / "ckan"
    done = subprocess.run([str(ckan), "-c", ini, *args], capture_output=True, text=True,
                          timeout=600, env={**server.env, "CKAN_INI": ini})  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_search_index_rebuild_fills_the_index_from_nothing(catalog):
    server = catalog["server"]
    before = found(catalog, q="สกลนคร")
    _ckan_cli(server, "search-index", "clear")
    assert _index_rows(server, "SELECT count(*) FROM tambon_search_index") == [(0,)]
    assert found(catalog, q="สกลนคร") == []
    _ckan_cli(server, "search-index", "rebuild")
    active = _index_rows(server, "SELECT count(*) FROM package WHERE state = 'active'")[0][0]
    assert _index_rows(server, "SELECT count(*) FROM tambon_search_index WHERE state = 'active'") == [(active,)]
    assert found(catalog, q="สกลนคร") == before and before
    assert "rice-fields" in found(catalog, q="นา")


def test_english_stop_words_are_words_and_older_rows_are_made_again_by_refresh(catalog):
    """``after`` is searchable (Solr's CKAN schema keeps stop words); a row made the way of an older version
    (PostgreSQL's ``english``, which drops them) is found again once ``ckan tambon-search refresh`` (run by
    ckan.sh after an upgrade) has made it anew, and only that row is made again."""
    server, admin = catalog["server"], catalog["admin"]
    admin.action.package_create(name="after-the-flood", title="After the flood", notes="-", tags=TAGS, **GDC)
    try:
        assert "after-the-flood" in found(catalog, q="after")
        _index_rows(server, "UPDATE tambon_search_index SET row_version = 1, "
                    "vector = to_tsvector('english', title_sort) WHERE name = ?", "after-the-flood")  # fmt: skip
        assert "after-the-flood" not in found(catalog, q="after")
        out = _ckan_cli(server, "tambon-search", "refresh")
        assert "re-indexed 1 datasets" in out
        assert "after-the-flood" in found(catalog, q="after")
        assert _index_rows(server, "SELECT count(*) FROM tambon_search_index WHERE row_version < 2") == [(0,)]
        assert "re-indexed 0 datasets" in _ckan_cli(server, "tambon-search", "refresh")
    finally:
        admin.action.dataset_purge(id="after-the-flood")


def test_the_dataset_page_searches_the_index(catalog):
    page = requests.get(f"{catalog['server'].url}/dataset/", params={"q": "ทะเลสาบ"}, timeout=60)
    assert page.status_code == 200
    assert page.text.index("ทะเลสาบในตำบล") < page.text.index("แหล่งน้ำในตำบล")


def test_thai_tokenizer_runs_from_its_wheel_without_network():
    """PyThaiNLP's newmm in the CKAN virtualenv, with an empty HOME (no data directory to read from)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from ckanext.tambon.search import words\n"
        "print(words.split('ข้อมูลพื้นฐานหมู่บ้านการพัฒนาชุมชน').thai)\n"
    )
    ext = str(REPO_ROOT / "catalog" / "ckan" / "ckanext-tambon")
    out = subprocess.run(
        [str(CKAN_PYTHON), "-c", code, ext],
        capture_output=True,
        text=True,
        timeout=120,
        env={
            "HOME": "/nonexistent-home",
            "PATH": "/usr/bin:/bin",
            "NO_PROXY": "*",
            "HTTPS_PROXY": "http://127.0.0.1:9",
        },
        check=True,
    )
    assert "'หมู่บ้าน'" in out.stdout and "'นา'" not in out.stdout
