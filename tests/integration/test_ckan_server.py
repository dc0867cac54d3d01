"""A real CKAN 2.11 (no Solr) started by catalog/ckan/ckan.sh, talked to
over HTTP only: Thai GDC schema, PostgreSQL-backed search, uploads, DCAT,
DataStore."""

from __future__ import annotations

import io
import json
import stat
import time

import ckanapi
import pytest
import requests

from tests.integration.gdc_fields import GDC_COMMON

pytestmark = pytest.mark.integration

VILLAGE = "tambon-village-basic"
STATS = "tambon-household-stats"
PRIVATE = "tambon-field-workers"
DRAFT = "tambon-draft-dataset"
VILLAGE_TITLE = "ข้อมูลพื้นฐานหมู่บ้าน รายหมู่บ้าน"
STATS_TITLE = "สถิติจำนวนครัวเรือน รายจังหวัด"
PRIVATE_TITLE = "ทะเบียนผู้ปฏิบัติงานตำบล (ภายใน)"
ORG_TITLE = "กรมการปกครอง"
CSV_BYTES = "village_code,village_name,households\n10010101,บ้านหนองบัว,120\n10010102,บ้านโคกสูง,85\n".encode()


# --------------------------------------------------------------- helpers --


def api(server, action, token=None, **params):
    """GET an action over HTTP; returns the result or raises on failure."""
    headers = {"Authorization": token} if token else {}
    for key, value in params.items():
        if isinstance(value, (list, dict, bool)):
            params[key] = json.dumps(value)
    r = requests.get(f"{server.url}/api/3/action/{action}", params=params, headers=headers, timeout=30)
    body = r.json()
    assert r.status_code == 200 and body["success"], (r.status_code, body)
    return body["result"]


def search(server, token=None, **params):
    return api(server, "package_search", token=token, **params)


def names(result):
    return [d["name"] for d in result["results"]]


def facet(result, field):
    return {item["name"]: item["count"] for item in result["search_facets"][field]["items"]}


def page(server, path):
    r = requests.get(server.url + path, timeout=30)
    assert r.status_code == 200, (path, r.status_code)
    return r.content.decode("utf-8")  # Turtle is UTF-8 whatever the header says


# --------------------------------------------------------------- catalog --


@pytest.fixture(scope="module")
def ckan(ckan_server):
    return ckanapi.RemoteCKAN(ckan_server.url, apikey=ckan_server.token)


