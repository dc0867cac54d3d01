"""What a dataset publishes for a round: one output per table, each with its Table Schema.

Outputs are derived from the declaration: the record table (public fields only),
one aggregate table per declared level, and the quality figures and reasons.
Titles, descriptions and column documentation come from the declaration and
``datasets/_common/fields.yaml``; nothing here names a particular collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pandas as pd
import yaml

from pipelines.aggregate.geography import LEVEL_COLUMNS, LEVEL_TH
from pipelines.declarations import DATASETS_DIR, DatasetSpec

LEVEL_EN = {
    "tambon": "tambon (subdistrict)",
    "amphoe": "amphoe (district)",
    "province": "province",
    "nation": "nation",
}


@dataclass
class Output:
    name: str
    kind: str  # records | statistics  (selects the Thai GDC block of the declaration)
    title: dict[str, str]
    description: dict[str, str]
    schema: dict[str, Any]
    frame: pd.DataFrame
    gdc: dict[str, Any] = field(default_factory=dict)  # Thai GDC values that depend on the table itself


@cache
def common_fields() -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load((DATASETS_DIR / "_common" / "fields.yaml").read_text(encoding="utf-8"))
    return {name: {"name": name, **spec} for name, spec in raw.items()}


def _schema(fields: list[dict[str, Any]], primary_key: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
    if primary_key:
        schema["primaryKey"] = primary_key
    return schema


def _public_copy(field: dict[str, Any]) -> dict[str, Any]:
    """A source field as published: without header aliases (an input concern)."""
    return {k: v for k, v in field.items() if k != "aliases"}


def build_outputs(
    spec: DatasetSpec,
    records: pd.DataFrame,
    aggregates: dict[str, pd.DataFrame],
    quality: pd.DataFrame,
    reasons: pd.DataFrame,
) -> list[Output]:
    common = common_fields()
    head = [common["round"], common["round_be"]]
    title, about = spec.title, spec.description
    outputs = [
        Output(
            name=spec.name,
            kind="records",
            title={"th": f"{title['th']} รายหมู่บ้าน", "en": f"{title['en']}: village records"},
            description=about,
            schema=_schema(
                [
                    *head,
                    *(common[c] for c in LEVEL_COLUMNS["tambon"]),
                    *map(_public_copy, spec.public_fields),
                ],
                ["round", *spec.primary_key],
            ),
            frame=records,
        )
    ]
    for level, frame in aggregates.items():
        measures = [
            {
                "name": m.name,
                "type": m.type,
                "title": m.title_en,
                "title_th": m.title_th,
                "description": m.title_en,
                "description_th": m.title_th,
            }
            for m in spec.measures
        ]
        keys = LEVEL_COLUMNS[level]
        outputs.append(
            Output(
                name=f"{spec.name}_{level}",
                kind="statistics",
                title={
                    "th": f"{title['th']} สรุประดับ{LEVEL_TH[level]}",
                    "en": f"{title['en']}: {LEVEL_EN[level]} totals",
                },
                description={
                    "th": f"สรุปรวมระดับ{LEVEL_TH[level]} จากข้อมูลรายหมู่บ้านที่ผ่านการตรวจสอบ\n\n{about['th']}",
                    "en": f"Summed to {LEVEL_EN[level]} level from the validated village records.\n\n{about['en']}",
                },
                schema=_schema(
                    [*head, *(common[k] for k in keys), *measures],
                    ["round", *keys[::3]] if keys else ["round"],
                ),
                frame=frame,
                gdc={"geo_coverage": LEVEL_TH[level]},
            )
        )
    quality_fields = [c for c in quality.columns if c not in ("round", "round_be")]
    outputs.append(
        Output(
            name=f"{spec.name}_quality",
            kind="statistics",
            title={
                "th": f"คุณภาพ{title['th']} (ความครบถ้วนและความถูกต้อง)",
                "en": f"{title['en']}: data quality (completeness and accuracy)",
            },
            description={
                "th": "ความครบถ้วนและความถูกต้องของข้อมูลที่ได้รับในแต่ละรอบ รายตำบล อำเภอ จังหวัด และประเทศ"
                " ใช้ประกอบการคัดเลือกอำเภอต้นแบบ (หลักเกณฑ์ข้อ 2)",
                "en": "Completeness and accuracy of the data received each round, by tambon, amphoe,"
                " province and nation (criterion 2 of the role-model district selection).",
            },
            schema=_schema([*head, *(common[c] for c in quality_fields)], ["round", "level", "area_code"]),
            frame=quality,
            gdc={"geo_coverage": LEVEL_TH["tambon"]},
        )
    )
    outputs.append(
        Output(
            name=f"{spec.name}_quality_reasons",
            kind="statistics",
            title={
                "th": f"สาเหตุที่{title['th']}ไม่ผ่านการตรวจสอบ",
                "en": f"{title['en']}: why rows were quarantined",
            },
            description={
                "th": "จำนวนแถวที่ไม่ผ่านการตรวจสอบ แยกตามสาเหตุและพื้นที่ (ไม่มีข้อมูลส่วนบุคคล)",
                "en": "Rows held back by the checks, counted by reason and area (no personal data).",
            },
            schema=_schema(
                [*head, common["level"], common["area_code"], common["reason"], common["rows_quarantined"]],
                ["round", "level", "area_code", "reason"],
            ),
            frame=reasons,
            gdc={"geo_coverage": LEVEL_TH["tambon"]},
        )
    )
    return outputs
