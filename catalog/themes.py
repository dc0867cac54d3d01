"""The catalog's theme groups: which CKAN group each published output belongs to.

Why CKAN groups, made by the publisher: a group is CKAN's own way to gather datasets by
theme (its group pages, the ``groups`` search facet, ``group_list`` for the front page,
DCAT themes), so the front page and the search need nothing of their own. The publisher
already owns every dataset's fields and switches them in one ``package_patch``; the groups
ride along in that same patch, so a dataset is never published without its themes and a
re-run with nothing new makes no call. A separate sync job would be one more thing to run
and to forget.

The table is data (names, Thai and English titles, patterns over output names), so a new
output falls into its theme by its name, and a new theme is a new row.
"""

from __future__ import annotations

from dataclasses import dataclass
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Theme:
    """One CKAN group: ``name`` is its URL name; ``outputs`` are fnmatch patterns over output names."""

    name: str
    title_th: str
    title_en: str
    description_th: str
    description_en: str
    outputs: tuple[str, ...]

    def holds(self, output: str) -> bool:
        return any(fnmatchcase(output, pattern) for pattern in self.outputs)


#: quality outputs belong to the data-quality theme only, whatever else their name matches
QUALITY_PATTERNS = ("*_quality", "*_quality_reasons")

THEMES: tuple[Theme, ...] = (
    Theme(
        "population-villages",
        "ประชากรและหมู่บ้าน",
        "Population and villages",
        "ข้อมูลพื้นฐานหมู่บ้าน ครัวเรือน และประชากร รายหมู่บ้าน ตำบล อำเภอ จังหวัด และทั้งประเทศ",
        "Village basic data: households and population, by village, tambon, amphoe, province and nation.",
        ("village_profile", "village_profile_*"),
    ),
    Theme(
        "infrastructure-services",
        "โครงสร้างพื้นฐานและบริการ",
        "Infrastructure and services",
        "น้ำดื่ม ไฟฟ้า อินเทอร์เน็ต และถนนเข้าหมู่บ้าน จากข้อมูลพื้นฐานหมู่บ้าน",
        "Drinking water, electricity, internet and access roads, from the village basic data.",
        ("village_profile", "village_profile_*"),
    ),
    Theme(
        "basic-needs-poverty",
        "ความจำเป็นพื้นฐานและความยากจน (จปฐ./TPMAP)",
        "Basic needs and poverty (BMN/TPMAP)",
        "ข้อมูลความจำเป็นพื้นฐาน (จปฐ.) รายครัวเรือนสรุปเป็นรายพื้นที่ สำหรับดูแลครัวเรือนเป้าหมายตาม TPMAP",
        "Basic minimum needs survey (BMN, จปฐ.) summarised by area, for reaching TPMAP's target households.",
        ("household_survey", "household_survey_*"),
    ),
    Theme(
        "data-quality",
        "คุณภาพข้อมูล",
        "Data quality",
        "ความครบถ้วน ความถูกต้อง ตำบลที่ยังไม่รายงาน และรายงานคุณภาพข้อมูลของแต่ละรอบ",
        "Completeness, accuracy, tambons not yet reported, and each round's data quality report.",
        QUALITY_PATTERNS,
    ),
    Theme(
        "district-scorecards",
        "ผลการประเมินอำเภอ",
        "District scorecards",
        "การคัดเลือกอำเภอต้นแบบ การประเมินตนเองของอำเภอ และตัวชี้วัดขององค์กรปกครองส่วนท้องถิ่น",
        "Role-model district selection, district self-assessments and local government office indicators.",
        ("role_model_district*", "district_self_assessment*", "local_office_kpi*"),
    ),
)


def themes_of(output: str) -> list[str]:
    """The group names of ``output`` (CKAN dataset names are outputs with hyphens; both are accepted)."""
    output = output.replace("-", "_")
    quality = any(fnmatchcase(output, pattern) for pattern in QUALITY_PATTERNS)
    return [t.name for t in THEMES if t.holds(output) and (not quality or t.outputs == QUALITY_PATTERNS)]


def group_fields(theme: Theme, order: int) -> dict[str, object]:
    """``group_create``'s fields: the Thai title (CKAN's), the English beside it as extras the front page reads."""
    return {
        "name": theme.name,
        "title": theme.title_th,
        "description": f"{theme.description_th}\n\n{theme.description_en}",
        "extras": [
            {"key": "title_en", "value": theme.title_en},
            {"key": "description_en", "value": theme.description_en},
            {"key": "order", "value": str(order)},
        ],
    }
