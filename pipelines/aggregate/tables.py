"""The public tables of a round, computed in DuckDB from the validated rows.

* records: accepted rows, public fields only, with their geography, sorted by code;
* one aggregate table per declared level, with the declared measures (and the
  declared indicators' counts);
* quality figures (completeness, accuracy, timeliness) per level, and quarantine reasons per level.

Every input is a Parquet file of the round's work area, read by DuckDB as a
view: a national household round never has to fit in a pandas frame.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from domain.declarations import DatasetSpec
from domain.frames import as_frame
from domain.geography import LEVEL_COLUMNS, LEVELS, Geography, code_columns, unit_geography
from domain.measures import measures
from domain.rounds import Round
from domain.work import ROW_ID_STRIDE, WorkArea, write_atomic
from pipelines.aggregate.indicators import scored_sql
from validation.schema_sql import DUCKDB_THREADS, ident, lit


def connect(geography: Geography, spill_to: Path | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the registry views; big joins spill to ``spill_to`` rather than grow.

    DuckDB makes the spill folder when it first spills and removes it when the connection closes: made
    here, it was left behind empty by every run that did not spill."""
    config: dict[str, object] = {"memory_limit": "4GB", "preserve_insertion_order": False}
    if os.environ.get(DUCKDB_THREADS):
        config["threads"] = int(os.environ[DUCKDB_THREADS])
    con = duckdb.connect(config=config)
    con.execute("SET enable_progress_bar = false")  # a session's own setting: a worker's log is no terminal
    if spill_to is not None:
        spill_to.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"SET temp_directory = '{spill_to}'")
    geography.register(con)
    return con


def register_work(con: duckdb.DuckDBPyConnection, work: WorkArea, *names: str) -> None:
    """Views over the work area's Parquet tables, under their own names."""
    for name in names:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM read_parquet('{work.path(name)}')")


def _round_columns(round_: Round) -> str:
    return f"'{round_.key}' AS round, '{round_.be_key}' AS round_be"


def register_units(con: duckdb.DuckDBPyConnection, spec: DatasetSpec) -> None:
    """View ``units``: every accepted row with its geography, derived values and indicator results.

    Needs the ``accepted`` view. A view, not a table: a part's validation writes the columns of it that the
    national steps read (:func:`unit_columns`), once, and the others are never computed.
    """
    code = spec.geography_field
    columns, join = unit_geography(spec.geography_level, code)
    geo = "".join(f", g.{c}" for c in columns)
    village = ""
    if spec.geography_level == "village":
        village = ", v.village_name AS village_name_th"
        join += f" LEFT JOIN villages v ON v.village_code = a.{code}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW unit_rows AS SELECT a.*{geo}{village} FROM accepted a {join}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW units AS {scored_sql(spec, 'unit_rows')}")


def unit_columns(con: duckdb.DuckDBPyConnection, spec: DatasetSpec) -> list[str]:
    """The columns of ``units`` the national steps read, in its order: the row id, the geography of every
    aggregate level, the measures' columns and (when records are published) the records' columns.

    A part's units are written with these only: half the columns, a fifth of the bytes of a household
    part, and no personal field (citizen ID, name) copied where no step reads it.
    """
    wanted = {"_row_id", *(c for level in spec.aggregate_levels for c in LEVEL_COLUMNS[level])}
    wanted |= _columns_read(con, [m.sql for m in measures(spec)])
    if spec.publish_records:
        wanted |= {*unit_geography(spec.geography_level, spec.geography_field)[0], *spec.primary_key}
        wanted |= {spec.geography_field, *(f["name"] for f in spec.public_fields)}
    return [r[0] for r in con.execute("DESCRIBE units").fetchall() if r[0] in wanted]


def _columns_read(con: duckdb.DuckDBPyConnection, expressions: list[str]) -> set[str]:
    """The column names SQL expressions refer to, from DuckDB's own parse tree of them (a declared measure
    is any SQL: no pattern of ours could tell its column names from its function names)."""
    if not expressions:
        return set()
    tree = con.execute("SELECT json_serialize_sql(?)", [f"SELECT {', '.join(expressions)}"]).fetchone()[0]
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("class") == "COLUMN_REF":
                found.add(node["column_names"][-1])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(tree))
    return found


