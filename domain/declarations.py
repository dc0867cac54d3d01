"""Dataset declarations: one folder under ``datasets/`` per collection.

A folder holds ``dataset.yaml`` (rules, duplicates policy, targets, aggregates,
catalog metadata) and a Frictionless Table Schema. Everything downstream reads
these objects, never a collection's name, so that a new collection is a new
folder and no new Python.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
DATASETS_DIR = Path(os.environ.get("TAMBON_DATASETS_DIR", REPO_ROOT / "datasets"))

#: Field-level ``privacy`` values that must never leave the pipeline.
NON_PUBLIC = frozenset({"personal", "sensitive", "internal"})

#: What a row's geography field can name, finest first (codes of 8, 6, 4 and 2 digits).
GEOGRAPHY_LEVELS = ("village", "tambon", "amphoe", "province")


class DeclarationError(ValueError):
    """A dataset folder is incomplete or contradicts itself."""


@dataclass(frozen=True)
class Measure:
    """One aggregate column: an SQL expression over the accepted rows."""

    name: str
    sql: str
    type: str
    title_th: str
    title_en: str
    # What the column counts, over which units and how (the data dictionary's answer), declared with the title.
    description_th: str = ""
    description_en: str = ""


@dataclass(frozen=True)
class Indicator:
    """One pass / fail / not-applicable indicator per unit (e.g. a จปฐ. indicator per household).

    ``applies`` selects the units in the indicator's own denominator; ``passes``
    decides among them. Both are SQL over the typed row and the declared ``derived`` values.
    """

    id: str
    number: int
    applies: str
    passes: str
    title_th: str
    title_en: str
    # In words: which units ``applies`` keeps (the denominator) and what ``passes`` asks, for the data dictionary.
    assessed_th: str = ""
    assessed_en: str = ""
    passes_th: str = ""
    passes_en: str = ""


@dataclass(frozen=True)
class Dimension:
    """A group of indicators (TPMAP-style): a unit fails it when it fails any measured member."""

    name: str
    title_th: str
    title_en: str
    numbers: tuple[int, ...]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    folder: Path
    title: dict[str, str]
    description: dict[str, str]
    schema: dict[str, Any]
    geography_field: str
    rules: list[dict[str, Any]]
    duplicates: dict[str, Any]
    quality_targets: dict[str, float]
    aggregate_levels: list[str]
    measures: list[Measure]
    catalog: dict[str, dict[str, Any]]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)
    geography_level: str = "village"  # the registry level a row's geography_field names
    derived: list[Measure] = field(default_factory=list)
    indicators: list[Indicator] = field(default_factory=list)
    dimensions: list[Dimension] = field(default_factory=list)
    disclosure: dict[str, Any] | None = None  # small-cell suppression of published counts
    publish_records: bool = True  # False: unit rows are personal, only aggregates leave

    @property
    def has_quality_figures(self) -> bool:
        """Completeness is counted against the village registry, so only village-level collections have it."""
        return self.geography_level == "village"

    def measured_dimensions(self) -> list[tuple[Dimension, list[Indicator]]]:
        """Dimensions with at least one indicator this collection measures, with those indicators."""
        out = []
        for dimension in self.dimensions:
            members = [i for i in self.indicators if i.number in dimension.numbers]
            if members:
                out.append((dimension, members))
        return out

    @property
    def fields(self) -> list[dict[str, Any]]:
        return self.schema["fields"]

    @property
    def field_names(self) -> list[str]:
        return [f["name"] for f in self.fields]

    def field(self, name: str) -> dict[str, Any]:
        for f in self.fields:
            if f["name"] == name:
                return f
        raise KeyError(name)

    @property
    def public_fields(self) -> list[dict[str, Any]]:
        return [f for f in self.fields if f.get("privacy") not in NON_PUBLIC]

    @property
    def private_field_names(self) -> list[str]:
        return [f["name"] for f in self.fields if f.get("privacy") in NON_PUBLIC]

    @property
    def required_field_names(self) -> list[str]:
        return [f["name"] for f in self.fields if f.get("constraints", {}).get("required")]

    @property
    def primary_key(self) -> list[str]:
        key = self.schema.get("primaryKey", [])
        return [key] if isinstance(key, str) else list(key)


def _expand_measures(raw: list[dict[str, Any]], schema: dict[str, Any]) -> list[Measure]:
    """Turn ``each_value_of`` entries into one measure per enum value."""
    fields = {f["name"]: f for f in schema["fields"]}
    measures: list[Measure] = []
    for item in raw:
        source = item.get("each_value_of")
        if source is None:
            measures.append(Measure(**{k: item[k] for k in Measure.__dataclass_fields__ if k in item}))
            continue
        spec = fields[source]
        labels = spec.get("enum_labels", {})
        for value in spec["constraints"]["enum"]:
            label = labels.get(value)
            if label is None:
                raise DeclarationError(f"{source}: enum value {value!r} has no enum_labels entry")
            literal = value.replace("'", "''")
            if item["kind"] == "percent":
                sql, kind = f"round(100 * avg(({source} = '{literal}')::int), 2)", "number"
            elif item["kind"] == "count":
                sql, kind = f"count(*) FILTER (WHERE {source} = '{literal}')", "integer"
            else:
                raise DeclarationError(f"unknown measure kind {item['kind']!r}")
            words = label.replace("_", " ")
            measures.append(
                Measure(
                    name=item["name"].format(label=label),
                    sql=sql,
                    type=kind,
                    title_th=item["title_th"].format(value=value, label=words),
                    title_en=item["title_en"].format(value=value, label=words),
                    description_th=item.get("description_th", "").format(value=value, label=words),
                    description_en=item.get("description_en", "").format(value=value, label=words),
                )
            )
    return measures


def load_dataset(folder: Path) -> DatasetSpec:
    """Read and cross-check one dataset folder."""
    try:
        raw = yaml.safe_load((folder / "dataset.yaml").read_text(encoding="utf-8"))
        schema = json.loads((folder / raw["schema"]).read_text(encoding="utf-8"))
    except (OSError, KeyError, yaml.YAMLError, json.JSONDecodeError) as exc:
        raise DeclarationError(f"{folder}: cannot read declaration: {exc}") from exc
    names = {f["name"] for f in schema["fields"]}
    geography_field = raw["geography_field"]
    if geography_field not in names:
        raise DeclarationError(f"{folder}: geography_field {geography_field!r} not in schema")
    aggregates = raw.get("aggregates", {})
    level = raw.get("geography_level", "village")
    if level not in GEOGRAPHY_LEVELS:
        raise DeclarationError(f"{folder}: geography_level {level!r} is not one of {GEOGRAPHY_LEVELS}")
    indicators = [Indicator(**item) for item in raw.get("indicators", [])]
    dimensions = []
    if "dimensions" in raw:
        for item in yaml.safe_load((folder / raw["dimensions"]).read_text(encoding="utf-8")):
            numbers = tuple(item.pop("indicators"))
            dimensions.append(Dimension(numbers=numbers, **item))
    return DatasetSpec(
        name=raw["name"],
        folder=folder,
        title=raw["title"],
        description=raw["description"],
        schema=schema,
        geography_field=geography_field,
        rules=raw.get("rules", []),
        duplicates=raw.get("duplicates", {}),
        quality_targets=raw.get("quality_targets", {}),
        aggregate_levels=aggregates.get("levels", []),
        measures=_expand_measures(aggregates.get("measures", []), schema),
        catalog=raw.get("catalog", {}),
        raw=raw,
        geography_level=level,
        derived=[Measure(**item) for item in raw.get("derived", [])],
        indicators=indicators,
        dimensions=dimensions,
        disclosure=raw.get("disclosure"),
        publish_records=bool(raw.get("publish_records", True)),
    )


@cache
def indicator_measure_texts(root: Path = DATASETS_DIR) -> dict[str, dict[str, str]]:
    """Titles and descriptions of the columns that declared indicators imply (``_common/indicator_measures.yaml``).

    Templates, so that the wording of a generated column is data like every other title.
    """
    path = root / "_common" / "indicator_measures.yaml"
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def load_datasets(root: Path = DATASETS_DIR) -> dict[str, DatasetSpec]:
    """Every folder of ``datasets/`` with a ``dataset.yaml`` (``_`` folders are shared data)."""
    specs = {}
    for folder in sorted(root.iterdir()):
        if folder.is_dir() and not folder.name.startswith("_") and (folder / "dataset.yaml").exists():
            spec = load_dataset(folder)
            specs[spec.name] = spec
    return specs
