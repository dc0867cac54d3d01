"""Our scheming schema agrees with the Thai GDC schema field for field.

The Thai GDC schema is the one of ``ckanext-thai_gdc`` (the CKAN extension Thai agency catalogs run; read from
its public repository, ``ckanext/thai_gdc/ckan_dataset.json``, commit f979fd8 of the artarete01 fork of
NECTEC's extension, 2024-02-08). The CI machine cannot reach it, so its fields are stated below as data: every
dataset and resource key, whether it is required, and its choice values (labels aside). Our YAML must have
exactly these keys with the same required flags and choices; what it has besides are our own fields, each
marked ``tambon_extra: true``. The integration test ``tests/integration/test_ckan_real_schema.py`` runs a CKAN
with our schema reduced to these keys (``thai_gdc_only``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

SCHEMA_YAML = Path(__file__).resolve().parents[2] / "catalog/ckan/ckanext-tambon/ckanext/tambon/thai_gdc_dataset.yaml"

OTHER = "อื่นๆ"
UNKNOWN = "ไม่ทราบ"
YES_NO = ["False", "True"]
DATA_TYPES = ["ข้อมูลระเบียน", "ข้อมูลสถิติ", "ข้อมูลภูมิสารสนเทศเชิงพื้นที่", "ข้อมูลหลากหลายประเภท", "ข้อมูลประเภทอื่นๆ"]
OBJECTIVES = [
    "ยุทธศาสตร์ชาติ", "แผนพัฒนาเศรษฐกิจและสังคมแห่งชาติ", "แผนความมั่นคงแห่งชาติ", "แผนแม่บทภายใต้ยุทธศาสตร์ชาติ",
    "แผนปฏิรูปประเทศ", "แผนระดับที่ 3 (มติครม. 4 ธ.ค. 2560)", "นโยบายรัฐบาล/ข้อสั่งการนายกรัฐมนตรี", "มติคณะรัฐมนตรี",
    "เพื่อการให้บริการประชาชน", "กฎหมายที่เกี่ยวข้อง", "พันธกิจหน่วยงาน", "ดัชนี/ตัวชี้วัดระดับนานาชาติ", UNKNOWN, OTHER,
]  # fmt: skip
FREQUENCY_UNITS = [
    UNKNOWN, "ปี", "ครึ่งปี", "ไตรมาส", "เดือน", "สัปดาห์", "วัน", "วันทำการ", "ชั่วโมง", "นาที", "ตามเวลาจริง",
    "ไม่มีการปรับปรุงหลังจากการจัดเก็บข้อมูล", OTHER,
]  # fmt: skip
GEO_COVERAGE = [
    "ไม่มี", "โลก", "ทวีป/กลุ่มประเทศในทวีป", "กลุ่มประเทศทางเศรษฐกิจ", "ประเทศ", "ภาค", "จังหวัด", "อำเภอ", "ตำบล",
    "หมู่บ้าน", "เทศบาล/อบต.", "พิกัด", UNKNOWN, OTHER,
]  # fmt: skip
DATA_FORMATS = [
    "Database", "CSV", "XML", "Image", "Video", "Audio", "Text", "JSON", "HTML", "DOC/DOCX", "XLS", "PDF", "RDF",
    "NoSQL", "Arc/Info Coverage", "Shapefile", "GeoTiff", "GML", UNKNOWN, OTHER,
]  # fmt: skip
CATEGORIES = ["ข้อมูลสาธารณะ", "ข้อมูลส่วนบุคคล", "ข้อมูลความมั่นคง", "ข้อมูลความลับทางราชการ"]
LICENSES = [
    "License not specified", "Creative Commons Attributions", "Creative Commons Attribution Share-Alike",
    "Creative Commons Non-Commercial (Any)", "Open Data Common", "GNU Free Documentation License", OTHER,
]  # fmt: skip
SUPPORT = ["ไม่มี", "หน่วยงานของรัฐ", "หน่วยงานเอกชน", "หน่วยงาน/องค์กรระหว่างประเทศ", "มูลนิธิ/สมาคม", "สถาบันการศึกษา", OTHER]
COLLECT = [
    "ไม่มี", "บุคคล", "ครัวเรือน/ครอบครัว", "บ้าน/ที่อยู่อาศัย", "บริษัท/ห้างร้าน/สถานประกอบการ", "อาคาร/สิ่งปลูกสร้าง",
    "พื้นที่การเกษตร ประมง ป่าไม้", "สัตว์และพันธุ์พืช", "ขอบเขตเชิงภูมิศาสตร์หรือเชิงพื้นที่",
    "แหล่งน้ำ เช่น แม่น้ำ อ่างเก็บน้ำ", "เส้นทางการเดินทาง เช่น ถนน ทางรถไฟ", UNKNOWN, OTHER,
]  # fmt: skip
LANGUAGES = [
    "ไทย", "อังกฤษ", "จีน", "มลายู", "พม่า", "ลาว", "เขมร", "ญี่ปุ่น", "เกาหลี", "ฝรั่งเศส", "เยอรมัน", "อารบิก", UNKNOWN, OTHER,
]  # fmt: skip
DISAGGREGATE = [
    "ไม่มี", "เพศ", "อายุ/กลุ่มอายุ", "สถานภาพสมรส", "ศาสนา", "ระดับการศึกษา", "อาชีพ", "สถานภาพการทำงาน",
    "อุตสาหกรรม/ประเภทกิจการ", "รายได้", "ขอบเขตเชิงภูมิศาสตร์หรือเชิงพื้นที่", "ผลิตภัณฑ์", UNKNOWN, OTHER,
]  # fmt: skip
MULTIPLIERS = [
    "หน่วย", "สิบ", "ร้อย", "พัน", "หมื่น", "แสน", "ล้าน", "สิบล้าน", "ร้อยล้าน", "พันล้าน", "หมื่นล้าน", "แสนล้าน",
    "ล้านล้าน", UNKNOWN, OTHER,
]  # fmt: skip
GEO_LAYERS = [
    "ชั้นข้อมูลแปลงที่ดิน", "ชั้นข้อมูลขอบเขตการปกครอง", "ชั้นข้อมูลเส้นทางคมนาคม", "ชั้นข้อมูลชุมนุม/อาคาร", "ชั้นข้อมูลป่าไม้",
    "ชั้นข้อมูลการใช้ประโยชน์ที่ดิน", "ชั้นข้อมูลแหล่งน้ำ", "ชั้นข้อมูลอุทกศาสตร์", "ชั้นข้อมูลหมุดหลักฐานแผนที่",
    "ชั้นข้อมูลความสูงภูมิประเทศเชิงตัวเลข", "ชั้นข้อมูลภาพแผนที่ภูมิประเทศ", "ชั้นข้อมูลแผนที่ภาพถ่ายทางอากาศ",
    "ชั้นข้อมูลภาพวาดดาวเทียมดัดแก้",
]  # fmt: skip
SCALES = ["1:4,000", "1:10,000", "1:25,000", "1:50,000", "1:250,000", OTHER]

REQ = True
#: the Thai GDC dataset fields in their order: key -> (required, choice values or None)
GDC_DATASET_FIELDS: dict[str, tuple[bool, list[str] | None]] = {
    "data_type": (REQ, DATA_TYPES),
    "data_type_other": (False, None),
    "title": (REQ, None),
    "name": (False, None),
    "owner_org": (False, None),
    "allow_harvest": (False, YES_NO),
    "reference_url_catalog": (False, None),
    "maintainer": (REQ, None),
    "maintainer_email": (REQ, None),
    "tag_string": (REQ, None),
    "notes": (REQ, None),
    "objective": (REQ, OBJECTIVES),
    "objective_other": (False, None),
    "update_frequency_unit": (REQ, FREQUENCY_UNITS),
    "update_frequency_unit_other": (False, None),
    "update_frequency_interval": (False, None),
    "geo_coverage": (REQ, GEO_COVERAGE),
    "geo_coverage_other": (False, None),
    "data_source": (REQ, None),
    "data_format": (REQ, DATA_FORMATS),
    "data_format_other": (False, None),
    "data_category": (REQ, CATEGORIES),
    "license_id": (REQ, LICENSES),
    "license_id_other": (False, None),
    "accessible_condition": (False, None),
    "data_support": (False, SUPPORT),
    "data_support_other": (False, None),
    "data_collect": (False, COLLECT),
    "data_collect_other": (False, None),
    "url": (False, None),
    "data_language": (False, LANGUAGES),
    "data_language_other": (False, None),
    "created_date": (False, None),
    "last_updated_date": (False, None),
    "data_release_calendar": (False, None),
    "first_year_of_data": (False, None),
    "last_year_of_data": (False, None),
    "disaggregate": (False, DISAGGREGATE),
    "disaggregate_other": (False, None),
    "unit_of_measure": (False, None),
    "unit_of_multiplier": (False, MULTIPLIERS),
    "unit_of_multiplier_other": (False, None),
    "calculation_method": (False, None),
    "standard": (False, None),
    "geographic_data_set": (False, GEO_LAYERS),
    "equivalent_scale": (False, SCALES),
    "equivalent_scale_other": (False, None),
    "west_bound_longitude": (False, None),
    "east_bound_longitude": (False, None),
    "north_bound_longitude": (False, None),
    "south_bound_longitude": (False, None),
    "positional_accuracy": (False, None),
    "reference_period": (False, None),
    "data_release_date": (False, None),
    "high_value_dataset": (False, YES_NO),
    "reference_data": (False, YES_NO),
    "official_statistics": (False, YES_NO),
}
GDC_RESOURCE_FIELDS: dict[str, tuple[bool, list[str] | None]] = {
    "url": (False, None),
    "name": (REQ, None),
    "description": (False, None),
    "resource_accessible_condition": (False, None),
    "resource_data_collect": (False, COLLECT),
    "resource_data_collect_other": (False, None),
    "resource_first_year_of_data": (False, None),
    "resource_last_year_of_data": (False, None),
    "resource_disaggregate": (False, DISAGGREGATE),
    "resource_disaggregate_other": (False, None),
    "resource_unit_of_measure": (False, None),
    "resource_unit_of_multiplier": (False, MULTIPLIERS),
    "resource_unit_of_multiplier_other": (False, None),
    "resource_geographic_data_set": (False, GEO_LAYERS),
    "resource_equivalent_scale": (False, SCALES),
    "resource_equivalent_scale_other": (False, None),
    "resource_positional_accuracy": (False, None),
    "resource_created_date": (False, None),
    "resource_last_updated_date": (False, None),
    "resource_data_release_calendar": (False, None),
    "resource_official_statistics": (False, YES_NO),
    "resource_data_release_date": (False, None),
    "format": (False, None),
}
#: our own dataset fields (English title and description, rounds, coverage, columns) and CKAN's ``version``
OURS = {
    "title_en", "notes_en", "version", "round_coverage", "latest_revision", "coverage_province",
    "coverage_province_en", "coverage_province_code", "coverage_round", "coverage_round_ce", "column_titles",
}  # fmt: skip


def _ours() -> dict:
    return yaml.safe_load(SCHEMA_YAML.read_text(encoding="utf-8"))


def _described(fields: list[dict]) -> dict[str, tuple[bool, list[str] | None]]:
    return {
        f["field_name"]: (bool(f.get("required")), [str(c["value"]) for c in f["choices"]] if "choices" in f else None)
        for f in fields
    }


def test_the_real_schema_as_stated_has_its_57_dataset_and_23_resource_fields():
    assert len(GDC_DATASET_FIELDS) == 57 and len(GDC_RESOURCE_FIELDS) == 23
    # every choice list with อื่นๆ has its *_other companion
    for fields in (GDC_DATASET_FIELDS, GDC_RESOURCE_FIELDS):
        for key, (_, choices) in fields.items():
            if choices and any(c.endswith(OTHER) for c in choices):
                assert f"{key}_other" in fields, key


def test_our_dataset_fields_are_the_thai_gdc_ones_plus_ours_marked():
    fields = _ours()["dataset_fields"]
    ours = {f["field_name"] for f in fields if f.get("tambon_extra")}
    assert ours == OURS
    gdc = _described([f for f in fields if not f.get("tambon_extra")])
    assert list(gdc) == list(GDC_DATASET_FIELDS)  # the same keys, in the same order
    for key, expected in GDC_DATASET_FIELDS.items():
        assert gdc[key] == expected, key


def test_our_resource_fields_are_the_thai_gdc_ones():
    fields = _ours()["resource_fields"]
    assert not [f["field_name"] for f in fields if f.get("tambon_extra")]
    got = _described(fields)
    assert list(got) == list(GDC_RESOURCE_FIELDS)
    for key, expected in GDC_RESOURCE_FIELDS.items():
        assert got[key] == expected, key


def test_the_declarations_fill_an_other_companion_for_every_other_chosen():
    from domain.declarations import load_datasets

    for name, spec in load_datasets().items():
        for kind in ("records", "statistics"):
            if kind not in spec.catalog:
                continue
            gdc = {**spec.catalog.get("common", {}), **spec.catalog[kind]}
            for key, (_, choices) in GDC_DATASET_FIELDS.items():
                chosen = gdc.get(key)
                chosen = chosen if isinstance(chosen, list) else [chosen]
                if choices and OTHER in choices and OTHER in chosen:
                    assert str(gdc.get(f"{key}_other") or "").strip(), f"{name} {kind}: {key}_other"
                if choices and key in gdc:
                    assert set(map(str, chosen)) <= set(choices), f"{name} {kind}: {key}"


# -- what the publisher fills and compares (catalog/ckan_publish.py) ------------------------------------------------
class _SchemaClient:
    """A CKAN client that only answers ``scheming_dataset_schema_show`` (with ``fields``), counting the calls."""

    def __init__(self, fields: list[str] | None) -> None:
        self.fields, self.calls = fields, []

    def call(self, action: str, **data):
        self.calls.append(action)
        if self.fields is None:
            raise RuntimeError("no such action")  # a CKAN without scheming
        return {"dataset_fields": [{"field_name": f} for f in self.fields]}


def test_the_publisher_compares_only_what_the_server_keeps():
    from catalog.ckan_publish import CkanPublisher

    client = _SchemaClient(list(GDC_DATASET_FIELDS))  # an agency catalog: the Thai GDC fields only
    publisher = CkanPublisher(client, None)
    package = {"type": "dataset", "title": "x", "data_type": "ข้อมูลสถิติ"}
    assert publisher._server_keeps(package, "data_type") and publisher._server_keeps(package, "version")
    assert client.calls == []  # held by the dataset, or CKAN's own: nothing asked
    assert not publisher._server_keeps(package, "round_coverage")  # ours: dropped by that server
    assert publisher._server_keeps(package, "high_value_dataset")  # a Thai GDC key the dataset lacks yet: written
    assert not publisher._server_keeps(package, "title_en")
    assert client.calls == ["scheming_dataset_schema_show"]  # asked once
    plain = CkanPublisher(_SchemaClient(None), None)  # no scheming: CKAN's keys only
    assert not plain._server_keeps(package, "high_value_dataset") and plain._server_keeps(package, "notes")


def test_the_resource_fields_come_from_the_declaration_and_the_round():
    from catalog.ckan_publish import resource_gdc

    statistics = {
        "data_type": "ข้อมูลสถิติ", "disaggregate": ["เพศ"], "unit_of_measure": "คน", "unit_of_multiplier": "หน่วย",
        "official_statistics": True,
    }  # fmt: skip
    got = resource_gdc(statistics, "revision", "2563-10", "2026-12-05T09:00:00+00:00")
    assert got == {
        "resource_created_date": "2026-12-05",
        "resource_last_updated_date": "2026-12-05",
        "resource_first_year_of_data": "2563",
        "resource_last_year_of_data": "2563",
        "resource_disaggregate": ["เพศ"],
        "resource_unit_of_measure": "คน",
        "resource_unit_of_multiplier": "หน่วย",
        "resource_official_statistics": "True",
    }
    records = {"data_type": "ข้อมูลระเบียน", "data_collect": OTHER, "data_collect_other": "หมู่บ้าน"}
    got = resource_gdc(records, "latest", "2564-01", "2021-02-01")
    assert got["resource_data_collect"] == OTHER and got["resource_data_collect_other"] == "หมู่บ้าน"
    assert "resource_unit_of_measure" not in got and got["resource_first_year_of_data"] == "2564"
    report = resource_gdc(statistics, "report", "2563-10", "")
    assert report == {"resource_first_year_of_data": "2563", "resource_last_year_of_data": "2563"}


def test_designations_departments_and_choice_order():
    from catalog.ckan_publish import Organization, _choices, _flag, _same

    assert [_flag(v, False) for v in (None, "", True, False, "false", "yes")] == [
        "False", "False", "True", "False", "False", "True",
    ]  # fmt: skip
    assert _flag(None, True) == "True"
    dopa = Organization()
    assert Organization.declared({}, dopa) is dopa
    cdd = Organization.declared({"organization": {"name": "cdd", "title": "กรมการพัฒนาชุมชน"}}, dopa)
    assert (cdd.name, cdd.title) == ("cdd", "กรมการพัฒนาชุมชน")
    # scheming keeps a multiple choice in its schema's order, ckanext-thai_gdc as JSON text: the same choices
    assert _choices('["เพศ", "อาชีพ"]') == _choices(["อาชีพ", "เพศ"])
    assert _same('["CSV", "อื่นๆ"]', ["อื่นๆ", "CSV"])
