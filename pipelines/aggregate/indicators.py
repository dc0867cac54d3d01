"""Declared indicators -> SQL: per-unit pass / fail / not applicable, dimensions, and their counts.

A dataset's ``indicators`` (``applies`` and ``passes`` as SQL over a typed row)
and ``dimensions`` (a mapping file) become one relation with a nullable boolean
per indicator (NULL: not applicable) and one flag per measured dimension, and
a list of aggregate measures over it. The disclosure rules for the published
counts (which columns are counts, which sum to which, which figures are
computed from which counts) are derived from the same declaration, so a new
indicator is a new YAML entry and nothing else.
"""

from __future__ import annotations

from catalog.suppression import DisclosureRules
from pipelines.declarations import DatasetSpec, Measure, indicator_measure_texts


def scored_sql(spec: DatasetSpec, source: str) -> str:
    """SELECT over ``source`` adding derived values, indicator results and dimension flags."""
    derived = "".join(f", {d.sql} AS {d.name}" for d in spec.derived)
    inner = f"SELECT *{derived} FROM {source}"
    results = "".join(
        f", CASE WHEN ({i.applies}) THEN coalesce(({i.passes})::BOOLEAN, false) END AS {i.id}" for i in spec.indicators
    )
    scored = f"SELECT *{results} FROM ({inner})"
    flags = [
        f"({' OR '.join(f'coalesce(NOT {i.id}, false)' for i in members)}) AS dim_{d.name}"
        for d, members in spec.measured_dimensions()
    ]
    if not flags:
        return scored
    names = [f"dim_{d.name}" for d, _ in spec.measured_dimensions()]
    return f"SELECT *, ({' OR '.join(names)}) AS failing_any FROM (SELECT *, {', '.join(flags)} FROM ({scored}))"


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


def disclosure_rules(spec: DatasetSpec, measures: list[Measure]) -> DisclosureRules | None:
    """Which published columns are counts, which add up, and which figures are computed from which counts."""
    if not spec.disclosure:
        return None
    names = {m.name for m in measures}
    counts = tuple(m.name for m in measures if m.type == "integer")
    unit = spec.raw.get("unit_noun", {"en": "units"})["en"]
    equations = [(f"{i.id}_surveyed", (f"{i.id}_passed", f"{i.id}_failed")) for i in spec.indicators]
    # Equal columns are equations too: hiding one of two equal cells hides nothing.
    equations += [(f"{unit}_surveyed", (f"{i.id}_surveyed",)) for i in spec.indicators if i.applies.strip() == "true"]
    equations += [
        (f"dim_{d.name}_failing", (f"{members[0].id}_failed",))
        for d, members in spec.measured_dimensions()
        if len(members) == 1
    ]
    derived: dict[str, tuple[str, ...]] = {}
    for i in spec.indicators:
        derived[f"{i.id}_pct_passed"] = (f"{i.id}_passed", f"{i.id}_surveyed")
        derived[f"{i.id}_pct_failed"] = (f"{i.id}_failed", f"{i.id}_surveyed")
    derived[f"{unit}_pct_failing_any"] = (f"{unit}_failing_any", f"{unit}_surveyed")
    for d in spec.derived:
        derived[f"{d.name}_mean"] = (f"{unit}_surveyed",)
    return DisclosureRules(
        threshold=int(spec.disclosure.get("threshold", 5)),
        counts=counts,
        equations=tuple((total, parts) for total, parts in equations if {total, *parts} <= names),
        derived={k: v for k, v in derived.items() if k in names and all(s in names for s in v)},
        zero_is_safe=bool(spec.disclosure.get("zero_is_safe", False)),
    )