@pytest.fixture(scope="module")
def catalog(ckan_server, ckan):
    """An organization, two public datasets, a private one and a draft."""
    ckan.action.organization_create(name="dopa", title=ORG_TITLE)
    village = ckan.action.package_create(
        name=VILLAGE,
        title=VILLAGE_TITLE,
        title_en="Village basic data, by village",
        notes="ข้อมูลพื้นฐานของหมู่บ้านทุกแห่ง เช่น จำนวนครัวเรือน",
        notes_en="Basic data of every village, e.g. number of households.",
        data_type="ข้อมูลระเบียน",
        tags=[{"name": "หมู่บ้าน"}, {"name": "tst"}],
        geo_coverage="หมู่บ้าน",
        data_format=["CSV"],
        data_collect="ครัวเรือน/ครอบครัว",
        created_date="2020-10-01",
        round_coverage="รอบที่ 1-12 ปีงบประมาณ 2564",
        latest_revision="2021-09-30",
        version="1.0",
        **GDC_COMMON,
    )
    resource = ckan.action.resource_create(
        package_id=VILLAGE,
        name="villages.csv",
        format="CSV",
        upload=("villages.csv", io.BytesIO(CSV_BYTES)),
    )
    stats = ckan.action.package_create(
        name=STATS,
        title=STATS_TITLE,
        title_en="Household statistics by province",
        notes="จำนวนครัวเรือนรวมรายจังหวัด",
        data_type="ข้อมูลสถิติ",
        tag_string="สถิติ,tst",
        geo_coverage="จังหวัด",
        data_format=["CSV", "JSON"],
        first_year_of_data="2563",
        last_year_of_data="2564",
        disaggregate=["ขอบเขตเชิงภูมิศาสตร์หรือเชิงพื้นที่"],
        unit_of_measure="ครัวเรือน",
        unit_of_multiplier="หน่วย",
        resources=[{"name": "summary.json", "url": "https://example.invalid/summary.json", "format": "JSON"}],
        **GDC_COMMON,
    )
    private = ckan.action.package_create(
        name=PRIVATE,
        title=PRIVATE_TITLE,
        private=True,
        notes="รายชื่อผู้ปฏิบัติงาน ใช้ภายในเท่านั้น",
        data_type="ข้อมูลระเบียน",
        tags=[{"name": "tst"}],
        geo_coverage="ตำบล",
        data_format=["Database"],
        **{**GDC_COMMON, "data_category": "ข้อมูลส่วนบุคคล"},
    )
    draft = ckan.action.package_create(
        name=DRAFT,
        title="ร่างชุดข้อมูล",
        state="draft",
        notes="ร่าง",
        data_type="ข้อมูลประเภทอื่นๆ",
        tags=[{"name": "tst"}],
        geo_coverage="ไม่ทราบ",
        data_format=["ไม่ทราบ"],
        **GDC_COMMON,
    )
    # make STATS the most recently modified dataset
    time.sleep(0.05)
    ckan.action.package_patch(id=STATS, version="2")
    return {"village": village, "stats": stats, "private": private, "draft": draft, "resource": resource}


# ----------------------------------------------------------------- server --


def test_server_answers_and_env_file_is_private(ckan_server):
    status = api(ckan_server, "status_show")
    assert status["ckan_version"] == "2.11.6"
    assert {"tambon_pgsearch", "scheming_datasets", "datastore", "dcat"} <= set(status["extensions"])
    assert status["locale_default"] == "th"
    env_file = ckan_server.run_dir / "env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert ckan_server.url == f"http://127.0.0.1:{ckan_server.env['TAMBON_CKAN_PORT']}"  # 127.0.0.1 only


def test_second_start_reuses_running_server(ckan_server):
    pid_before = (ckan_server.run_dir / "gunicorn.pid").read_text().strip()
    started = time.monotonic()
    result = ckan_server.ckan_sh("start")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 20
    assert "already running" in result.stderr
    assert (ckan_server.run_dir / "gunicorn.pid").read_text().strip() == pid_before
    assert ckan_server.token not in result.stdout + result.stderr
    status = ckan_server.ckan_sh("status")
    assert status.returncode == 0, status.stdout
    assert ckan_server.ckan_sh("url").stdout.strip() == ckan_server.url


# ----------------------------------------------------------------- schema --


def test_thai_gdc_schema_fields_and_choices(ckan_server):
    schema = api(ckan_server, "scheming_dataset_schema_show", type="dataset")
    fields = {f["field_name"]: f for f in schema["dataset_fields"]}
    for key in (
        "data_type",
        "title",
        "name",
        "owner_org",
        "maintainer",
        "maintainer_email",
        "tag_string",
        "notes",
        "objective",
        "update_frequency_unit",
        "update_frequency_interval",
        "geo_coverage",
        "data_source",
        "data_format",
        "data_category",
        "license_id",
        "accessible_condition",
        "data_support",
        "data_collect",
        "url",
        "data_language",
        "created_date",
        "last_updated_date",
        "data_release_calendar",
        "first_year_of_data",
        "last_year_of_data",
        "disaggregate",
        "unit_of_measure",
        "unit_of_multiplier",
        "calculation_method",
        "standard",
        "title_en",
        "notes_en",
        "round_coverage",
        "latest_revision",
        "version",
    ):
        assert key in fields, key
    assert [c["value"] for c in fields["data_type"]["choices"]] == [
        "ข้อมูลระเบียน",
        "ข้อมูลสถิติ",
        "ข้อมูลภูมิสารสนเทศเชิงพื้นที่",
        "ข้อมูลหลากหลายประเภท",
        "ข้อมูลประเภทอื่นๆ",
    ]
    assert fields["data_category"]["choices"][0] == {
        "value": "ข้อมูลสาธารณะ",
        "label": {"en": "Public data", "th": "ข้อมูลสาธารณะ"},
    }
    assert fields["data_type"]["label"] == {"en": "Dataset type", "th": "ประเภทชุดข้อมูล"}
    licenses = {lic["id"] for lic in api(ckan_server, "license_list")}
    assert "Open Data Common" in licenses