def records(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, round_: Round) -> pd.DataFrame:
    """The public record table: geography columns and public fields, sorted by key (needs ``units``)."""
    columns, _ = unit_geography(spec.geography_level, spec.geography_field)
    public = [f["name"] for f in spec.public_fields]
    order = ", ".join(spec.primary_key or [spec.geography_field])
    return as_frame(
        con.execute(f"SELECT {_round_columns(round_)}, {', '.join([*columns, *public])} FROM units ORDER BY {order}")
    )


def aggregate(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, round_: Round, level: str) -> pd.DataFrame:
    """The measures over ``units`` at one level (one row per area of that level with any unit)."""
    return aggregates(con, spec, round_, [level])[level]


def aggregates(
    con: duckdb.DuckDBPyConnection,
    spec: DatasetSpec,
    round_: Round,
    levels: list[str],
    part_measures: Path | None = None,
) -> dict[str, pd.DataFrame]:
    """The measures over ``units`` at each of ``levels``, in one scan of the units (``GROUPING SETS``): a
    national round's 12 million units are read once, not once per level. Each level's areas by code.

    ``part_measures``: the parts' own areas, as each part measured them (:func:`part_measures`).
    Then the units are scanned for the nation and for the areas no part could measure alone only, and a
    province's file sent again does not make every area of Thailand be measured again.
    """
    if not levels:
        return {}
    if part_measures is not None and not set(levels) <= set(spec.aggregate_levels):
        raise ValueError(f"the parts measure the declared levels {spec.aggregate_levels}, not {levels}")
    # the parts' GROUPING() bits are over the keys of every declared level: read them with the same keys
    keys = _keys(list(spec.aggregate_levels) if part_measures is not None else levels)
    if part_measures is None or not _below_nation(levels):
        con.execute(f"CREATE OR REPLACE TEMP TABLE level_measures AS {_measured(spec, levels, keys)}")
    else:
        _from_parts(con, spec, levels, keys, part_measures)
    names = ", ".join(m.name for m in measures(spec))
    out = {}
    for level in levels:
        # GROUPING() sets a bit, first key highest, for each key the set does not group by
        left_out = sum(1 << (len(keys) - 1 - i) for i, k in enumerate(keys) if k not in LEVEL_COLUMNS[level])
        order = f" ORDER BY {', '.join(code_columns(level))}" if LEVEL_COLUMNS[level] else ""
        out[level] = as_frame(
            con.execute(
                f"SELECT {_round_columns(round_)}, {''.join(f'{k}, ' for k in LEVEL_COLUMNS[level])}{names} "
                f"FROM level_measures WHERE _set = {left_out}{order}"
            )
        )
    con.execute("DROP TABLE level_measures")
    return out


def _keys(levels: list[str]) -> list[str]:
    return list(dict.fromkeys(k for level in levels for k in LEVEL_COLUMNS[level]))


def _measured(spec: DatasetSpec, levels: list[str], keys: list[str], units: str = "units", by: str = "") -> str:
    """The measures of every area of ``levels`` in ``units`` (``_set``: which level, as ``GROUPING()`` of
    ``keys`` tells); ``by``: a column every level is grouped by as well. The nation is one row of its own:
    no grouping set may leave out every key that is selected."""
    columns = ", ".join(f"{m.sql} AS {m.name}" for m in measures(spec))
    if not any(LEVEL_COLUMNS[level] for level in levels):
        nulls = "".join(f"NULL AS {k}, " for k in keys)
        return f"SELECT {(1 << len(keys)) - 1} AS _set, {nulls}{columns} FROM {units}"
    sets = ", ".join(f"({', '.join([*([by] if by else []), *LEVEL_COLUMNS[level]])})" for level in levels)
    return (
        f"SELECT GROUPING({', '.join(keys)}) AS _set, {by + ', ' if by else ''}{', '.join(keys)}, {columns} "
        f"FROM {units} GROUP BY GROUPING SETS ({sets})"
    )


#: A unit is its part's own when its province is the part's: every area below the nation that holds it is
#: then wholly in that part (rows are sorted into parts by their code), and the part can measure it alone.
_HOME = f"TRY_CAST(province_code AS BIGINT) = _row_id // {ROW_ID_STRIDE}"


def _below_nation(levels: list[str] | tuple[str, ...]) -> list[str]:
    return [level for level in levels if LEVEL_COLUMNS[level]]


def measured_in_parts(spec: DatasetSpec) -> bool:
    """Whether the parts measure their own areas (:func:`part_measures`): any level below the nation."""
    return bool(_below_nation(spec.aggregate_levels))


