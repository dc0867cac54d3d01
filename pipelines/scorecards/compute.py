"""Score, rank and pick in DuckDB, with SQL built from the declaration.

The whole computation is one chain of SQL statements over the input tables and the
units (every district or province of the registry, with its inspection region), so
what a scorecard does can be read in the declaration and checked in one query log;
pandas only carries the small result frames out.

Order of work, each step a temp table:

1. ``values``: one row per unit, each criterion's raw value (LEFT JOIN: a unit with
   no row in an input gets NULL there);
2. ``scored``: each value normalised to 0-100 (NULL -> the declared missing score)
   and rounded to the declared precision, its points (score x weight / sum of
   weights) and the total (the sum of the points, 0-100, rounded the same way): a
   reader recomputes the total from the published scores and weights;
3. ``ranked``: for each pick level in declared order, the rank among the level's
   candidates in the unit's group, and whether it is picked. Totals are compared
   rounded to the declared precision (what a reader sees), then the tie-break list,
   which always ends on the unit code, so ranks are unique and runs repeatable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pandas as pd

from domain.frames import as_frame
from domain.rounds import Round
from pipelines.scorecards.declaration import Criterion, Normalise, Scorecard, ScorecardError

#: The columns :func:`score` needs in ``units``.
UNIT_COLUMNS = (
    "unit_code", "unit_name_th", "unit_name_en",
    "province_code", "province_name_th", "province_name_en", "region",
)  # fmt: skip


@dataclass
class ScoreResult:
    """What a scorecard computes for a round (frames keyed by ``unit_code``; see outputs.py for the published form)."""

    card: Scorecard
    round: Round
    ranking: pd.DataFrame  # one row per unit: values, scores, points, total, ranks, picks
    criteria: pd.DataFrame  # one row per unit and criterion (long form of the same figures)
    picks: pd.DataFrame  # one row per pick: level, group, place, unit
    notes: list[str] = field(default_factory=list)


def ident(name: str) -> str:
    """A quoted SQL identifier (column names come from declarations, never trusted as SQL)."""
    return '"' + str(name).replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A SQL literal for a declared filter value."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


def normalise_sql(norm: Normalise, value: str) -> str:
    """SQL for the 0-100 score of ``value``; NULL stays NULL (the caller applies the missing score).

    DuckDB's least/greatest skip NULLs, so the NULL case is handled here once rather
    than trusted to each method's arithmetic.
    """
    return f"(CASE WHEN {value} IS NULL THEN NULL ELSE {_normalise_sql(norm, value)} END)"


def _normalise_sql(norm: Normalise, value: str) -> str:
    """The method's arithmetic for a non-NULL ``value``:

    * ``percent``: the value as is, held to 0-100;
    * ``linear {min, max}``: min -> 0, max -> 100, held to 0-100 (``better: lower`` reverses);
    * ``levels {thresholds}``: the number of thresholds reached (value >= t; with
      ``better: lower``, value <= t) out of all, times 100: five thresholds give levels
      0-5, i.e. steps of 20;
    * ``level_scale {max}``: a level already reported (1-5) times 100 / max (x20 for 5);
    * ``deadline_days {limit}``: 100 when done within ``limit`` days, else 0.
    """
    p = norm.params
    lower = p.get("better", "higher") == "lower"
    if norm.method == "percent":
        return f"least(greatest({value}, 0.0), 100.0)"
    if norm.method == "linear":
        low, high = float(p["min"]), float(p["max"])
        scaled = f"least(greatest(100.0 * ({value} - {low!r}) / {high - low!r}, 0.0), 100.0)"
        return f"(100.0 - {scaled})" if lower else scaled
    if norm.method == "levels":
        thresholds = [float(t) for t in p["thresholds"]]
        op = "<=" if lower else ">="
        reached = " + ".join(f"({value} {op} {t!r})::INTEGER" for t in thresholds)
        return f"(100.0 * ({reached}) / {len(thresholds)})"
    if norm.method == "level_scale":
        top = float(p["max"])
        return f"(100.0 * least(greatest({value}, 0.0), {top!r}) / {top!r})"
    if norm.method == "deadline_days":
        return f"(CASE WHEN {value} <= {float(p['limit'])!r} THEN 100.0 ELSE 0.0 END)"
    raise ScorecardError(f"unknown normalise method {norm.method!r}")


def normalise_values(norm: Normalise, values: Sequence[float | None]) -> list[float | None]:
    """Run :func:`normalise_sql` over plain values (the same SQL the scorecard runs; for tests and docs)."""
    con = duckdb.connect()
    con.register("v", pd.DataFrame({"x": pd.array(list(values), dtype="Float64")}))
    rows = con.execute(f"SELECT {normalise_sql(norm, 'x::DOUBLE')} FROM v").fetchall()
    return [None if r[0] is None else float(r[0]) for r in rows]


def _value_sql(criterion: Criterion) -> str:
    """The criterion's raw value from its input row: one column, or a declared combination.

    Inside a combination a NULL figure counts as 0 (a district that sent nothing has
    no accuracy figure, and no data earns nothing); a missing row is handled later.
    """
    columns = [f"CAST({ident(c)} AS DOUBLE)" for c in criterion.columns]
    if criterion.combine == "single":
        return columns[0]
    parts = [f"coalesce({c}, 0.0)" for c in columns]
    # ``also_counts`` switched on: a figure taken in when the unit has one (a district with nothing to
    # correct has no on-time-corrections figure; it is scored on the others, not given 0)
    extras = [f"CAST({ident(c)} AS DOUBLE)" for c in criterion.also]
    if criterion.combine == "mean":
        total = " + ".join([*parts, *(f"coalesce({e}, 0.0)" for e in extras)])
        count = " + ".join([str(len(parts)), *(f"({e} IS NOT NULL)::INTEGER" for e in extras)])
        return f"(({total}) / ({count}))"
    if criterion.combine == "sum":
        return f"({' + '.join([*parts, *(f'coalesce({e}, 0.0)' for e in extras)])})"
    # least/greatest skip NULLs: a blank extra leaves the others to decide
    return f"{criterion.combine.replace('min', 'least').replace('max', 'greatest')}({', '.join([*parts, *extras])})"


def _where(conditions: dict[str, Any]) -> str:
    return " AND ".join(f"{ident(k)} = {literal(v)}" for k, v in conditions.items()) or "TRUE"


def _group(within: str) -> str:
    return {"province": "province_code", "region": "region", "nation": "'TH'"}[within]


def _order(card: Scorecard) -> str:
    p = card.precision
    terms = [f"round(total_score, {p}) DESC"]
    for t in card.tie_break:
        column = f"round({ident(t.criterion + '_score')}, {p})" if t.criterion else "unit_code"
        terms.append(f"{column} {t.order.upper()}")
    return ", ".join(terms)


def _check_input(card: Scorecard, name: str, frame: pd.DataFrame) -> None:
    spec = card.inputs[name]
    optional = card.optional_columns(name)
    missing = [c for c in (spec.key, *spec.columns, *spec.filter) if c not in frame.columns and c not in optional]
    if missing:
        raise ScorecardError(
            f"{card.name}: input {name!r} ({spec.output}) has no column(s) {missing}; it has {list(frame.columns)}"
        )


def score(
    card: Scorecard,
    round_: Round,
    inputs: dict[str, pd.DataFrame],
    units: pd.DataFrame,
) -> ScoreResult:
    """Score every unit in ``units`` for the round, rank it and make the declared picks.

    ``inputs``: one frame per declared input (as :func:`pipelines.scorecards.inputs.load_inputs`
    returns them); ``units``: :data:`UNIT_COLUMNS`, one row per district or province
    (:func:`pipelines.scorecards.inputs.units_for` builds it from the registry).
    """
    for name in card.inputs:
        if name not in inputs:
            raise ScorecardError(f"{card.name}: input {name!r} ({card.inputs[name].output}) was not given")
        _check_input(card, name, inputs[name])
    missing = [c for c in UNIT_COLUMNS if c not in units.columns]
    if missing:
        raise ScorecardError(f"{card.name}: units frame lacks {missing}")
    if units["unit_code"].duplicated().any():
        raise ScorecardError(f"{card.name}: units frame has a unit twice")

    con = duckdb.connect()
    units = units[list(UNIT_COLUMNS)].astype({"unit_code": str, "province_code": str})
    con.register("units", units.assign(region=units["region"].astype("Int64")))
    for name, frame in inputs.items():
        if name in card.inputs:
            con.register(f"input_{name}", frame)

    # 1. raw values, one CTE per criterion
    ctes, joins, picks_sql = [], [], []
    for c in card.criteria:
        spec = card.inputs[c.input]
        conditions = {**spec.filter, **c.where}
        ctes.append(
            f"v_{c.id} AS (SELECT CAST({ident(spec.key)} AS VARCHAR) AS unit_code, {_value_sql(c)} AS value "
            f"FROM input_{c.input} WHERE {_where(conditions)})"
        )
        doubled = con.execute(
            f"WITH {ctes[-1]} SELECT unit_code, count(*) AS n FROM v_{c.id} GROUP BY 1 HAVING n > 1 ORDER BY 1 LIMIT 5"
        ).fetchall()
        if doubled:
            raise ScorecardError(
                f"{card.name}: criterion {c.id!r}: input {c.input!r} ({spec.output}) has more than one row per unit "
                f"for {[d[0] for d in doubled]}; the published table should hold one row per unit"
            )
        joins.append(f"LEFT JOIN v_{c.id} ON v_{c.id}.unit_code = u.unit_code")
        picks_sql.append(f"v_{c.id}.value AS {ident(c.id + '_value')}, v_{c.id}.unit_code IS NOT NULL AS has_{c.id}")
    con.execute(
        f"CREATE TEMP TABLE raw_values AS WITH {', '.join(ctes)} "
        f"SELECT u.*, {', '.join(picks_sql)} FROM units u {' '.join(joins)}"
    )

    # 2. scores, points, total
    parts = []
    for c in card.criteria:
        value = ident(c.id + "_value")
        share = card.share(c)
        normalised = f"coalesce({normalise_sql(c.normalise, value)}, {card.missing_score!r})"
        parts.append(f"round({normalised}, {card.precision}) AS {ident(c.id + '_score')}")
        parts.append(f"{100.0 * share!r} AS {ident(c.id + '_weight_pct')}")
    con.execute(f"CREATE TEMP TABLE scored0 AS SELECT *, {', '.join(parts)} FROM raw_values")
    points = [f"{ident(c.id + '_score')} * {card.share(c)!r} AS {ident(c.id + '_points')}" for c in card.criteria]
    con.execute(f"CREATE TEMP TABLE scored1 AS SELECT *, {', '.join(points)} FROM scored0")
    total = " + ".join(ident(c.id + "_points") for c in card.criteria)
    codes = ", ".join(literal(code) for code in sorted(card.exclude))
    excluded = f"unit_code IN ({codes})" if codes else "FALSE"
    zero_rule = f"round(total_score, {card.precision}) > 0" if card.exclude_zero_total else "TRUE"
    con.execute(
        f"""
        CREATE TEMP TABLE ranked AS
        SELECT *, NOT ({excluded}) AND {zero_rule} AS eligible, {excluded} AS excluded
        FROM (SELECT *, round({total}, {card.precision}) AS total_score FROM scored1)
        """
    )

    # 3. ranks and picks, level by level (a level "among" another only sees its picks)
    order = _order(card)
    for level in card.picks:
        w, group = level.within, _group(level.within)
        candidate = "eligible" if level.among is None else f"eligible AND picked_in_{level.among}"
        con.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE ranked AS
            SELECT *, (rank_in_{w} IS NOT NULL AND rank_in_{w} <= {level.count}) AS picked_in_{w}
            FROM (
                SELECT *,
                       CASE WHEN {candidate} THEN row_number() OVER (
                           PARTITION BY {group}, ({candidate}) ORDER BY {order}) END AS rank_in_{w},
                       CASE WHEN {candidate} THEN count(*) OVER (
                           PARTITION BY {group}, ({candidate}), round(total_score, {card.precision})) > 1
                       END AS tied_in_{w},
                       count(*) FILTER (WHERE {candidate}) OVER (PARTITION BY {group}) AS candidates_in_{w}
                FROM ranked
            )
            """
        )
    ranking = as_frame(con.execute(f"SELECT * FROM ranked ORDER BY province_code, {order}"))
    result = ScoreResult(card, round_, ranking, _long(card, ranking), _picks(card, ranking))
    for name, frame in inputs.items():
        if name in card.inputs and frame.empty:
            result.notes.append(f"input {name!r} ({card.inputs[name].output}) is empty: its criteria score 0")
    return result


