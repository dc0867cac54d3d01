"""Scorecards as data: one YAML file per scorecard under ``scorecards/``.

A scorecard says which published tables feed it, which criteria it scores and how
each becomes 0-100, their weights, the unit scored, how ties are broken and how
winners are picked. Nothing in the code names a criterion, so the people who own a
selection (DOPA's role-model districts, DLA's provincial offices) change it by
editing a file, and the change is reviewed as a diff of data.

Everything is checked when the file is loaded, with messages that name the file and
the entry, because a wrong weight or a misspelt column found only at publishing
time would mean a wrong published ranking or a failed monthly run.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from domain.declarations import REPO_ROOT

SCORECARDS_DIR = Path(os.environ.get("TAMBON_SCORECARDS_DIR", REPO_ROOT / "scorecards"))

UNITS = ("amphoe", "province")
#: Where a pick can be made, per unit: a province cannot be picked "within its province".
PICK_SCOPES = {"amphoe": ("province", "region", "nation"), "province": ("region", "nation")}
COMBINES = ("mean", "sum", "min", "max")
KINDS = ("percent", "count", "level", "deadline", "score")
_ID = re.compile(r"^[a-z][a-z0-9_]{0,40}$")


class ScorecardError(ValueError):
    """A scorecard declaration is incomplete or contradicts itself (the message says where)."""


@dataclass(frozen=True)
class Input:
    """A published table read for the round: ``output`` by its published name."""

    name: str
    output: str
    key: str
    columns: tuple[str, ...]
    filter: dict[str, Any] = field(default_factory=dict)
    required: bool = True


@dataclass(frozen=True)
class Normalise:
    """How a raw value becomes a 0-100 score (see :func:`pipelines.scorecards.compute.normalise_sql`)."""

    method: str  # percent | linear | levels | level_scale | deadline_days
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Criterion:
    id: str
    no: int
    title_th: str
    title_en: str
    weight: float
    input: str
    columns: tuple[str, ...]
    combine: str  # "single" for one column
    where: dict[str, Any]
    normalise: Normalise
    kind: str = "score"
    #: ``source.also_counts`` switched on: columns combined with ``columns`` when the unit has a figure there
    #: (a blank one is left out of the combination rather than counted as 0)
    also: tuple[str, ...] = ()
    #: ``source.also_counts`` switched off: declared, not read (an older round may not publish them)
    also_off: tuple[str, ...] = ()


@dataclass(frozen=True)
class TieBreak:
    """One ordering step after the total: a criterion's score or the unit's code."""

    criterion: str | None
    field: str | None
    order: str  # asc | desc


@dataclass(frozen=True)
class PickLevel:
    within: str  # province | region | nation
    count: int
    among: str | None  # None: every eligible unit of the group; else the picks of that earlier level


@dataclass(frozen=True)
class Scorecard:
    name: str
    path: Path
    title: dict[str, str]
    description: dict[str, str]
    unit: str
    inputs: dict[str, Input]
    criteria: tuple[Criterion, ...]
    missing_score: float
    precision: int
    tie_break: tuple[TieBreak, ...]
    picks: tuple[PickLevel, ...]
    exclude_zero_total: bool
    exclude: frozenset[str]
    exclude_reason: dict[str, str]
    catalog: dict[str, Any]
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def total_weight(self) -> float:
        return sum(c.weight for c in self.criteria)

    def share(self, criterion: Criterion) -> float:
        """The criterion's part of the total (weights are relative, the total is 0-100)."""
        return criterion.weight / self.total_weight

    def optional_columns(self, input_name: str) -> set[str]:
        """Columns of an input only switched-off ``also_counts`` name: a published table may lack them."""
        read = {c for cr in self.criteria if cr.input == input_name for c in (*cr.columns, *cr.also, *cr.where)}
        off = {c for cr in self.criteria if cr.input == input_name for c in cr.also_off}
        return off - read

    def criterion(self, id_: str) -> Criterion:
        for c in self.criteria:
            if c.id == id_:
                return c
        raise KeyError(id_)

    @property
    def gdc(self) -> dict[str, Any]:
        """Thai GDC fields for every table the scorecard publishes (all are statistics)."""
        return dict(self.catalog)


# --------------------------------------------------------------------------- parsing


def _need(entry: dict[str, Any], key: str, where: str) -> Any:
    if not isinstance(entry, dict) or key not in entry or entry[key] in (None, ""):
        raise ScorecardError(f"{where}: '{key}' is required")
    return entry[key]