def part_measures(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, units: list[Path]) -> pa.Table:
    """The measures of every area below the nation of the parts' own units (``_part``: whose), in one scan of
    these parts' units: what :func:`aggregates` takes, once written as each part's ``part_measures``. A round's
    first run measures every part at once, a province sent again its own part alone."""
    levels = _below_nation(spec.aggregate_levels)
    paths = ", ".join(f"'{path}'" for path in units)
    own = f"(SELECT *, _row_id // {ROW_ID_STRIDE} AS _part FROM read_parquet([{paths}]) WHERE {_HOME})"
    query = f"SELECT * FROM ({_measured(spec, levels, _keys(levels), own, by='_part')}) ORDER BY ALL"
    return con.execute(query).fetch_arrow_table()


def _from_parts(
    con: duckdb.DuckDBPyConnection, spec: DatasetSpec, levels: list[str], keys: list[str], parts: Path
) -> None:
    """``level_measures`` from the parts' measures, with the units scanned only for what the parts do not hold:
    the nation, and the areas of units that are not their part's own (no province; or, as none should be,
    another part's province: that province's areas are all measured here then).

    The provinces away are named in the queries as values, not as a table joined: DuckDB then reads only
    the province of each unit to pass over the rest (the units measured again: 0.15 s against 0.6 s a
    national household round, none of them away)."""
    found = con.execute(
        f"SELECT DISTINCT province_code FROM units WHERE NOT coalesce({_HOME}, false) AND province_code IS NOT NULL "
        "ORDER BY 1"
    ).fetchall()
    away = f"province_code IN ({', '.join(lit(code) for (code,) in found)})" if found else "false"
    below = _below_nation(spec.aggregate_levels)  # every level the parts measured: ``keys`` are theirs
    measured = _measured(spec, below, keys, f"(SELECT * FROM units WHERE province_code IS NULL OR {away})")
    kinds = con.execute(f"DESCRIBE {measured}").fetchall()  # the parts' columns as measured here (Parquet has
    columns = ", ".join(f"CAST({name} AS {kind}) AS {name}" for name, kind, *_ in kinds)  # no HUGEINT)
    union = [f"SELECT {columns} FROM read_parquet('{parts}') WHERE NOT ({away})", measured]
    if "nation" in levels:
        union.append(_measured(spec, ["nation"], keys))
    con.execute(f"CREATE OR REPLACE TEMP TABLE level_measures AS {' UNION ALL '.join(union)}")


def quality_columns(spec: DatasetSpec) -> dict[str, str]:
    """What the quality figures read of a received row beyond its ``_row_id`` and ``_file``, as SQL over its text:
    the code that places it, and how many of its required cells are filled."""
    filled = " + ".join(f"({ident(c)} IS NOT NULL)::INTEGER" for c in spec.required_field_names) or "0"
    return {"_unit_code": ident(spec.geography_field), "_required_filled": f"({filled})"}


