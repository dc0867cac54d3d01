"""Run SQL against the published catalog: the local catalog folder, a catalog database file, or a CKAN site.

    python -m catalog.query "SELECT * FROM village_profile_latest LIMIT 5"
    python -m catalog.query --catalog http://127.0.0.1:5000 "SELECT ..." --out result.csv
    python -m catalog.query --list                         every dataset, its titles and version
    python -m catalog.query --describe village_profile     its columns, types and descriptions

From Python::

    from catalog.query import connect, run_query
    con = connect("data/catalog")                          # or a .duckdb file, or a CKAN URL
    con.sql("SELECT round_be, sum(households) FROM village_profile GROUP BY ALL").show()
    frame = run_query("SELECT * FROM village_profile_quality_latest", "data/catalog", out="quality.csv")

The catalog database (``catalog/analyst_db.py``) is attached read-only as ``tambon`` and made
the default, so its views (``<dataset>``, ``<dataset>_latest``) and tables (``datasets``,
``columns``, ``rounds``) are named directly. Create your own tables in ``memory`` (``CREATE
TABLE memory.mine AS ...``).
"""

from __future__ import annotations

import argparse
import atexit
import math
import os
import shutil
import sys
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from catalog.analyst_db import (
    CATALOG_DB,
    CKAN_DATASET,
    CKAN_FORMAT,
    CKAN_ROLE,
    build,
    fingerprint,
    load_httpfs,
    local_locations,
    read_catalog,
    sql_literal,
)

ALIAS = "tambon"


class CatalogNotFound(ValueError):
    """No catalog database where the caller pointed (ValueError: the CLI prints it and exits 2)."""


# -- where the catalog database is -----------------------------------------------------------------------------
def default_catalog() -> Path:
    from pipelines.layout import Layout

    return Path(os.environ.get("TAMBON_CATALOG") or Layout.from_env().catalog)


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def ckan_catalog_db_url(site: str, dataset: str = CKAN_DATASET) -> str:
    """The download URL of the ``DuckDB`` resource of the catalog dataset of a CKAN site."""
    import requests

    api = f"{site.rstrip('/')}/api/3/action"
    resources: list[dict[str, Any]] = []
    response = requests.get(f"{api}/package_show", params={"id": dataset}, timeout=60)
    if response.ok:
        resources = response.json()["result"].get("resources", [])
    if not any(str(r.get("format", "")).lower() == CKAN_FORMAT.lower() for r in resources):
        response = requests.get(f"{api}/resource_search", params={"query": f"format:{CKAN_FORMAT}"}, timeout=60)
        if response.ok:
            resources = response.json()["result"].get("results", [])
    candidates = [r for r in resources if str(r.get("format", "")).lower() == CKAN_FORMAT.lower() and r.get("url")]
    candidates.sort(key=lambda r: r.get("role") != CKAN_ROLE)
    if not candidates:
        raise CatalogNotFound(
            f"ไม่พบไฟล์ฐานข้อมูลแคตตาล็อก (DuckDB) ใน {site} / no DuckDB catalog database found in {site} "
            f"(dataset {dataset})"
        )
    return candidates[0]["url"]


def _built_fresh(root: Path) -> Path:
    """A catalog database built now for ``root``, in a temporary folder removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="tambon-query-"))
    atexit.register(shutil.rmtree, folder, True)
    entries = read_catalog(root)
    if not entries:
        raise CatalogNotFound(f"ไม่พบชุดข้อมูลใน {root} / no published dataset in {root}")
    return build(entries, local_locations(root, entries), folder / CATALOG_DB, base=root.resolve().as_posix()).path


def _local_database(folder: Path) -> tuple[Path, str | None]:
    """The catalog database of a local catalog folder (or of a data folder holding ``catalog/``),
    with the fingerprint the current catalog should have."""
    for root in (folder, folder / "catalog"):
        if any(root.glob("*/latest.json")):
            entries = read_catalog(root)
            expected = fingerprint(entries, local_locations(root, entries)) if entries else None
            return root / CATALOG_DB, expected
    raise CatalogNotFound(f"ไม่พบแคตตาล็อกใน {folder} / no catalog found in {folder}")


def _attach(con: duckdb.DuckDBPyConnection, location: str, alias: str) -> None:
    con.execute(f"ATTACH {sql_literal(location)} AS {alias} (READ_ONLY)")


def connect(catalog: str | Path | None = None, *, alias: str = ALIAS) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the catalog database attached read-only as ``alias`` (and in use).

    ``catalog``: a local catalog folder (its ``tambon_catalog.duckdb``; built afresh into a temporary
    file when missing or out of date), a ``.duckdb`` file, a URL of one, or a CKAN site URL (its
    ``DuckDB`` resource). Default: ``$TAMBON_CATALOG``, else the data folder's ``catalog/``.
    """
    target = str(catalog) if catalog is not None else str(default_catalog())
    con = duckdb.connect()
    try:
        load_httpfs(con)  # views of a CKAN build read URLs
    except duckdb.Error:
        if _is_url(target):
            raise
    if _is_url(target):
        location = target if target.split("?")[0].endswith(".duckdb") else ckan_catalog_db_url(target)
        _attach(con, location, alias)
    elif Path(target).is_file():
        _attach(con, Path(target).resolve().as_posix(), alias)
    elif Path(target).is_dir():
        path, expected = _local_database(Path(target).resolve())
        current = None
        if path.exists():
            _attach(con, path.as_posix(), alias)
            found = con.execute(f"SELECT value FROM {alias}.catalog_info WHERE key = 'fingerprint'").fetchone()
            current = found[0] if found else None
            if current != expected:  # moved, or a round published without rebuilding: do not show stale views
                con.execute(f"DETACH {alias}")
        if current != expected or not path.exists():
            _attach(con, _built_fresh(path.parent).as_posix(), alias)
    else:
        raise CatalogNotFound(f"ไม่พบ {target} / {target} does not exist")
    con.execute(f"USE {alias}")
    return con


