"""What a dataset publishes for a round: one output per table, each with its Table Schema.

Outputs are derived from the declaration: the record table (public fields only),
one aggregate table per declared level, and the quality figures and reasons.
Titles, descriptions and column documentation come from the declaration and
``datasets/_common/fields.yaml``; nothing here names a particular collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

import pandas as pd
import yaml

from catalog.files import csv_bytes
from domain.declarations import DATASETS_DIR, DatasetSpec, Measure
from domain.disclosure import disclosure_rules
from domain.geography import LEVEL_COLUMNS, LEVEL_TH, code_columns, unit_geography
from domain.measures import measures as measures_of

LEVEL_EN = {
    "village": "village (muban)",
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
    suppressed: pd.DataFrame | None = None  # True where a small cell was hidden (CSV shows the marker)
    marker: str = ""

    @cached_property
    def csv(self) -> bytes:
        """The CSV file's bytes: what the privacy gate reads and what the catalog writes (and hashes)."""
        return csv_bytes(self.frame, self.schema, self.suppressed, self.marker)


@cache
def common_fields() -> dict[str, dict[str, Any]]:
    raw = yaml.safe_load((DATASETS_DIR / "_common" / "fields.yaml").read_text(encoding="utf-8"))
    return {name: {"name": name, **spec} for name, spec in raw.items()}


def _schema(fields: list[dict[str, Any]], primary_key: list[str] | None = None, marker: str = "") -> dict[str, Any]:
    schema: dict[str, Any] = {"fields": fields, "missingValues": ["", marker] if marker else [""]}
    if primary_key:
        schema["primaryKey"] = primary_key
    return schema


def _public_copy(field: dict[str, Any]) -> dict[str, Any]:
    """A source field as published: without header aliases (an input concern)."""
    return {k: v for k, v in field.items() if k != "aliases"}


def suppression_text(spec: DatasetSpec) -> dict[str, str]:
    """What a suppressed cell is, in Thai and English, for wherever a reader meets one.

    The same words go to the aggregate tables' descriptions, to their Table Schema
    (``tambon:suppression``), to the analysts' ``columns`` table and are meant for the
    CKAN dataset page (its notes): a NULL or an ``x`` read without them looks like a
    missing report, when it is a small count hidden on purpose. Empty for a dataset
    without disclosure control.
    """
    if not spec.disclosure:
        return {"th": "", "en": ""}
    threshold, marker = spec.disclosure.get("threshold", 5), spec.disclosure.get("marker", "x")
    return {
        "th": f"จำนวนที่น้อยกว่า {threshold} ถูกปกปิดเพื่อคุ้มครองข้อมูลส่วนบุคคล แสดงเป็น `{marker}` ในไฟล์ CSV"
        f" และเป็นค่าว่าง (NULL) ในไฟล์ Parquet และในฐานข้อมูล DuckDB พร้อมปกปิดเซลล์ประกอบ (จำนวนอื่นในสมการเดียวกัน"
        f" และร้อยละหรือค่าเฉลี่ยที่คำนวณจากจำนวนที่ถูกปกปิด) เพื่อไม่ให้คำนวณย้อนกลับจากยอดรวมได้"
        f" ค่าที่ถูกปกปิดไม่ใช่ศูนย์และไม่ใช่ข้อมูลที่ขาดหาย: ไม่ควรนับเป็น 0 เมื่อรวมยอด",
        "en": f"Counts below {threshold} are suppressed to protect personal data: `{marker}` in the CSV file,"
        f" NULL in the Parquet file and in the DuckDB catalog. Further cells are suppressed with them (another"
        f" count of the same sum, and any percentage or mean computed from a hidden count) so that no hidden"
        f" cell can be recomputed from totals. A suppressed cell is neither zero nor a missing report: do not"
        f" add it up as 0.",
    }


def _paragraph(text: str) -> str:
    return f"\n\n{text}" if text else ""


def suppressible_columns(spec: DatasetSpec) -> set[str]:
    """The aggregate columns that small-cell suppression may hide: its counts and the figures computed from them."""
    rules = disclosure_rules(spec, measures_of(spec))
    return set() if rules is None else {*rules.counts, *rules.derived}


def _field_note(spec: DatasetSpec) -> dict[str, str]:
    """The one sentence each suppressible column carries (the whole explanation is on the table)."""
    if not spec.disclosure:
        return {"field_th": "", "field_en": ""}
    threshold, marker = spec.disclosure.get("threshold", 5), spec.disclosure.get("marker", "x")
    return {
        "field_th": f"อาจถูกปกปิด (suppressed): เป็นค่าว่าง (NULL) ในไฟล์ Parquet และ `{marker}` ในไฟล์ CSV เมื่อจำนวน"
        f" (หรือจำนวนที่ใช้คำนวณ) น้อยกว่า {threshold} หรือต้องปกปิดประกอบเพื่อไม่ให้คำนวณย้อนกลับได้ ไม่ใช่ศูนย์",
        "field_en": f"May be suppressed: NULL in the Parquet file and `{marker}` in the CSV when the count (or a"
        f" count it is computed from) is below {threshold}, or hidden so that such a count cannot be recomputed;"
        f" not a zero.",
    }