def _long(card: Scorecard, ranking: pd.DataFrame) -> pd.DataFrame:
    """One row per unit and criterion: the same figures as the wide ranking, for filtering by criterion."""
    frames = []
    base = ["unit_code", "unit_name_th", "unit_name_en", "province_code", "province_name_th", "province_name_en"]
    for c in card.criteria:
        frame = ranking[base].copy()
        frame["criterion_no"] = c.no
        frame["criterion_id"] = c.id
        frame["criterion_title_th"] = c.title_th
        frame["criterion_title_en"] = c.title_en
        frame["normalise_method"] = c.normalise.method
        frame["has_data"] = ranking[f"has_{c.id}"].astype(bool)
        frame["value"] = ranking[f"{c.id}_value"]
        frame["score"] = ranking[f"{c.id}_score"]
        frame["weight_pct"] = ranking[f"{c.id}_weight_pct"]
        frame["points"] = ranking[f"{c.id}_points"]
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).sort_values(["unit_code", "criterion_no"], ignore_index=True)


def _picks(card: Scorecard, ranking: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for level in card.picks:
        w = level.within
        chosen = ranking[ranking[f"picked_in_{w}"].fillna(False).astype(bool)]
        for _, row in chosen.iterrows():
            if w == "province":
                group, name_th, name_en = row["province_code"], row["province_name_th"], row["province_name_en"]
            elif w == "region":
                n = int(row["region"])
                group, name_th, name_en = str(n), f"เขตตรวจราชการที่ {n}", f"Inspection region {n}"
            else:
                group, name_th, name_en = "TH", "ประเทศไทย", "Thailand"
            rows.append(
                {
                    "within": w,
                    "among": level.among or "all",
                    "group_code": group,
                    "group_name_th": name_th,
                    "group_name_en": name_en,
                    "place": int(row[f"rank_in_{w}"]),
                    "candidates": int(row[f"candidates_in_{w}"]),
                    "unit_code": row["unit_code"],
                    "unit_name_th": row["unit_name_th"],
                    "unit_name_en": row["unit_name_en"],
                    "province_code": row["province_code"],
                    "province_name_th": row["province_name_th"],
                    "province_name_en": row["province_name_en"],
                    "region": int(row["region"]),
                    "total_score": float(row["total_score"]),
                    "tied": bool(row[f"tied_in_{w}"]),
                }
            )
    columns = [
        "within", "among", "group_code", "group_name_th", "group_name_en", "place", "candidates",
        "unit_code", "unit_name_th", "unit_name_en", "province_code", "province_name_th", "province_name_en",
        "region", "total_score", "tied",
    ]  # fmt: skip
    order = {p.within: i for i, p in enumerate(card.picks)}
    frame = pd.DataFrame(rows, columns=columns)
    if frame.empty:
        return frame
    frame["_order"] = frame["within"].map(order)
    key = frame["group_code"].where(frame["within"] != "region", frame["group_code"].str.zfill(2))
    frame["_key"] = key
    return frame.sort_values(["_order", "_key", "place"], ignore_index=True).drop(columns=["_order", "_key"])