def test_required_gdc_fields_and_vocabularies_are_enforced(catalog, ckan):
    with pytest.raises(ckanapi.ValidationError) as missing:
        ckan.action.package_create(name="tambon-incomplete", title="ไม่ครบ", owner_org="dopa")
    errors = missing.value.error_dict
    for key in ("data_type", "objective", "geo_coverage", "data_format", "data_category", "tag_string"):
        assert key in errors, (key, errors)
    with pytest.raises(ckanapi.ValidationError) as bad_choice:
        ckan.action.package_create(
            name="tambon-bad-choice",
            title="ค่าไม่ถูกต้อง",
            notes="x",
            data_type="ข้อมูลอะไรก็ได้",
            tags=[{"name": "tst"}],
            geo_coverage="หมู่บ้าน",
            data_format=["CSV"],
            **GDC_COMMON,
        )
    assert "data_type" in bad_choice.value.error_dict


def test_dataset_keeps_thai_fields_and_multi_values(catalog, ckan_server):
    village = api(ckan_server, "package_show", id=VILLAGE)
    assert village["title"] == VILLAGE_TITLE
    assert village["data_type"] == "ข้อมูลระเบียน"
    # stored in the schema's choice order
    assert village["objective"] == ["เพื่อการให้บริการประชาชน", "พันธกิจหน่วยงาน"]
    assert village["data_format"] == ["CSV"]
    assert village["round_coverage"] == "รอบที่ 1-12 ปีงบประมาณ 2564"
    assert village["license_id"] == "Open Data Common"
    assert sorted(t["name"] for t in village["tags"]) == ["tst", "หมู่บ้าน"]
    stats = api(ckan_server, "package_show", id=STATS)
    assert sorted(t["name"] for t in stats["tags"]) == ["tst", "สถิติ"]
    assert stats["version"] == "2"


# ----------------------------------------------------------------- search --


def test_thai_substring_search_finds_village_dataset(catalog, ckan_server):
    assert names(search(ckan_server, q="หมู่บ้าน")) == [VILLAGE]
    # a word inside a longer Thai run of text, no spaces around it
    assert names(search(ckan_server, q="พื้นฐาน")) == [VILLAGE]
    assert set(names(search(ckan_server, q="ครัวเรือน"))) == {VILLAGE, STATS}


def test_multiple_words_must_all_match(catalog, ckan_server):
    assert names(search(ckan_server, q="หมู่บ้าน ครัวเรือน")) == [VILLAGE]
    assert search(ckan_server, q="หมู่บ้าน ไม่มีคำนี้แน่นอน")["count"] == 0
    assert names(search(ckan_server, q="ครัวเรือน -หมู่บ้าน")) == [STATS]


def test_english_title_search(catalog, ckan_server):
    assert names(search(ckan_server, q="household statistics")) == [STATS]
    assert names(search(ckan_server, q="Village basic")) == [VILLAGE]