def _bilingual(raw: dict[str, Any], key: str, where: str) -> dict[str, str]:
    value = _need(raw, key, where)
    if not isinstance(value, dict) or not value.get("th") or not value.get("en"):
        raise ScorecardError(f"{where}: '{key}' needs both 'th' and 'en'")
    return {"th": str(value["th"]).strip(), "en": str(value["en"]).strip()}


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScorecardError(f"{where}: must be a number, got {value!r}")
    return float(value)


def _normalise(raw: Any, where: str) -> Normalise:
    if not isinstance(raw, dict) or "method" not in raw:
        raise ScorecardError(f"{where}: 'normalise' needs a 'method'")
    method = raw["method"]
    params = {k: v for k, v in raw.items() if k != "method"}
    better = params.get("better", "higher")
    if better not in ("higher", "lower"):
        raise ScorecardError(f"{where}: 'better' must be 'higher' or 'lower', got {better!r}")
    if method == "percent":
        pass
    elif method == "linear":
        low, high = _number(params.get("min"), f"{where}.min"), _number(params.get("max"), f"{where}.max")
        if high <= low:
            raise ScorecardError(f"{where}: linear needs max > min, got min={low} max={high}")
    elif method == "levels":
        thresholds = params.get("thresholds")
        if not isinstance(thresholds, list) or not thresholds:
            raise ScorecardError(f"{where}: levels needs a non-empty 'thresholds' list")
        values = [_number(t, f"{where}.thresholds") for t in thresholds]
        ordered = sorted(values, reverse=better == "lower")
        if values != ordered or len(set(values)) != len(values):
            direction = "decreasing" if better == "lower" else "increasing"
            raise ScorecardError(f"{where}: thresholds must be strictly {direction} (better: {better}), got {values}")
    elif method == "level_scale":
        if _number(params.get("max"), f"{where}.max") <= 0:
            raise ScorecardError(f"{where}: level_scale needs max > 0")
    elif method == "deadline_days":
        if _number(params.get("limit"), f"{where}.limit") <= 0:
            raise ScorecardError(f"{where}: deadline_days needs limit > 0")
    else:
        raise ScorecardError(
            f"{where}: unknown normalise method {method!r} (percent, linear, levels, level_scale, deadline_days)"
        )
    return Normalise(method, params)


def _inputs(raw: Any, where: str) -> dict[str, Input]:
    if not isinstance(raw, dict) or not raw:
        raise ScorecardError(f"{where}: 'inputs' must map names to published tables")
    out = {}
    for name, spec in raw.items():
        at = f"{where}: input {name!r}"
        columns = _need(spec, "columns", at)
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise ScorecardError(f"{at}: 'columns' must be a list of column names")
        filters = spec.get("filter", {}) or {}
        if not isinstance(filters, dict):
            raise ScorecardError(f"{at}: 'filter' must map columns to values")
        out[name] = Input(
            name=name,
            output=str(_need(spec, "output", at)),
            key=str(_need(spec, "key", at)),
            columns=tuple(columns),
            filter=dict(filters),
            required=bool(spec.get("required", True)),
        )
    return out


