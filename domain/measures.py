"""The aggregate columns a collection's declaration implies: its declared measures, then its indicators' counts.

Column names and SQL are derived here from the declaration (``dataset.yaml``); every title and
description comes from ``datasets/_common/indicator_measures.yaml``. The aggregate stage computes
them (``pipelines/aggregate/tables.py``), the catalog describes and protects them (``catalog/outputs.py``).
"""

from __future__ import annotations

from domain.declarations import DatasetSpec, Measure, indicator_measure_texts


def measures(spec: DatasetSpec) -> list[Measure]:
    """The declared measures, then those the declared indicators imply."""
    return [*spec.measures, *indicator_measures(spec)]


def _pct(part: str, whole: str) -> str:
    return f"round(100.0 * {part} / nullif({whole}, 0), 2)"


def _texts(kind: str, **words: str) -> dict[str, str]:
    """Title and description of one implied column, from the declared templates (never written here)."""
    template = indicator_measure_texts()[kind]
    return {key: " ".join(template[key].split()).format(**words) for key in MEASURE_TEXT_KEYS}


MEASURE_TEXT_KEYS = ("title_th", "title_en", "description_th", "description_en")


def indicator_measures(spec: DatasetSpec) -> list[Measure]:
    """Counts and percentages per indicator and dimension (empty for a dataset without indicators).

    Column names and SQL are logic and live here; every title and description comes from
    ``datasets/_common/indicator_measures.yaml`` filled in with the dataset's own declaration.
    """
    if not spec.indicators:
        return []
    unit = spec.raw.get("unit_noun", {"en": "units", "th": "หน่วย"})
    u = unit["en"]
    noun = {"unit_en": u, "Unit_en": u.capitalize(), "unit_th": unit["th"]}
    out = [Measure(f"{u}_surveyed", "count(*)", "integer", **_texts("units", **noun))]
    for i in spec.indicators:
        words = noun | {
            "number": str(i.number),
            "indicator_en": i.title_en,
            "indicator_th": i.title_th,
            "assessed_en": i.assessed_en or f"every {u[:-1] if u.endswith('s') else u} surveyed",
            "assessed_th": i.assessed_th or f"{unit['th']}ที่สำรวจทุก{unit['th']}",
            "passes_en": i.passes_en or i.passes,
            "passes_th": i.passes_th or i.passes,
        }
        passed, failed = f"count(*) FILTER (WHERE {i.id})", f"count(*) FILTER (WHERE NOT {i.id})"
        out += [
            Measure(f"{i.id}_surveyed", f"count({i.id})", "integer", **_texts("assessed", **words)),
            Measure(f"{i.id}_passed", passed, "integer", **_texts("passed", **words)),
            Measure(f"{i.id}_failed", failed, "integer", **_texts("failed", **words)),
            Measure(f"{i.id}_pct_passed", _pct(passed, f"count({i.id})"), "number", **_texts("pct_passed", **words)),
            Measure(f"{i.id}_pct_failed", _pct(failed, f"count({i.id})"), "number", **_texts("pct_failed", **words)),
        ]
    dimensions = spec.measured_dimensions()
    if dimensions:
        out += [
            Measure(
                f"{u}_failing_any", "count(*) FILTER (WHERE failing_any)", "integer", **_texts("failing_any", **noun)
            ),
            Measure(
                f"{u}_pct_failing_any",
                _pct("count(*) FILTER (WHERE failing_any)", "count(*)"),
                "number",
                **_texts("pct_failing_any", **noun),
            ),
        ]
        for d, members in dimensions:
            words = noun | {
                "dimension_en": d.title_en,
                "dimension_th": d.title_th,
                "numbers": ", ".join(str(i.number) for i in members),
            }
            out.append(
                Measure(
                    f"dim_{d.name}_failing",
                    f"count(*) FILTER (WHERE dim_{d.name})",
                    "integer",
                    **_texts("dimension", **words),
                )
            )
    for d in spec.derived:
        if d.type == "number":
            words = noun | {
                "derived_en": f"{d.title_en[0].lower()}{d.title_en[1:]}",
                "derived_th": d.title_th,
                "derived_about_en": d.description_en or d.sql,
                "derived_about_th": d.description_th or d.sql,
            }
            out.append(Measure(f"{d.name}_mean", f"round(avg({d.name}), 2)", "number", **_texts("mean", **words)))
    return out