def test_filters(catalog, ckan_server):
    assert set(names(search(ckan_server, fq="organization:dopa"))) == {VILLAGE, STATS}
    assert names(search(ckan_server, fq='tags:"สถิติ"')) == [STATS]
    assert names(search(ckan_server, fq="res_format:CSV")) == [VILLAGE]
    assert names(search(ckan_server, fq='data_type:"ข้อมูลสถิติ"')) == [STATS]
    assert names(search(ckan_server, fq='+data_format:"JSON" +organization:"dopa"')) == [STATS]
    assert names(search(ckan_server, fq="-tags:สถิติ")) == [VILLAGE]
    assert set(names(search(ckan_server, fq='license_id:"Open Data Common"'))) == {VILLAGE, STATS}
    assert search(ckan_server, fq="organization:nobody")["count"] == 0
    assert names(search(ckan_server, fq=f"name:{VILLAGE}")) == [VILLAGE]
    assert search(ckan_server, fq="+capacity:public +dataset_type:dataset")["count"] == 2
    assert search(ckan_server, fq="-author:nobody")["count"] == 2  # NULL author is not "nobody"
    assert names(search(ckan_server, fq="first_year_of_data:[2560 TO 2565]")) == [STATS]


def test_free_text_covers_organization_tags_resources_and_extras(catalog, ckan_server):
    assert set(names(search(ckan_server, q=ORG_TITLE))) == {VILLAGE, STATS}
    assert names(search(ckan_server, q="villages.csv")) == [VILLAGE]  # resource name
    assert names(search(ckan_server, q="รายจังหวัด")) == [STATS]
    assert names(search(ckan_server, q="ขอบเขตเชิงภูมิศาสตร์")) == [STATS]  # a multi-choice extra


def test_metadata_modified_ranges(catalog, ckan_server):
    assert search(ckan_server, fq="metadata_modified:[2000-01-01T00:00:00Z TO NOW]")["count"] == 2
    assert search(ckan_server, fq="metadata_modified:[* TO *]")["count"] == 2
    assert search(ckan_server, fq="metadata_modified:[NOW+1DAY TO *]")["count"] == 0


def test_facet_counts(catalog, ckan_server):
    fields = ["organization", "tags", "res_format", "data_type", "data_format", "license_id"]
    result = search(ckan_server, **{"facet.field": fields})
    assert facet(result, "organization") == {"dopa": 2}
    assert facet(result, "tags") == {"tst": 2, "หมู่บ้าน": 1, "สถิติ": 1}
    assert facet(result, "res_format") == {"CSV": 1, "JSON": 1}
    assert facet(result, "data_type") == {"ข้อมูลระเบียน": 1, "ข้อมูลสถิติ": 1}
    assert facet(result, "data_format") == {"CSV": 2, "JSON": 1}
    assert facet(result, "license_id") == {"Open Data Common": 2}
    # organization facets carry the organization's title
    items = result["search_facets"]["organization"]["items"]
    assert items[0]["display_name"] == ORG_TITLE
    # facets follow the query
    filtered = search(ckan_server, q="หมู่บ้าน", **{"facet.field": ["res_format", "data_type"]})
    assert facet(filtered, "res_format") == {"CSV": 1}
    assert facet(filtered, "data_type") == {"ข้อมูลระเบียน": 1}


def test_facet_limit_and_mincount(catalog, ckan_server):
    limited = search(ckan_server, **{"facet.field": ["tags"], "facet.limit": 1})
    assert facet(limited, "tags") == {"tst": 2}
    min2 = search(ckan_server, **{"facet.field": ["tags", "data_format"], "facet.mincount": 2})
    assert facet(min2, "tags") == {"tst": 2}
    assert facet(min2, "data_format") == {"CSV": 2}


def test_sorting(catalog, ckan_server):
    assert names(search(ckan_server, sort="title_string asc")) == [VILLAGE, STATS]
    assert names(search(ckan_server, sort="title_string desc")) == [STATS, VILLAGE]
    assert names(search(ckan_server, sort="name asc")) == [STATS, VILLAGE]
    assert names(search(ckan_server, sort="metadata_modified desc")) == [STATS, VILLAGE]
    assert names(search(ckan_server, sort="metadata_created asc")) == [VILLAGE, STATS]
    # default: relevance, then newest
    assert names(search(ckan_server)) == [STATS, VILLAGE]
    assert names(search(ckan_server, q="หมู่บ้าน OR สถิติ"))[0] in (VILLAGE, STATS)