def write_quality_counts(
    con: duckdb.DuckDBPyConnection, spec: DatasetSpec, counts: Path, reasons: Path, rows: str, found: str
) -> None:
    """What the quality figures count, grouped small, from the rows at hand: ``rows`` (every received row's
    ``_row_id``, ``_file`` and :func:`quality_columns`: a validation's typed rows carry them) and ``found``
    (``_row_id``, ``code``: every finding). Needs the registry's views.

    ``counts``: rows per file, unit code, area, status (in the registry, accepted, duplicate) and part
    (``_part``), with their filled required cells; ``reasons``: quarantined rows per area, reason and part.
    Written with each province part's validation, so the national figures add up parts (:func:`quality`)
    instead of reading every row of the round again. A row is placed by the longest valid prefix of its
    code, so a wrong village number still counts for its tambon.
    """
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE row_status AS
        WITH flags AS (
            SELECT _row_id, bool_or(code = 'duplicate_row') AS duplicate, count(*) > 0 AS rejected
            FROM {found} GROUP BY _row_id
        )
        SELECT r._row_id, r._row_id // {ROW_ID_STRIDE} AS _part, r._file, r._unit_code AS unit_code,
               coalesce(f.duplicate, false) AS duplicate,
               NOT coalesce(f.rejected, false) AS accepted,
               r._required_filled AS required_filled
        FROM {rows} r LEFT JOIN flags f USING (_row_id)
        """
    )
    # a unit code's area, found once per code rather than once per row (every row of a code has the same)
    places = """
        SELECT u.unit_code, t.tambon_code,
               coalesce(t.amphoe_code, am.amphoe_code) AS amphoe_code,
               coalesce(t.province_code, am.province_code, pv.province_code) AS province_code,
               v.village_code IS NOT NULL AS in_registry
        FROM (SELECT DISTINCT unit_code FROM row_status) u
        LEFT JOIN villages v ON v.village_code = u.unit_code
        LEFT JOIN (SELECT DISTINCT tambon_code, amphoe_code, province_code FROM areas) t
               ON t.tambon_code = substr(u.unit_code, 1, 6)
        LEFT JOIN (SELECT DISTINCT amphoe_code, province_code FROM areas) am
               ON am.amphoe_code = substr(u.unit_code, 1, 4)
        LEFT JOIN (SELECT DISTINCT province_code FROM areas) pv
               ON pv.province_code = substr(u.unit_code, 1, 2)
    """
    area = "tambon_code, amphoe_code, province_code"
    _copy_sorted(
        con,
        f"""SELECT _part, _file, s.unit_code, {area}, in_registry, accepted, duplicate, n, required_filled
            FROM (SELECT _part, _file, unit_code, accepted, duplicate,
                         count(*) AS n, sum(required_filled)::BIGINT AS required_filled
                  FROM row_status GROUP BY ALL) s
            LEFT JOIN ({places}) p ON p.unit_code IS NOT DISTINCT FROM s.unit_code""",
        counts,
    )
    _copy_sorted(
        con,
        f"""SELECT _part, {area}, code, sum(n)::BIGINT AS n
            FROM (SELECT _part, s.unit_code, f.code, count(DISTINCT f._row_id) AS n
                  FROM {found} f JOIN row_status s USING (_row_id) GROUP BY ALL) c
            LEFT JOIN ({places}) p ON p.unit_code IS NOT DISTINCT FROM c.unit_code
            GROUP BY ALL""",
        reasons,
    )
    con.execute("DROP TABLE row_status")


def _copy_sorted(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> None:
    """A small table in a set order (every column), replaced whole: the same rows make the same file."""
    write_atomic(
        target, lambda t: con.execute(f"COPY (SELECT * FROM ({query}) ORDER BY ALL) TO '{t}' (FORMAT parquet)")
    )


def quality(
    con: duckdb.DuckDBPyConnection, spec: DatasetSpec, round_: Round, work: WorkArea, deadline: dt.date
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Completeness, accuracy and timeliness per tambon, amphoe, province and nation (seed 001, criterion 2).

    * completeness_pct = villages accepted / villages in the registry;
    * reporting_pct    = villages with any row received / villages in the registry;
    * accuracy_pct     = rows accepted / rows received, duplicates left out of both
                         (a second copy of a good row is not an inaccuracy);
    * required_fill_pct = filled required cells / required cells, over rows received;
    * on_time_pct      = tambons whose first file arrived by the deadline / tambons in the registry.
    Reads the work area's ``files`` and the parts' ``quality_counts`` and ``reason_counts``
    (:func:`write_quality_counts`).
    """
    register_work(con, work, "files", "quality_counts", "reason_counts")
    # A file belongs to the tambon most of its rows name (file names say nothing reliable).
    con.execute(
        """
        CREATE OR REPLACE TEMP TABLE file_tambon AS
        SELECT _file, arg_max(tambon_code, n) AS tambon_code FROM (
            SELECT _file, tambon_code, sum(n) AS n FROM quality_counts
            WHERE tambon_code IS NOT NULL GROUP BY ALL
        ) GROUP BY _file
        """
    )
    # A tambon is on time when its first file arrived by the end of the deadline day (Thai time).
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE tambon_on_time AS
        SELECT t.tambon_code,
               min(f.received_at::TIMESTAMPTZ AT TIME ZONE 'Asia/Bangkok')::DATE <= DATE '{deadline}' AS on_time
        FROM file_tambon t JOIN files f ON f.sha256 = t._file GROUP BY 1
        """
    )
    figures, reasons = [], []
    for level in LEVELS:
        figures.append(_quality_level(con, level, len(spec.required_field_names), round_))
        reasons.append(_reasons_level(con, level, round_))
    return pd.concat(figures, ignore_index=True), pd.concat(reasons, ignore_index=True)


def _area(level: str) -> tuple[str, str, str]:
    """(area code, Thai name, English name) expressions over ``areas`` aliased ``g``."""
    if level == "nation":
        return "'TH'", "'ประเทศไทย'", "'Thailand'"
    return f"g.{level}_code", f"g.{level}_name_th", f"g.{level}_name_en"


def _quality_level(con: duckdb.DuckDBPyConnection, level: str, n_required: int, round_: Round) -> pd.DataFrame:
    code, name_th, name_en = _area(level)
    key = "'TH'" if level == "nation" else f"{level}_code"
    return as_frame(
        con.execute(
            f"""
        WITH expected AS (
            SELECT {code} AS area_code, any_value({name_th}) AS area_name_th,
                   any_value({name_en}) AS area_name_en,
                   count(DISTINCT v.village_code) AS villages_expected,
                   count(DISTINCT g.tambon_code) AS tambons_expected
            FROM villages v JOIN areas g ON g.tambon_code = v.tambon_code GROUP BY 1
        ),
        got AS (
            SELECT {key} AS area_code,
                   count(DISTINCT unit_code) FILTER (WHERE in_registry) AS villages_reported,
                   count(DISTINCT unit_code) FILTER (WHERE accepted) AS villages_accepted,
                   count(DISTINCT tambon_code) AS tambons_reported,
                   sum(n)::BIGINT AS rows_received,
                   coalesce(sum(n) FILTER (WHERE accepted), 0)::BIGINT AS rows_accepted,
                   coalesce(sum(n) FILTER (WHERE NOT accepted), 0)::BIGINT AS rows_quarantined,
                   coalesce(sum(n) FILTER (WHERE duplicate), 0)::BIGINT AS rows_duplicate,
                   sum(required_filled) AS required_filled
            FROM quality_counts {"" if level == "nation" else f"WHERE {key} IS NOT NULL"} GROUP BY 1
        ),
        sent AS (
            SELECT {code} AS area_code, count(*) AS files_received
            FROM file_tambon f JOIN areas g USING (tambon_code) GROUP BY 1
        ),
        timely AS (
            SELECT {code} AS area_code, count(*) FILTER (WHERE on_time) AS tambons_on_time
            FROM tambon_on_time t JOIN areas g USING (tambon_code) GROUP BY 1
        )
        SELECT '{round_.key}' AS round, '{round_.be_key}' AS round_be, '{level}' AS level,
               e.area_code, e.area_name_th, e.area_name_en,
               e.villages_expected, coalesce(villages_reported, 0) AS villages_reported,
               coalesce(villages_accepted, 0) AS villages_accepted,
               round(100.0 * coalesce(villages_accepted, 0) / e.villages_expected, 2) AS completeness_pct,
               round(100.0 * coalesce(villages_reported, 0) / e.villages_expected, 2) AS reporting_pct,
               coalesce(rows_received, 0) AS rows_received, coalesce(rows_accepted, 0) AS rows_accepted,
               coalesce(rows_quarantined, 0) AS rows_quarantined, coalesce(rows_duplicate, 0) AS rows_duplicate,
               round(100.0 * rows_accepted / nullif(rows_received - rows_duplicate, 0), 2) AS accuracy_pct,
               round(100.0 * required_filled / nullif(rows_received * {n_required}, 0), 2) AS required_fill_pct,
               coalesce(files_received, 0) AS files_received,
               e.tambons_expected, coalesce(tambons_reported, 0) AS tambons_reported,
               coalesce(tambons_on_time, 0) AS tambons_on_time,
               round(100.0 * coalesce(tambons_on_time, 0) / e.tambons_expected, 2) AS on_time_pct
        FROM expected e LEFT JOIN got USING (area_code) LEFT JOIN sent USING (area_code)
        LEFT JOIN timely USING (area_code)
        ORDER BY e.area_code
        """
        )
    )


def _reasons_level(con: duckdb.DuckDBPyConnection, level: str, round_: Round) -> pd.DataFrame:
    key = "'TH'" if level == "nation" else f"s.{level}_code"
    return as_frame(
        con.execute(
            f"""
        SELECT '{round_.key}' AS round, '{round_.be_key}' AS round_be, '{level}' AS level,
               {key} AS area_code, code AS reason, sum(n)::BIGINT AS rows_quarantined
        FROM reason_counts s
        {"" if level == "nation" else f"WHERE {key} IS NOT NULL"}
        GROUP BY ALL ORDER BY area_code, reason
        """
        )
    )
