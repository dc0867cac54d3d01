"""Publishing to a CKAN whose dataset schema is the Thai GDC one alone, as a Thai agency catalog runs it.

เผยแพร่ไปยัง CKAN ที่ใช้ schema ของ Thai GDC อย่างเดียว (เช่นแคตตาล็อกของหน่วยงานที่ใช้ ckanext-thai_gdc)
ฟิลด์ของเราเองถูกตัดทิ้ง แต่การเผยแพร่ซ้ำต้องไม่แก้ไขชุดข้อมูลใดเลย

Issue #13, point 2. The server (the ``real_schema_ckan`` fixture) is our CKAN with our schema reduced to the keys of
ckanext-thai_gdc's (every field marked ``tambon_extra`` left out), so it drops ``title_en``, ``notes_en``,
``round_coverage``, ``latest_revision`` and the coverage fields, silently, as ckanext-thai_gdc does. A small round of
the village profile (กรมการปกครอง) and of the household survey จปฐ. (กรมการพัฒนาชุมชน) is published, with DataStore
tables as the pipeline's asset does; then published again: no write call, and no dataset's ``metadata_modified``
moves. The Thai GDC fields are filled: the designations, ``data_format_other`` for the อื่นๆ the declarations
choose, the resource-level fields on every file and latest link; and each department's datasets sit in its own
organisation.
"""

from __future__ import annotations

import ckanapi
import pytest

from catalog.ckan_client import CkanClient
from catalog.ckan_publish import CkanPublisher
from catalog.local import LocalCatalog
from domain.layout import Layout
from tests.integration import small_round
from tests.unit.test_gdc_schema_fields import GDC_DATASET_FIELDS, GDC_RESOURCE_FIELDS

pytestmark = pytest.mark.integration

#: our own dataset keys, which this server drops
OURS = ("title_en", "notes_en", "round_coverage", "latest_revision", "coverage_round", "column_titles")
#: calls that only read (everything else the client makes is a write)
READS = ("download",)


def _is_write(action: str) -> bool:
    return action not in READS and not action.endswith(("_show", "_list", "_search"))


@pytest.fixture(scope="module")
def world(real_schema_ckan, tmp_path_factory):
    layout = Layout(tmp_path_factory.mktemp("ckan-real-schema"))
    local = LocalCatalog(layout.catalog)
    small_round.build(layout, local)
    client = CkanClient(real_schema_ckan.url, real_schema_ckan.token)
    publisher = CkanPublisher(client, local)
    publisher.ensure_organization()
    first = small_round.publish_all(publisher, local)
    admin = ckanapi.RemoteCKAN(real_schema_ckan.url, apikey=real_schema_ckan.token)
    names = [o.dataset for o in first.values()]
    return {
        "local": local,
        "server": real_schema_ckan,
        "admin": admin,
        "first": first,
        "packages": {name: admin.action.package_show(id=name) for name in names},
    }


def test_the_server_has_the_thai_gdc_fields_only_and_drops_ours(world):
    schema = world["admin"].action.scheming_dataset_schema_show(type="dataset")
    assert [f["field_name"] for f in schema["dataset_fields"]] == list(GDC_DATASET_FIELDS)
    assert [f["field_name"] for f in schema["resource_fields"]] == list(GDC_RESOURCE_FIELDS)
    for name, package in world["packages"].items():
        assert not [key for key in OURS if key in package], name  # dropped, silently
        assert package["title"] and package["notes"], name


def test_a_rerun_with_nothing_new_writes_nothing(world):
    calls: list[str] = []
    publisher = CkanPublisher(
        CkanClient(world["server"].url, world["server"].token, on_call=calls.append), world["local"]
    )
    outcomes = small_round.publish_all(publisher, world["local"])
    assert [c for c in calls if _is_write(c)] == []
    assert all(not o.uploaded and not o.switched and not o.datastore_rows for o in outcomes.values())
    admin = world["admin"]
    for name, before in world["packages"].items():
        assert admin.action.package_show(id=name)["metadata_modified"] == before["metadata_modified"], name


def test_the_thai_gdc_designations_and_other_companions_are_filled(world):
    for name, package in world["packages"].items():
        for key in ("allow_harvest", "high_value_dataset", "reference_data", "official_statistics"):
            assert package.get(key) in ("True", "False"), (name, key)
        assert package["allow_harvest"] == "True"
        if "อื่นๆ" in package["data_format"]:
            assert package["data_format_other"] == "Parquet, DuckDB", name
    packages = world["packages"]
    assert packages["village-profile"]["reference_data"] == "True"  # the village register: what others join on
    assert packages["household-survey-province"]["official_statistics"] == "True"  # จปฐ.
    assert packages["village-profile-province"]["official_statistics"] == "False"


def test_every_file_and_latest_link_carries_the_thai_gdc_resource_fields(world):
    for name, package in world["packages"].items():
        statistics = package["data_type"] == "ข้อมูลสถิติ"
        files = [r for r in package["resources"] if r.get("role") in ("revision", "latest")]
        assert files, name
        for resource in files:
            label = (name, resource["name"])
            assert resource["resource_first_year_of_data"] == resource["resource_last_year_of_data"] == "2563", label
            day = resource["issued"][:10]
            assert resource["resource_created_date"] == resource["resource_last_updated_date"] == day, label
            if statistics:
                assert resource["resource_unit_of_measure"] == package["unit_of_measure"], label
                assert resource["resource_unit_of_multiplier"] == package["unit_of_multiplier"] == "หน่วย", label
                assert resource["resource_disaggregate"] == package["disaggregate"], label
                assert resource["resource_official_statistics"] == package["official_statistics"], label
            else:
                assert resource["resource_data_collect"] == package["data_collect"], label


def test_each_department_s_datasets_sit_in_its_own_organisation(world):
    owners = {name: package["organization"]["name"] for name, package in world["packages"].items()}
    assert {o for n, o in owners.items() if n.startswith("household-survey")} == {"cdd"}
    assert {o for n, o in owners.items() if n.startswith("village-profile")} == {"dopa"}
    cdd = world["admin"].action.organization_show(id="cdd")
    assert cdd["title"] == "กรมการพัฒนาชุมชน" and "Community Development" in cdd["description"]