def test_paging(catalog, ckan_server):
    first = search(ckan_server, rows=1, start=0, sort="name asc")
    second = search(ckan_server, rows=1, start=1, sort="name asc")
    assert first["count"] == second["count"] == 2
    assert names(first) == [STATS] and names(second) == [VILLAGE]
    assert search(ckan_server, rows=1, start=2)["results"] == []


def test_private_dataset_visible_only_with_token(catalog, ckan_server):
    token = ckan_server.token
    anonymous = search(ckan_server, fq="tags:tst", include_private=True)
    assert PRIVATE not in names(anonymous) and anonymous["count"] == 2
    assert search(ckan_server, q="ผู้ปฏิบัติงาน")["count"] == 0
    authorised = search(ckan_server, token=token, fq="tags:tst", include_private=True)
    assert PRIVATE in names(authorised) and authorised["count"] == 3
    assert names(search(ckan_server, token=token, q="ผู้ปฏิบัติงาน", include_private=True)) == [PRIVATE]
    with_facets = search(ckan_server, token=token, include_private=True, **{"facet.field": ["organization"]})
    assert facet(with_facets, "organization") == {"dopa": 3}
    # without include_private even the sysadmin gets public datasets only
    assert PRIVATE not in names(search(ckan_server, token=token, fq="tags:tst"))
    r = requests.get(f"{ckan_server.url}/api/3/action/package_show", params={"id": PRIVATE}, timeout=30)
    assert r.status_code == 403
    assert api(ckan_server, "package_show", token=token, id=PRIVATE)["private"] is True


def test_drafts_excluded_unless_asked(catalog, ckan_server):
    assert DRAFT not in names(search(ckan_server, token=ckan_server.token, fq="tags:tst"))
    drafts = search(ckan_server, token=ckan_server.token, fq="tags:tst", include_drafts=True)
    assert DRAFT in names(drafts)
    assert DRAFT not in names(search(ckan_server, fq="tags:tst", include_drafts=True))


def test_id_queries_and_field_lists(catalog, ckan_server):
    village_id = catalog["village"]["id"]
    assert names(search(ckan_server, q=f"id:{village_id}")) == [VILLAGE]
    ids = search(ckan_server, fl="id", sort="name asc")["results"]
    assert ids == [{"id": catalog["stats"]["id"]}, {"id": village_id}]
    rows = search(ckan_server, fl="name,title,data_type", q="หมู่บ้าน")["results"]
    assert rows == [{"name": VILLAGE, "title": VILLAGE_TITLE, "data_type": "ข้อมูลระเบียน"}]


def test_autocomplete_and_tag_listing(catalog, ckan_server):
    found = api(ckan_server, "package_autocomplete", q="village")
    assert [d["name"] for d in found] == [VILLAGE]
    found_thai = api(ckan_server, "package_autocomplete", q="สถิติ")
    assert [d["name"] for d in found_thai] == [STATS]
    assert api(ckan_server, "organization_show", id="dopa")["package_count"] == 2
    member_view = api(ckan_server, "organization_show", token=ckan_server.token, id="dopa")
    assert member_view["package_count"] == 3
    assert [t["name"] for t in api(ckan_server, "tag_show", id="สถิติ", include_datasets=True)["packages"]] == [STATS]


# ------------------------------------------------------------------ pages --


