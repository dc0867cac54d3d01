"""What the offices' returned corrections changed in a round, office by office.

Counted from the round's work area as it stands, so a re-run with nothing new gives the same
figures (the originals stay in the landing folder and are quarantined again exactly as before, so
the rows returned for correction are the previous revision's quarantine of the office):

* ``rows_returned``: rows of the office's own files held back (quarantined), i.e. the rows its
  correction workbook listed; a row that passed every check but lost its village to a correction
  is not one of them (``rows_superseded``);
* ``rows_corrected``: of those, the ones an accepted correction replaces: the returned workbook's
  row for it (by its identity, file SHA-256, sheet and row) or any accepted correction of the same
  key (a fixed file, a row the office added);
* ``rows_open``: returned and not corrected (sent back unchanged, still faulty, or not sent back);
* ``corrections_accepted``: rows of the office's corrections that were accepted;
* ``corrections_refused``: rows of its corrections held back, ``…_outside_area`` of them for naming
  a village of another district; ``rows_unchanged``: rows sent back as they were;
* ``files_returned`` / ``files_refused``: its correction files, and those refused as a whole
  (damaged, re-typed, another office's or round's).

An office is the district its files are attributed to (``attribution``); a correction's, the
office whose folder it landed in. The counts feed the run report now, and Dagster metadata and
the quality report later (one function, one definition).
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from domain.declarations import DatasetSpec
from domain.frames import as_frame
from domain.geography import Geography
from domain.work import WorkArea, table_exists
from pipelines.report.corrections.attribution import districts_sql

#: The work area's table of returned rows and the rows they correct (written by the ingest stage).
CORRECTIONS_TABLE = "corrections"
FIGURES = [
    "files_returned",
    "files_refused",
    "rows_returned",
    "rows_corrected",
    "rows_open",
    "rows_superseded",
    "corrections_accepted",
    "corrections_refused",
    "corrections_refused_outside_area",
    "rows_unchanged",
]


def correction_files(files: pd.DataFrame) -> pd.DataFrame:
    """The round's readable correction files (``sha256``, ``office``, ``correction_order``) from ``files``."""
    if "office" not in files.columns:  # a work area written before corrections were read
        return pd.DataFrame({"sha256": [], "office": [], "correction_order": pd.Series([], dtype="int64")})
    chosen = files[(files["office"].fillna("") != "") & (files["status"] == "ok")]
    return chosen[["sha256", "office", "correction_order"]].reset_index(drop=True)


def _prepare(con: duckdb.DuckDBPyConnection, spec: DatasetSpec, work: WorkArea, geography: Geography) -> None:
    """Temp tables ``files_t``, ``corr`` (correction files), ``quarantine_t``, ``fixes`` (accepted corrections,
    with the row each corrects when it says) and ``held`` (every quarantined row, with ``corrected``: an
    accepted correction of another file replaces it, by its identity or its key; and its office)."""
    files = work.read("files")
    if "office" not in files.columns:  # a work area written before corrections were read
        files = files.assign(office="", correction_order=0, rows_unchanged=0)
    files = files.assign(office=files["office"].fillna(""))
    mapping_path = work.path(CORRECTIONS_TABLE)
    key = [k for k in spec.duplicates.get("key", []) if k in spec.field_names]
    geography.register(con)
    counted = work.path("quality_counts") if spec.has_quality_figures else None
    con.execute(f"CREATE TEMP TABLE places AS {districts_sql(work.path('received'), spec.geography_field, counted)}")
    con.register("files_t", files[["sha256", "status", "office", "rows_unchanged"]])
    con.execute(
        "CREATE TEMP TABLE corr AS SELECT CAST(sha256 AS VARCHAR) AS sha256, office FROM files_t WHERE office <> ''"
    )
    typed = (
        "CAST(_file AS VARCHAR) AS _file, CAST(_sheet AS VARCHAR) AS _sheet, CAST(_row AS BIGINT) AS _row, "
        "CAST(corrects_file AS VARCHAR) AS corrects_file, CAST(corrects_sheet AS VARCHAR) AS corrects_sheet, "
        "CAST(corrects_row AS BIGINT) AS corrects_row"
    )  # an empty table written by pandas has untyped columns
    if table_exists(mapping_path):
        source = f"read_parquet({_lit(mapping_path)})"
    else:
        source = "(SELECT NULL AS _file, NULL AS _sheet, NULL AS _row, NULL AS corrects_file, "
        source += "NULL AS corrects_sheet, NULL AS corrects_row)"
    con.execute(f"CREATE TEMP VIEW mapping AS SELECT {typed} FROM {source} WHERE _file IS NOT NULL")
    keys = "".join(f', CAST("{k}" AS VARCHAR) AS "k_{k}"' for k in key)
    for name in ("quarantine", "accepted"):
        extra = ", codes" if name == "quarantine" else ""
        # of the accepted rows only the corrections' count (a national round: 12 million rows, a few corrected)
        only = " SEMI JOIN corr ON corr.sha256 = _file" if name == "accepted" else ""
        con.execute(
            f"""CREATE TEMP TABLE {name}_t AS
            SELECT _row_id, _file, coalesce(_sheet, '') AS _sheet, _row{extra}{keys}
            FROM read_parquet({_lit(work.path(name))}){only}"""
        )
    con.execute(
        """CREATE TEMP TABLE fixes AS
        SELECT a.*, m.corrects_file, coalesce(m.corrects_sheet, '') AS corrects_sheet, m.corrects_row
        FROM accepted_t a JOIN corr ON corr.sha256 = a._file
        LEFT JOIN mapping m ON m._file = a._file AND coalesce(m._sheet, '') = a._sheet AND m._row = a._row"""
    )
    same_key = " AND ".join(f'c."k_{k}" = q."k_{k}"' for k in key) or "false"
    con.execute(
        f"""CREATE TEMP TABLE held AS
        SELECT q.*, coalesce(cf.office, p.amphoe_code) AS office, cf.sha256 IS NOT NULL AS from_correction,
               EXISTS (SELECT 1 FROM fixes f WHERE f.corrects_file = q._file
                       AND f.corrects_sheet = q._sheet AND f.corrects_row = q._row)
               OR EXISTS (SELECT 1 FROM fixes c WHERE c._file <> q._file AND {same_key}) AS corrected
        FROM quarantine_t q LEFT JOIN corr cf ON cf.sha256 = q._file LEFT JOIN places p ON p._file = q._file"""
    )