def _measure_field(m: Measure, hidden: set[str], note: dict[str, str]) -> dict[str, Any]:
    """A declared measure as a published field; a column suppression may hide says so where it is read."""
    field = {
        "name": m.name,
        "type": m.type,
        "title": m.title_en,
        "title_th": m.title_th,
        "description": m.description_en,
        "description_th": m.description_th,
    }
    if m.name in hidden:
        field["description"] = f"{m.description_en} {note['field_en']}"
        field["description_th"] = f"{m.description_th} {note['field_th']}"
        field["tambon:suppressible"] = True
    return field


def build_outputs(
    spec: DatasetSpec,
    records: pd.DataFrame | None,
    aggregates: dict[str, pd.DataFrame],
    quality: pd.DataFrame | None,
    reasons: pd.DataFrame | None,
    suppressed: dict[str, pd.DataFrame] | None = None,
) -> list[Output]:
    """Every table the round publishes.

    ``records`` is None for a collection whose rows stay private; ``quality`` and
    ``reasons`` are None for a collection without quality figures (not village-level).
    """
    common = common_fields()
    head = [common["round"], common["round_be"]]
    title, about = spec.title, spec.description
    unit_th, unit_en = LEVEL_TH[spec.geography_level], LEVEL_EN[spec.geography_level].split(" (")[0]
    noun = spec.raw.get("unit_noun", {"th": unit_th, "en": f"{unit_en}s"})
    outputs = []
    if records is not None:
        geo, _ = unit_geography(spec.geography_level, spec.geography_field)
        outputs.append(
            Output(
                name=spec.name,
                kind="records",
                title={"th": f"{title['th']} ราย{unit_th}", "en": f"{title['en']}: {unit_en} records"},
                description=about,
                schema=_schema(
                    [*head, *(common[c] for c in geo), *map(_public_copy, spec.public_fields)],
                    ["round", *(spec.primary_key or [spec.geography_field])],
                ),
                frame=records,
            )
        )
    note = suppression_text(spec)
    marker = spec.disclosure.get("marker", "x") if spec.disclosure else ""
    hidden = suppressible_columns(spec)
    for level, frame in aggregates.items():
        measures = [_measure_field(m, hidden, _field_note(spec)) for m in measures_of(spec)]
        keys = LEVEL_COLUMNS[level]
        schema = _schema([*head, *(common[k] for k in keys), *measures], ["round", *code_columns(level)], marker)
        if hidden:
            schema["tambon:suppression"] = {
                "threshold": int(spec.disclosure.get("threshold", 5)),
                "marker": marker,
                "columns": [m["name"] for m in measures if m["name"] in hidden],
                **note,
            }
        outputs.append(
            Output(
                name=f"{spec.name}_{level}",
                kind="statistics",
                title={
                    "th": f"{title['th']} สรุประดับ{LEVEL_TH[level]}",
                    "en": f"{title['en']}: {LEVEL_EN[level]} totals",
                },
                description={
                    "th": f"สรุปรวมระดับ{LEVEL_TH[level]} จากข้อมูลราย{noun['th']}ที่ผ่านการตรวจสอบ"
                    f"{_paragraph(note['th'])}\n\n{about['th']}",
                    "en": f"Summed to {LEVEL_EN[level]} level from the validated {noun['en']}."
                    f"{_paragraph(note['en'])}\n\n{about['en']}",
                },
                schema=schema,
                frame=frame,
                gdc={"geo_coverage": LEVEL_TH[level]},
                suppressed=(suppressed or {}).get(level),
                marker=marker,
            )
        )
    if quality is not None and reasons is not None:
        outputs += _quality_outputs(spec, quality, reasons)
    return outputs


def _quality_outputs(spec: DatasetSpec, quality: pd.DataFrame, reasons: pd.DataFrame) -> list[Output]:
    """The quality figures and the quarantine reasons (village-level collections only)."""
    common = common_fields()
    head = [common["round"], common["round_be"]]
    title = spec.title
    quality_fields = [c for c in quality.columns if c not in ("round", "round_be")]
    return [
        Output(
            name=f"{spec.name}_quality",
            kind="statistics",
            title={
                "th": f"คุณภาพ{title['th']} (ความครบถ้วนและความถูกต้อง)",
                "en": f"{title['en']}: data quality (completeness and accuracy)",
            },
            description={
                "th": "ความครบถ้วนและความถูกต้องของข้อมูลที่ได้รับในแต่ละรอบ รายตำบล อำเภอ จังหวัด และประเทศ"
                " ใช้ประกอบการคัดเลือกอำเภอต้นแบบ (หลักเกณฑ์ข้อ 2) และการแก้ไขข้อมูลของอำเภอ (คอลัมน์ correction_*:"
                " แถวที่ส่งคืนให้แก้ไข แก้ไขแล้ว ยังไม่ได้แก้ไข ทันกำหนด และระยะเวลาแก้ไข ว่างในแถวระดับตำบล)",
                "en": "Completeness and accuracy of the data received each round, by tambon, amphoe,"
                " province and nation (criterion 2 of the role-model district selection), and how the district"
                " offices corrected their rows (correction_* columns: rows returned, fixed, still open, on time and"
                " the turnaround; blank on tambon rows).",
            },
            schema=_schema([*head, *(common[c] for c in quality_fields)], ["round", "level", "area_code"]),
            frame=quality,
            gdc={"geo_coverage": LEVEL_TH["tambon"]},
        ),
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
        ),
    ]