def test_search_page_dataset_page_and_organization_page(catalog, ckan_server):
    listing = page(ckan_server, "/dataset/")
    assert VILLAGE_TITLE in listing and STATS_TITLE in listing
    assert PRIVATE_TITLE not in listing
    found = page(ckan_server, "/dataset/?q=" + requests.utils.quote("หมู่บ้าน"))
    assert VILLAGE_TITLE in found and STATS_TITLE not in found
    faceted = page(ckan_server, "/dataset/?tags=" + requests.utils.quote("สถิติ"))
    assert STATS_TITLE in faceted and VILLAGE_TITLE not in faceted
    dataset = page(ckan_server, f"/dataset/{VILLAGE}")
    assert VILLAGE_TITLE in dataset and "ข้อมูลระเบียน" in dataset
    organization = page(ckan_server, "/organization/dopa")
    assert ORG_TITLE in organization and VILLAGE_TITLE in organization
    assert "ข้อมูลพื้นฐานหมู่บ้าน" in page(ckan_server, "/")
    english = page(ckan_server, f"/en/dataset/{STATS}")
    assert STATS_TITLE in english


# ------------------------------------------------------ files and DataStore --


def test_uploaded_csv_downloads_unchanged(catalog, ckan_server):
    resource = api(ckan_server, "resource_show", id=catalog["resource"]["id"])
    assert resource["url"].startswith(ckan_server.url + "/dataset/")
    r = requests.get(resource["url"], timeout=30)
    assert r.status_code == 200
    assert r.content == CSV_BYTES


def test_datastore_typed_rows(catalog, ckan, ckan_server):
    resource_id = catalog["resource"]["id"]
    ckan.action.datastore_create(
        resource_id=resource_id,
        force=True,
        primary_key=["village_code"],
        fields=[
            {"id": "village_code", "type": "text"},
            {"id": "village_name", "type": "text"},
            {"id": "households", "type": "int"},
            {"id": "share", "type": "numeric"},
            {"id": "surveyed_on", "type": "date"},
        ],
        records=[
            {
                "village_code": "10010101",
                "village_name": "บ้านหนองบัว",
                "households": 120,
                "share": 0.585,
                "surveyed_on": "2021-01-15",
            },
            {
                "village_code": "10010102",
                "village_name": "บ้านโคกสูง",
                "households": 85,
                "share": 0.415,
                "surveyed_on": "2021-02-01",
            },
        ],
    )
    result = api(ckan_server, "datastore_search", resource_id=resource_id, sort="village_code")
    types = {f["id"]: f["type"] for f in result["fields"]}
    assert types == {
        "_id": "int",
        "village_code": "text",
        "village_name": "text",
        "households": "int4",
        "share": "numeric",
        "surveyed_on": "date",
    }
    first = result["records"][0]
    assert first["village_name"] == "บ้านหนองบัว"
    assert first["households"] == 120 and isinstance(first["households"], int)
    assert first["share"] == pytest.approx(0.585)
    assert first["surveyed_on"].startswith("2021-01-15")
    filtered = api(ckan_server, "datastore_search", resource_id=resource_id, filters={"village_name": "บ้านโคกสูง"})
    assert [r["households"] for r in filtered["records"]] == [85]
    assert api(ckan_server, "resource_show", id=resource_id)["datastore_active"] is True


# ------------------------------------------------------------------- DCAT --


def test_dcat_catalog_lists_public_datasets(catalog, ckan_server):
    turtle = page(ckan_server, "/catalog.ttl")
    assert VILLAGE_TITLE in turtle and STATS_TITLE in turtle
    assert PRIVATE_TITLE not in turtle
    assert "hydra:totalItems 2" in turtle
    since = page(ckan_server, "/catalog.ttl?modified_since=2000-01-01")
    assert "hydra:totalItems 2" in since
    future = page(ckan_server, "/catalog.ttl?modified_since=2999-01-01")
    assert VILLAGE_TITLE not in future
    dataset = page(ckan_server, f"/dataset/{VILLAGE}.ttl")
    assert VILLAGE_TITLE in dataset and "หมู่บ้าน" in dataset
