"""A second collection is a new folder under datasets/, not new Python: declare one and run every stage."""

import json

import pandas as pd
import yaml

from catalog.local import LocalCatalog
from domain.declarations import load_dataset
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import stages

SCHEMA = {
    "fields": [
        {
            "name": "village_code",
            "type": "string",
            "title": "Village code",
            "title_th": "รหัสหมู่บ้าน",
            "constraints": {"required": True, "pattern": "[0-9]{8}"},
        },
        {
            "name": "survey_date",
            "type": "date",
            "title": "Survey date",
            "title_th": "วันที่สำรวจ",
            "constraints": {"required": True},
        },
        {
            "name": "water_points",
            "type": "integer",
            "title": "Water points",
            "title_th": "จุดจ่ายน้ำ",
            "constraints": {"required": True, "minimum": 0},
        },
        {
            "name": "working_points",
            "type": "integer",
            "title": "Working points",
            "title_th": "จุดที่ใช้การได้",
            "constraints": {"required": True, "minimum": 0},
        },
        {
            "name": "surveyor_phone",
            "type": "string",
            "title": "Surveyor phone",
            "title_th": "โทรศัพท์ผู้สำรวจ",
            "privacy": "personal",
        },
    ],
    "primaryKey": ["village_code"],
    "missingValues": [""],
}
DECLARATION = {
    "name": "water_points",
    "title": {"th": "จุดจ่ายน้ำประจำหมู่บ้าน", "en": "Village water points"},
    "description": {"th": "จำนวนจุดจ่ายน้ำ", "en": "Number of water points"},
    "schema": "schema.json",
    "geography_field": "village_code",
    "rules": [{"rule": "registry_member", "field": "village_code"}, {"rule": "date_in_round", "field": "survey_date"}],
    "duplicates": {"key": ["village_code"], "prefer": [{"field": "survey_date", "order": "desc"}]},
    "quality_targets": {"completeness_pct": 50},
    "aggregates": {
        "levels": ["tambon", "nation"],
        "measures": [
            {"name": "villages", "sql": "count(*)", "type": "integer", "title_th": "หมู่บ้าน", "title_en": "Villages"},
            {
                "name": "water_points",
                "sql": "sum(water_points)",
                "type": "integer",
                "title_th": "จุดจ่ายน้ำ",
                "title_en": "Water points",
            },
        ],
    },
    "catalog": {"common": {"data_category": "ข้อมูลสาธารณะ"}, "statistics": {"data_type": "ข้อมูลสถิติ"}},
}
ROWS = """รหัสหมู่บ้าน,วันที่สำรวจ,จุดจ่ายน้ำ,จุดที่ใช้การได้,โทรศัพท์ผู้สำรวจ
84010101,15 ต.ค. 2563,๓,2,0812345678
84010102,2020-10-16,4,4,0812345679
84010199,2020-10-16,1,1,0812345670
84010201,2020-11-02,2,2,0812345671
"""


def test_a_new_folder_runs_end_to_end(tmp_path, small_geography):
    folder = tmp_path / "datasets" / "water_points"
    folder.mkdir(parents=True)
    (folder / "schema.json").write_text(json.dumps(SCHEMA, ensure_ascii=False), encoding="utf-8")
    (folder / "dataset.yaml").write_text(yaml.safe_dump(DECLARATION, allow_unicode=True), encoding="utf-8")
    spec = load_dataset(folder)
    round_ = parse_round("2563-10")
    layout = Layout(tmp_path / "data")
    layout.landing_dir(spec.name, round_).mkdir(parents=True)
    (layout.landing_dir(spec.name, round_) / "จุดน้ำ.csv").write_text(ROWS, encoding="cp874")

    job = stages.RoundJob(spec, round_, layout, lambda: small_geography)
    assert stages.ingest(job)["rows_received"] == 4
    checked = stages.validate(job)
    assert (checked["rows_accepted"], checked["rows_by_code"]) == (2, {"date_outside_round": 1, "unknown_code": 1})
    assert stages.quality(job)["villages_accepted"] == 2
    stages.aggregate(job)
    published = stages.publish(job, LocalCatalog(layout.catalog))
    assert sorted(p.output for p in published) == [
        "water_points",
        "water_points_nation",
        "water_points_quality",
        "water_points_quality_reasons",
        "water_points_tambon",
    ]
    nation_folder = next(p for p in published if p.output == "water_points_nation").folder
    nation = pd.read_parquet(next(nation_folder.glob("*.parquet")))
    assert nation[["villages", "water_points"]].values.tolist() == [[2, 7]]
    records = next(p for p in published if p.output == "water_points")
    assert "surveyor_phone" not in (records.folder / records.files["csv"]["path"]).read_text(encoding="utf-8-sig")
