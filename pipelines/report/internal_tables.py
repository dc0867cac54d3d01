"""The data team's own tables of a round, written to its reports folder: internal, never published.

* ``quarantine.csv``: every reason a row was held back, one line per finding, with the
  file name, sheet, row number (as the office sees it in Excel), field, the value as
  received and the reason in Thai and English, so an office can be told exactly what
  to correct. It holds personal fields as sent (names, citizen IDs, phone numbers), so
  it lives only in ``data/reports/<dataset>/<round>/`` next to the run report; the quality
  page links to it by its file name and never shows a value from it.
* ``tambons_not_reported.csv``: the full list behind the ``reported_by_deadline`` check.

Both are UTF-8 with BOM and CRLF so Excel shows Thai, with Thai/English headers, and
every text cell goes through the published CSV's own rule, ``catalog.files.guard_formula``
(an apostrophe in front of text a spreadsheet would run as a formula: ``=``, ``+``, ``-``,
``@``, tab, CR; a plain number such as ``-5`` stays as it is). A national round can
quarantine ~300,000 rows: the quarantine table is streamed by DuckDB (``COPY ... TO``),
never built row by row; only the rare cell that does not start with a letter or digit is
handed to ``guard_formula``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from catalog.files import guard_formula
from domain.declarations import DatasetSpec
from domain.work import WorkArea, write_atomic

QUARANTINE_FILE = "quarantine.csv"
#: the quarantine CSV's first column: the file a row came in
FILE_COLUMN = "ไฟล์ / file"
BOM = "\ufeff"


def spreadsheet_safe(value: object) -> object:
    """A text cell as it may go into a spreadsheet (``catalog.files.guard_formula``); anything else unchanged."""
    return guard_formula(value) if isinstance(value, str) else value


def guard_sql(expression: str) -> str:
    """:func:`spreadsheet_safe` over a VARCHAR ``expression`` in DuckDB (needs :func:`register_guard`).

    A cell that is empty or starts with a letter or a digit (nearly all: codes, Thai words) is never
    guarded, so only the others are passed to the Python rule: one definition of it, at SQL speed.
    """
    return (
        f"CASE WHEN {expression} IS NULL OR {expression} = '' OR regexp_matches({expression}, '^[\\pL\\pN]') "
        f"THEN {expression} "
        f"ELSE guard_formula({expression}) END"
    )


def register_guard(con: duckdb.DuckDBPyConnection) -> None:
    """Make ``guard_formula`` (``catalog.files``) callable from SQL on ``con``."""
    con.create_function("guard_formula", guard_formula, ["VARCHAR"], "VARCHAR", side_effects=False)


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_frame_csv(frame: pd.DataFrame, target: Path) -> Path:
    """A small table (hundreds to a few thousand rows) as UTF-8-with-BOM CSV, text made spreadsheet-safe."""
    target.parent.mkdir(parents=True, exist_ok=True)
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object:
            safe[column] = safe[column].map(spreadsheet_safe)
    return write_atomic(
        target, lambda t: t.write_bytes(safe.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
    )


def quarantine_query(spec: DatasetSpec, work: WorkArea) -> str:
    """One row per finding of a quarantined row: where it is, what was received, why (Thai and English)."""
    geo = spec.geography_field
    titles = {f["name"]: f.get("title_th", f["name"]) for f in spec.fields}
    order = ", ".join(f"({_lit(name)}, {i}, {_lit(titles[name])})" for i, name in enumerate(spec.field_names))
    safe = guard_sql
    columns = {
        FILE_COLUMN: safe("coalesce(f.name, q._file)"),
        "ชีต / sheet": safe("coalesce(q._sheet, '')"),
        "แถวที่ (ใน Excel) / row (as in Excel)": "q._row",
        f"{titles.get(geo, geo)} / {geo}": safe(f"q.{_ident(geo)}"),
        "ช่อง / field": safe("coalesce(fi.field, '')"),
        "ชื่อช่อง / field_th": safe("coalesce(o.title_th, fi.field, '')"),
        "ค่าที่ได้รับ / value_as_received": safe("coalesce(fi.value, '')"),
        "รหัสสาเหตุ / reason_code": "fi.code",
        "สาเหตุ / reason_th": safe("fi.message_th"),
        "reason_en": safe("fi.message_en"),
    }
    select = ",\n               ".join(f"{sql} AS {_ident(name)}" for name, sql in columns.items())
    return f"""
        WITH field_order(field, position, title_th) AS (VALUES {order})
        SELECT {select}
        FROM read_parquet({_lit(str(work.path("findings")))}) fi
        JOIN read_parquet({_lit(str(work.path("quarantine")))}) q USING (_row_id)
        LEFT JOIN read_parquet({_lit(str(work.path("files")))}) f ON f.sha256 = q._file
        LEFT JOIN field_order o ON o.field = fi.field
        ORDER BY f.name, q._sheet, q._row, coalesce(o.position, 1000), fi.field, fi.code, fi.value
    """


def write_quarantine_csv(spec: DatasetSpec, work: WorkArea, out_dir: Path) -> tuple[Path, int]:
    """Stream the round's quarantine findings into ``out_dir/quarantine.csv``; returns the path and line count.

    DuckDB sorts (spilling to the work area if it must) and writes the whole file itself, the BOM
    included: it leads the first column's name, which needs no quoting, so the file's first bytes
    are the BOM. (Written without it and copied behind one, the file was written twice.)
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    spill = work.folder / f".quarantine-csv.{os.getpid()}.tmp"
    query = quarantine_query(spec, work)
    with_bom = f"SELECT * RENAME ({_ident(FILE_COLUMN)} AS {_ident(BOM + FILE_COLUMN)}) FROM ({query})"
    rows = 0

    def copy(temporary: Path) -> None:
        nonlocal rows
        con = duckdb.connect()
        try:
            con.execute(f"SET temp_directory = {_lit(str(spill))}")
            register_guard(con)
            options = "(HEADER, DELIMITER ',', NEW_LINE '\\r\\n')"
            rows = con.execute(f"COPY ({with_bom}) TO {_lit(str(temporary))} {options}").fetchone()[0]
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)

    return write_atomic(out_dir / QUARANTINE_FILE, copy), int(rows)