def settled_rows(spec: DatasetSpec, work: WorkArea, geography: Geography) -> set[int]:
    """``_row_id`` of the quarantined rows an accepted correction replaces: no longer an office's to correct."""
    con = _connect()
    try:
        _prepare(con, spec, work, geography)
        return {int(r[0]) for r in con.execute("SELECT _row_id FROM held WHERE corrected").fetchall()}
    finally:
        con.close()


def correction_table(spec: DatasetSpec, work: WorkArea, geography: Geography) -> pd.DataFrame:
    """One row per office with held-back rows or corrections: ``office`` and :data:`FIGURES`."""
    con = _connect()
    try:
        _prepare(con, spec, work, geography)
        return prepared_table(con)
    finally:
        con.close()


def prepared_table(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """:func:`correction_table` over a connection :func:`_prepare` has filled (``measured`` reuses it)."""
    table = as_frame(
        con.execute(
            """
        WITH by_original AS (
            SELECT office,
                   count(*) FILTER (WHERE NOT (codes = 'duplicate_row' AND corrected)) AS rows_returned,
                   count(*) FILTER (WHERE corrected AND codes <> 'duplicate_row') AS rows_corrected,
                   count(*) FILTER (WHERE codes = 'duplicate_row' AND corrected) AS rows_superseded
            FROM held WHERE NOT from_correction AND office IS NOT NULL GROUP BY office
        ),
        by_file AS (
            SELECT office, count(*) AS files_returned,
                   count(*) FILTER (WHERE status = 'rejected') AS files_refused,
                   sum(rows_unchanged) AS rows_unchanged
            FROM files_t WHERE office <> '' GROUP BY office
        ),
        accepted AS (
            SELECT corr.office, count(*) AS corrections_accepted
            FROM accepted_t a JOIN corr ON corr.sha256 = a._file GROUP BY 1
        ),
        refused AS (
            SELECT office, count(*) AS corrections_refused,
                   count(*) FILTER (WHERE list_contains(string_split(codes, ','), 'correction_outside_area'))
                       AS corrections_refused_outside_area
            FROM held WHERE from_correction GROUP BY 1
        ),
        offices AS (
            SELECT office FROM by_original UNION SELECT office FROM by_file
        )
        SELECT o.office,
               coalesce(f.files_returned, 0) AS files_returned, coalesce(f.files_refused, 0) AS files_refused,
               coalesce(b.rows_returned, 0) AS rows_returned, coalesce(b.rows_corrected, 0) AS rows_corrected,
               coalesce(b.rows_returned, 0) - coalesce(b.rows_corrected, 0) AS rows_open,
               coalesce(b.rows_superseded, 0) AS rows_superseded,
               coalesce(a.corrections_accepted, 0) AS corrections_accepted,
               coalesce(r.corrections_refused, 0) AS corrections_refused,
               coalesce(r.corrections_refused_outside_area, 0) AS corrections_refused_outside_area,
               coalesce(f.rows_unchanged, 0) AS rows_unchanged
        FROM offices o LEFT JOIN by_original b USING (office) LEFT JOIN by_file f USING (office)
        LEFT JOIN accepted a USING (office) LEFT JOIN refused r USING (office)
        ORDER BY o.office
        """
        )
    )
    return table.astype({name: "int64" for name in FIGURES})


def correction_figures(table: pd.DataFrame) -> dict[str, Any]:
    """A :func:`correction_table` as JSON-ready figures: ``{"offices": {code: {...}}, "total": {...}}``."""
    offices = {row["office"]: {k: int(row[k]) for k in FIGURES} for row in table.to_dict("records")}
    total = {k: int(table[k].sum()) for k in FIGURES}
    return {"offices": offices, "total": total}


def _connect() -> duckdb.DuckDBPyConnection:
    """A connection that prints nothing (DuckDB draws a progress bar on a long query, into the step's log)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def _lit(path: object) -> str:
    return "'" + str(path).replace("'", "''") + "'"