# -- running a query -------------------------------------------------------------------------------------------
def run_query(
    sql: str,
    catalog: str | Path | None = None,
    out: str | Path | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The result as a DataFrame; with ``out`` also written as CSV (UTF-8 with BOM, for Excel) or Parquet."""
    if out is not None and Path(out).suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"เขียนได้เฉพาะ .csv หรือ .parquet / out must end with .csv or .parquet: {out}")
    con = con or connect(catalog)
    table = con.sql(sql).fetch_arrow_table()
    frame = table.to_pandas()
    if out is not None:
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() == ".csv":
            frame.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        else:
            import pyarrow.parquet as pq

            pq.write_table(table, path, compression="zstd")
    return frame


# -- a readable table in a terminal ------------------------------------------------------------------------------
def display_width(text: str) -> int:
    """Terminal columns: Thai vowel and tone marks above/below take none, wide (CJK) characters two."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1
    return width


def _clip(text: str, limit: int) -> str:
    if display_width(text) <= limit:
        return text
    out, width = "", 0
    for char in text:
        step = display_width(char)
        if width + step > limit - 1:
            break
        out, width = out + char, width + step
    return out + "…"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format(value, ".10g")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_cell(v) for v in value) + "]"
    if hasattr(value, "tolist") and not isinstance(value, str):
        return _cell(value.tolist())
    return str(value).replace("\n", " ")


def _is_number(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)) or type(value).__name__ == "Decimal"


def _pad(text: str, width: int, right: bool) -> str:
    space = " " * (width - display_width(text))
    return space + text if right else text + space


def format_table(frame: pd.DataFrame, max_rows: int = 40, max_width: int = 40) -> str:
    """``frame`` as aligned text: numbers right, text left, long cells cut, head and tail when long."""
    total = len(frame)
    if total > max_rows:
        head = max(1, max_rows // 2)
        shown = pd.concat([frame.head(head), frame.tail(max_rows - head)])
        gap = head
    else:
        shown, gap = frame, None
    numeric = [pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in frame.dtypes]
    for i, column in enumerate(frame.columns):  # Decimal (DuckDB HUGEINT sums) and other objects holding numbers
        if not numeric[i] and frame[column].dtype == object:
            values = [v for v in frame[column].head(100) if v is not None]
            numeric[i] = bool(values) and all(_is_number(v) for v in values)
    header = [_clip(str(c), max_width) for c in frame.columns]
    rows = [[_clip(_cell(v), max_width) for v in row] for row in shown.itertuples(index=False, name=None)]
    widths = [max([display_width(h)] + [display_width(r[i]) for r in rows]) for i, h in enumerate(header)]
    line = "─┼─".join("─" * w for w in widths)
    text = [" │ ".join(_pad(h, widths[i], False) for i, h in enumerate(header)), line]
    for n, row in enumerate(rows):
        if gap is not None and n == gap:
            text.append(" │ ".join(_pad("⋮", widths[i], numeric[i]) for i in range(len(widths))))
        text.append(" │ ".join(_pad(v, widths[i], numeric[i]) for i, v in enumerate(row)))
    shown_note = f", แสดง/showing {len(rows)}" if total > len(rows) else ""
    text.append(f"({total:,} แถว/rows, {len(frame.columns)} คอลัมน์/columns{shown_note})")
    return "\n".join(text)


# -- command line ----------------------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sql", nargs="?", help="SQL to run ('-' reads it from standard input)")
    parser.add_argument(
        "--catalog", help="catalog folder, .duckdb file or its URL, or a CKAN site URL (default: the local catalog)"
    )
    parser.add_argument("--out", help="also write the result to this .csv (UTF-8 with BOM) or .parquet file")
    parser.add_argument("--max-rows", type=int, default=40, help="rows to print (default 40)")
    parser.add_argument("--list", action="store_true", help="list the datasets / แสดงรายการชุดข้อมูล")
    parser.add_argument("--describe", metavar="DATASET", help="the columns of a dataset / คำอธิบายคอลัมน์")


def cmd_query(args: argparse.Namespace) -> int:
    if args.list:
        sql = (
            "SELECT name, title_th, title_en, latest_version, round_count AS rounds, rows_latest "
            "FROM datasets ORDER BY name"
        )
    elif args.describe:
        sql = (
            "SELECT column_name, duckdb_type AS type, title_th, title_en, description_th, description_en "
            f"FROM columns WHERE dataset = {sql_literal(args.describe)} ORDER BY position"
        )
    elif args.sql:
        sql = sys.stdin.read() if args.sql == "-" else args.sql
    else:
        print("ใส่คำสั่ง SQL หรือ --list / give SQL, --list or --describe", file=sys.stderr)
        return 2
    try:
        frame = run_query(sql, args.catalog, args.out)
    except duckdb.Error as error:
        print(f"คำสั่ง SQL ผิดพลาด / query failed: {error}", file=sys.stderr)
        return 2
    print(format_table(frame, args.max_rows, 60 if args.describe else 40))
    if args.out:
        print(f"เขียนผลลัพธ์ {len(frame):,} แถว / wrote {len(frame):,} rows -> {args.out}")
    return 0


def add_command(subparsers: Any) -> argparse.ArgumentParser:
    """``tambon query``: for ``pipelines/cli.py``'s ``parser()``."""
    parser = subparsers.add_parser("query", help="run SQL against the published catalog / สืบค้นข้อมูลด้วย SQL")
    add_arguments(parser)
    parser.set_defaults(func=cmd_query)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m catalog.query", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return cmd_query(args)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