def _criteria(raw: Any, inputs: dict[str, Input], where: str) -> tuple[Criterion, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScorecardError(f"{where}: 'criteria' must be a non-empty list")
    seen: set[str] = set()
    out = []
    for index, entry in enumerate(raw, start=1):
        id_ = str(_need(entry, "id", f"{where}: criterion #{index}"))
        at = f"{where}: criterion {id_!r}"
        if not _ID.match(id_):
            raise ScorecardError(f"{at}: id must be lower-case letters, digits and _ (it names columns)")
        if id_ in seen:
            raise ScorecardError(f"{at}: criterion ids must be unique ({id_!r} is used twice)")
        seen.add(id_)
        weight = _number(_need(entry, "weight", at), f"{at}.weight")
        if weight <= 0:
            raise ScorecardError(f"{at}: weight must be positive, got {weight:g}")
        source = _need(entry, "source", at)
        input_name = _need(source, "input", f"{at}.source")
        if input_name not in inputs:
            raise ScorecardError(f"{at}: source input {input_name!r} is not declared in 'inputs' ({sorted(inputs)})")
        if "column" in source:
            columns, combine = (source["column"],), "single"
        else:
            columns = tuple(_need(source, "columns", f"{at}.source"))
            combine = source.get("combine", "mean")
            if combine not in COMBINES:
                raise ScorecardError(f"{at}: combine must be one of {COMBINES}, got {combine!r}")
        where_ = source.get("where", {}) or {}
        declared = inputs[input_name].columns
        switches = source.get("also_counts", {}) or {}
        if not isinstance(switches, dict) or not all(isinstance(v, bool) for v in switches.values()):
            raise ScorecardError(f"{at}: also_counts must map columns to true or false, got {switches!r}")
        if switches and combine == "single":
            raise ScorecardError(f"{at}: also_counts needs 'columns' and a 'combine', not a single 'column'")
        also = tuple(c for c, on in switches.items() if on)
        also_off = tuple(c for c, on in switches.items() if not on)
        for column in (*columns, *where_, *switches):
            if column not in declared:
                raise ScorecardError(
                    f"{at}: column {column!r} is not among input {input_name!r}'s columns {list(declared)}"
                )
        kind = entry.get("kind", "score")
        if kind not in KINDS:
            raise ScorecardError(f"{at}: kind must be one of {KINDS}, got {kind!r}")
        out.append(
            Criterion(
                id=id_,
                no=int(entry.get("no", index)),
                title_th=str(_need(entry, "title_th", at)),
                title_en=str(_need(entry, "title_en", at)),
                weight=weight,
                input=input_name,
                columns=tuple(columns),
                combine=combine,
                where=dict(where_),
                normalise=_normalise(_need(entry, "normalise", at), f"{at}.normalise"),
                kind=kind,
                also=also,
                also_off=also_off,
            )
        )
    return tuple(out)


def _tie_break(raw: Any, criteria: tuple[Criterion, ...], where: str) -> tuple[TieBreak, ...]:
    ids = {c.id for c in criteria}
    out = []
    for entry in raw or []:
        order = entry.get("order", "desc") if isinstance(entry, dict) else None
        if order not in ("asc", "desc"):
            raise ScorecardError(f"{where}: tie_break entry {entry!r}: order must be 'asc' or 'desc'")
        if "criterion" in entry:
            if entry["criterion"] not in ids:
                raise ScorecardError(f"{where}: tie_break names unknown criterion {entry['criterion']!r}")
            out.append(TieBreak(entry["criterion"], None, order))
        elif entry.get("field") == "unit_code":
            out.append(TieBreak(None, "unit_code", order))
        else:
            raise ScorecardError(f"{where}: tie_break entry {entry!r} needs 'criterion' or 'field: unit_code'")
    if not any(t.field == "unit_code" for t in out):
        # The code is unique: ending on it makes every rank unique and every run give the same picks.
        out.append(TieBreak(None, "unit_code", "asc"))
    return tuple(out)


def _picks(raw: Any, unit: str, where: str) -> tuple[PickLevel, ...]:
    levels = _need(raw, "levels", f"{where}: picks")
    if not isinstance(levels, list) or not levels:
        raise ScorecardError(f"{where}: picks.levels must be a non-empty list")
    out: list[PickLevel] = []
    for entry in levels:
        within = _need(entry, "within", f"{where}: picks")
        if within not in PICK_SCOPES[unit]:
            raise ScorecardError(f"{where}: a {unit} cannot be picked within {within!r} (use {PICK_SCOPES[unit]})")
        if within in (p.within for p in out):
            raise ScorecardError(f"{where}: picks within {within!r} declared twice")
        count = entry.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ScorecardError(f"{where}: picks within {within!r}: count must be a positive integer")
        among = entry.get("among")
        if among is not None and among not in (p.within for p in out):
            raise ScorecardError(
                f"{where}: picks within {within!r} among {among!r}: 'among' must name an earlier pick level"
            )
        out.append(PickLevel(within, count, among))
    return tuple(out)


def parse_scorecard(raw: dict[str, Any], path: Path) -> Scorecard:
    """Build a :class:`Scorecard` from parsed YAML, checking everything that can be checked alone."""
    where = str(path)
    if not isinstance(raw, dict):
        raise ScorecardError(f"{where}: a scorecard is a mapping")
    name = str(_need(raw, "name", where))
    if not _ID.match(name):
        raise ScorecardError(f"{where}: name must be lower-case letters, digits and _ (it names published tables)")
    unit = _need(raw, "unit", where)
    if unit not in UNITS:
        raise ScorecardError(f"{where}: unit must be one of {UNITS}, got {unit!r}")
    inputs = _inputs(raw.get("inputs"), where)
    criteria = _criteria(raw.get("criteria"), inputs, where)
    picks_raw = _need(raw, "picks", where)
    exclude = picks_raw.get("exclude", []) or []
    catalog = _need(raw, "catalog", where)
    if catalog.get("data_type") != "ข้อมูลสถิติ":
        raise ScorecardError(f"{where}: catalog.data_type must be ข้อมูลสถิติ (a scorecard publishes statistics)")
    precision = raw.get("precision", 2)
    if isinstance(precision, bool) or not isinstance(precision, int) or not 0 <= precision <= 6:
        raise ScorecardError(f"{where}: precision must be an integer 0-6")
    reason = picks_raw.get("exclude_reason") or {"th": "", "en": ""}
    if exclude and not (reason.get("th") and reason.get("en")):
        raise ScorecardError(f"{where}: picks.exclude needs an exclude_reason with 'th' and 'en'")
    return Scorecard(
        name=name,
        path=path,
        title=_bilingual(raw, "title", where),
        description=_bilingual(raw, "description", where),
        unit=unit,
        inputs=inputs,
        criteria=criteria,
        missing_score=_number(raw.get("missing_score", 0), f"{where}: missing_score"),
        precision=precision,
        tie_break=_tie_break(raw.get("tie_break"), criteria, where),
        picks=_picks(picks_raw, unit, where),
        exclude_zero_total=bool(picks_raw.get("exclude_zero_total", True)),
        exclude=frozenset(str(c) for c in exclude),
        exclude_reason={"th": str(reason.get("th", "")), "en": str(reason.get("en", ""))},
        catalog=dict(catalog),
        raw=raw,
    )


def load_scorecard(path: Path | str, known_outputs: dict[str, set[str] | None] | None = None) -> Scorecard:
    """Read and check one scorecard file.

    ``known_outputs`` maps each published output name to its public columns (or None
    when they are not known up front); when given, every input must name one of them
    and use only those columns. :func:`known_outputs` builds it from ``datasets/``.
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ScorecardError(f"{path}: cannot read scorecard: {exc}") from exc
    card = parse_scorecard(raw, path)
    if known_outputs is not None:
        check_inputs(card, known_outputs)
    return card


def check_inputs(card: Scorecard, known_outputs: dict[str, set[str] | None]) -> None:
    """Every input must be a table the pipeline publishes, read through public columns only."""
    for spec in card.inputs.values():
        if spec.output not in known_outputs:
            raise ScorecardError(
                f"{card.path}: input {spec.name!r} reads {spec.output!r}, which no dataset publishes "
                f"(known: {', '.join(sorted(known_outputs))})"
            )
        columns = known_outputs[spec.output]
        if columns is None:
            continue
        for column in (spec.key, *spec.columns, *spec.filter):
            if column not in columns:
                raise ScorecardError(
                    f"{card.path}: input {spec.name!r}: {spec.output!r} publishes no column {column!r}"
                    " (internal and personal fields are never published)"
                )


def known_outputs() -> dict[str, set[str] | None]:
    """Published output names from ``datasets/``, with public columns for record tables.

    The record table of a collection carries its public fields plus the geography the
    pipeline adds; derived tables (aggregates, quality) are listed without columns,
    since their columns are decided in code (catalog/outputs.py) and checked when read.
    """
    from domain.declarations import load_datasets
    from domain.geography import unit_geography

    out: dict[str, set[str] | None] = {}
    for spec in load_datasets().values():
        geography, _ = unit_geography(spec.geography_level, spec.geography_field)
        if spec.publish_records:
            out[spec.name] = {"round", "round_be", *geography, *(f["name"] for f in spec.public_fields)}
        if spec.has_quality_figures:
            out[f"{spec.name}_quality"] = None
            out[f"{spec.name}_quality_reasons"] = None
        for level_name in spec.aggregate_levels:
            out[f"{spec.name}_{level_name}"] = None
    return out


def load_scorecards(root: Path = SCORECARDS_DIR, check: bool = True) -> dict[str, Scorecard]:
    """Every ``*.yaml`` in ``scorecards/``, checked against what ``datasets/`` publishes."""
    known = known_outputs() if check else None
    cards = {}
    for path in sorted(Path(root).glob("*.yaml")):
        card = load_scorecard(path, known)
        if card.name in cards:
            raise ScorecardError(f"{path}: scorecard name {card.name!r} is also used by {cards[card.name].path}")
        cards[card.name] = card
    return cards
