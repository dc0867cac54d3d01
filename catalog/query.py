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

A mistake on the command line (no catalog there, CKAN down, an unknown dataset, bad SQL) is a
:class:`UserError`, printed in Thai then English with what to do next; the exit codes, shared
with ``tambon`` (``pipelines/cli.py``), are 0 success, 2 a mistake in the command, 3 CKAN
unreachable (see ``EXIT_CODES``).
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
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

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

# -- mistakes a person can fix, and the exit codes of the command line ----------------------------------------
EXIT_OK = 0
EXIT_FAILED = 1  #: a run failed (a step or a blocking asset check): see the ✗ lines and the run report
EXIT_USAGE = 2  #: a mistake in the command: arguments, dataset, table, round, SQL, a missing folder or report
EXIT_UNREACHABLE = 3  #: a service (CKAN) did not answer or answered with a server error
EXIT_INTERRUPTED = 130  #: Ctrl-C, as shells count it (128 + SIGINT)

EXIT_CODES = (
    (EXIT_OK, "สำเร็จ", "success"),
    (
        EXIT_FAILED,
        "การประมวลผลไม่สำเร็จ (ขั้นตอนหรือการตรวจสอบที่หยุดการประมวลผล ดูบรรทัด ✗ และรายงานผล)",
        "a run failed (a step or a blocking check: see the ✗ lines and the run report)",
    ),
    (
        EXIT_USAGE,
        "คำสั่งไม่ถูกต้อง (ตัวเลือก ชุดข้อมูล ตาราง รอบ SQL หรือโฟลเดอร์ที่ไม่มี)",
        "a mistake in the command (arguments, unknown dataset, table or round, SQL, a missing folder or report)",
    ),
    (EXIT_UNREACHABLE, "ติดต่อบริการไม่ได้ (CKAN)", "a service is unreachable (CKAN)"),
    (EXIT_INTERRUPTED, "ถูกหยุดกลางคัน (Ctrl-C)", "interrupted (Ctrl-C)"),
)


class UserError(ValueError):
    """A mistake the person at the command line can fix: printed in Thai then English, never as a traceback.

    Raised where the mistake is found, printed once by :func:`run_command`, which both ``tambon``
    (``pipelines/cli.py``) and ``python -m catalog.query`` go through; it lives here, in the lower of
    the two command-line modules, so that both share it. ``details`` is what is the same in both
    languages (a list of names). A ValueError, so that library callers of :func:`connect` that caught
    ValueError before still do. Anything that is not a UserError is a bug and keeps its traceback.
    """

    def __init__(self, message_th: str, message_en: str, exit_code: int = EXIT_USAGE, details: str = "") -> None:
        super().__init__(f"{message_th} / {message_en}" + (f": {details}" if details else ""))
        self.message_th = message_th
        self.message_en = message_en
        self.exit_code = exit_code
        self.details = details

    def text(self) -> str:
        """What a person reads: Thai line, English line, then the names both refer to."""
        return "\n".join(
            line for line in (self.message_th, self.message_en, self.details and f"  {self.details}") if line
        )


class CatalogNotFound(UserError):
    """No catalog database where the caller pointed: a mistake in ``--catalog`` or nothing published yet."""


class CatalogUnreachable(UserError):
    """The CKAN site or the URL of the catalog database did not answer: try again later (exit code 3)."""

    def __init__(self, message_th: str, message_en: str) -> None:
        super().__init__(message_th, message_en, EXIT_UNREACHABLE)


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """``func(args)``, with a :class:`UserError` printed (stderr) as its exit code instead of a traceback."""
    try:
        return func(args)
    except UserError as error:
        print(error.text(), file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("หยุดตามคำสั่ง / interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def exit_codes_epilog() -> str:
    """The exit codes for ``--help``, one per line, Thai then English."""
    return "รหัสออก / exit codes:\n" + "\n".join(f"  {code:<3} {th} / {en}" for code, th, en in EXIT_CODES)


class BilingualParser(argparse.ArgumentParser):
    """argparse, whose mistakes (missing or malformed arguments) are also said in Thai, with the next step."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(
            EXIT_USAGE,
            f"ตัวเลือกไม่ถูกต้อง: {message} (ดูวิธีใช้ด้วย {self.prog} --help)\n"
            f"{self.prog}: error: {message} (see {self.prog} --help)\n",
        )


# -- where the catalog database is -----------------------------------------------------------------------------
def default_catalog() -> Path:
    from domain.layout import Layout

    return Path(os.environ.get("TAMBON_CATALOG") or Layout.from_env().catalog)


def _is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def _ckan_action(site: str, action: str, params: dict[str, str]) -> dict[str, Any] | None:
    """The ``result`` of one CKAN API call; None when CKAN says no (4xx: e.g. no such dataset).

    An unreachable site or a server error is :class:`CatalogUnreachable` (exit 3: try later); a URL
    that is not one, or a site whose API does not answer CKAN's JSON, is a mistake in ``--catalog``.
    """
    import requests

    url = f"{site.rstrip('/')}/api/3/action/{action}"
    try:
        response = requests.get(url, params=params, timeout=60)
    except (requests.ConnectionError, requests.Timeout) as error:
        raise CatalogUnreachable(
            f"ติดต่อ CKAN ที่ {site} ไม่ได้ ตรวจว่า CKAN ทำงานอยู่ (make demo หรือ catalog/ckan/ckan.sh start) "
            "และที่อยู่ใน --catalog ถูกต้อง แล้วลองใหม่ หรือใช้แคตตาล็อกในเครื่องโดยไม่ใส่ --catalog",
            f"cannot reach CKAN at {site} ({type(error).__name__}): check that CKAN is running (make demo, or "
            "catalog/ckan/ckan.sh start) and that --catalog is right, then try again; or leave out --catalog "
            "to query the local catalog",
        ) from error
    except requests.RequestException as error:
        raise CatalogNotFound(
            f"ที่อยู่ {site} ใช้ไม่ได้ ใส่ที่อยู่ของเว็บ CKAN เช่น http://127.0.0.1:5000",
            f"{site} is not a usable URL ({error}): give the CKAN site's address, e.g. http://127.0.0.1:5000",
        ) from error
    if response.status_code >= 500:
        raise CatalogUnreachable(
            f"CKAN ที่ {site} ขัดข้อง (HTTP {response.status_code}) ลองใหม่ภายหลัง",
            f"CKAN at {site} answered with a server error (HTTP {response.status_code}): try again later",
        )
    if not response.ok:
        return None
    try:
        return response.json()["result"]
    except (ValueError, KeyError, TypeError) as error:
        raise CatalogNotFound(
            f"{site} ไม่ใช่เว็บ CKAN (API ไม่ตอบเป็น JSON ของ CKAN) ใส่ที่อยู่ของเว็บ CKAN เช่น http://127.0.0.1:5000",
            f"{site} does not look like a CKAN site (its API did not answer CKAN's JSON): give the CKAN site's "
            "address, e.g. http://127.0.0.1:5000",
        ) from error


def ckan_catalog_db_url(site: str, dataset: str = CKAN_DATASET) -> str:
    """The download URL of the ``DuckDB`` resource of the catalog dataset of a CKAN site."""
    found = _ckan_action(site, "package_show", {"id": dataset})
    resources: list[dict[str, Any]] = (found or {}).get("resources", [])
    if not any(str(r.get("format", "")).lower() == CKAN_FORMAT.lower() for r in resources):
        found = _ckan_action(site, "resource_search", {"query": f"format:{CKAN_FORMAT}"})
        resources = (found or {}).get("results", [])
    candidates = [r for r in resources if str(r.get("format", "")).lower() == CKAN_FORMAT.lower() and r.get("url")]
    candidates.sort(key=lambda r: r.get("role") != CKAN_ROLE)
    if not candidates:
        raise CatalogNotFound(
            f"ไม่พบไฟล์ฐานข้อมูลแคตตาล็อก (DuckDB) ใน {site} (ชุดข้อมูล {dataset}) เผยแพร่ไปยัง CKAN ก่อนด้วย "
            "tambon run หรือตรวจว่าเป็นที่อยู่ของเว็บ CKAN",
            f"no DuckDB catalog database found in {site} (dataset {dataset}): publish to CKAN first with "
            "tambon run, or check that this is the CKAN site's address",
        )
    return candidates[0]["url"]


_PUBLISH_FIRST_TH = "เผยแพร่ข้อมูลก่อนด้วย tambon run --round 2563-10 หรือระบุแคตตาล็อกด้วย --catalog"
_PUBLISH_FIRST_EN = "publish first with tambon run --round 2563-10, or name a catalog with --catalog"


def _built_fresh(root: Path) -> Path:
    """A catalog database built now for ``root``, in a temporary folder removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="tambon-query-"))
    atexit.register(shutil.rmtree, folder, True)
    entries = read_catalog(root)
    if not entries:
        raise CatalogNotFound(
            f"ไม่พบชุดข้อมูลใน {root} {_PUBLISH_FIRST_TH}", f"no published dataset in {root}: {_PUBLISH_FIRST_EN}"
        )
    return build(entries, local_locations(root, entries), folder / CATALOG_DB, base=root.resolve().as_posix()).path


def _local_database(folder: Path) -> tuple[Path, str | None]:
    """The catalog database of a local catalog folder (or of a data folder holding ``catalog/``),
    with the fingerprint the current catalog should have."""
    for root in (folder, folder / "catalog"):
        if any(root.glob("*/latest.json")):
            entries = read_catalog(root)
            expected = fingerprint(entries, local_locations(root, entries)) if entries else None
            return root / CATALOG_DB, expected
    raise CatalogNotFound(
        f"ไม่พบแคตตาล็อกใน {folder} (ยังไม่มีชุดข้อมูลที่เผยแพร่) {_PUBLISH_FIRST_TH}",
        f"no catalog found in {folder} (nothing published there): {_PUBLISH_FIRST_EN}",
    )


def _attach(con: duckdb.DuckDBPyConnection, location: str, alias: str) -> None:
    """Attach read-only; a file that is not a catalog database, or a URL that cannot be read, is said plainly."""
    try:
        con.execute(f"ATTACH {sql_literal(location)} AS {alias} (READ_ONLY)")
    except duckdb.Error as error:
        if _is_url(location):
            _url_unreadable(location, error)
        raise CatalogNotFound(
            f"เปิด {location} เป็นฐานข้อมูลแคตตาล็อกไม่ได้ ใช้ไฟล์ {CATALOG_DB} หรือโฟลเดอร์แคตตาล็อก",
            f"cannot open {location} as a catalog database ({error}): give a {CATALOG_DB} file or a catalog folder",
        ) from error


def _url_unreadable(location: str, error: duckdb.Error) -> NoReturn:
    """Why DuckDB could not attach a URL (it says "does not exist" either way): asked of the server itself."""
    import requests

    try:
        status = requests.head(location, allow_redirects=True, timeout=30).status_code
    except requests.RequestException as unreachable:
        raise CatalogUnreachable(
            f"ติดต่อ {location} ไม่ได้ ตรวจว่าเว็บทำงานอยู่และที่อยู่ถูกต้อง แล้วลองใหม่",
            f"cannot reach {location} ({type(unreachable).__name__}): check that the site is up and the URL "
            "is right, then try again",
        ) from error
    if status >= 500:
        raise CatalogUnreachable(
            f"เว็บที่ {location} ขัดข้อง (HTTP {status}) ลองใหม่ภายหลัง",
            f"{location} answered with a server error (HTTP {status}): try again later",
        ) from error
    raise CatalogNotFound(
        f"อ่านฐานข้อมูลแคตตาล็อกจาก {location} ไม่ได้ (HTTP {status}) ตรวจที่อยู่ หรือใส่ที่อยู่ของเว็บ CKAN แทน",
        f"cannot read a catalog database from {location} (HTTP {status}; {error}): check the URL, or give the "
        "CKAN site's address instead",
    ) from error


def connect(catalog: str | Path | None = None, *, alias: str = ALIAS) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the catalog database attached read-only as ``alias`` (and in use).

    ``catalog``: a local catalog folder (its ``tambon_catalog.duckdb``; built afresh into a temporary
    file when missing or out of date), a ``.duckdb`` file, a URL of one, or a CKAN site URL (its
    ``DuckDB`` resource). Default: ``$TAMBON_CATALOG``, else the data folder's ``catalog/``.
    A catalog that is not there is :class:`CatalogNotFound`, a site that does not answer
    :class:`CatalogUnreachable` (both :class:`UserError`, so a ValueError).
    """
    target = str(catalog) if catalog is not None else str(default_catalog())
    con = duckdb.connect()
    try:
        load_httpfs(con)  # views of a CKAN build read URLs
    except duckdb.Error as error:
        if _is_url(target):
            raise UserError(
                "โหลดส่วนขยาย httpfs ของ DuckDB ไม่ได้ (จำเป็นสำหรับที่อยู่เว็บ) ติดตั้งด้วย "
                "pip install duckdb-ext-httpfs หรือใช้แคตตาล็อกในเครื่อง",
                f"cannot load DuckDB's httpfs extension, needed for URLs ({error}): pip install duckdb-ext-httpfs, "
                "or query a local catalog",
            ) from error
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
        if catalog is not None:
            raise CatalogNotFound(
                f"ไม่พบแคตตาล็อก {target} ตรวจชื่อโฟลเดอร์ ไฟล์ .duckdb หรือที่อยู่เว็บที่ให้ใน --catalog",
                f"{target} does not exist: check the folder, .duckdb file or URL given to --catalog",
            )
        where_th, where_en = _default_source()
        raise CatalogNotFound(
            f"ไม่พบแคตตาล็อก {target} ตรวจ{where_th} หรือ{_PUBLISH_FIRST_TH}",
            f"{target} does not exist: check {where_en}, or {_PUBLISH_FIRST_EN}",
        )
    con.execute(f"USE {alias}")
    return con


def _default_source() -> tuple[str, str]:
    """Which setting named the default catalog, for the message when it is not there."""
    if os.environ.get("TAMBON_CATALOG"):
        return "ค่า TAMBON_CATALOG", "TAMBON_CATALOG"
    if os.environ.get("TAMBON_DATA_DIR"):
        return "ค่า TAMBON_DATA_DIR (โฟลเดอร์ข้อมูล)", "TAMBON_DATA_DIR (the data folder)"
    return "ว่ามีโฟลเดอร์ data/catalog", "that data/catalog exists"


# -- running a query -------------------------------------------------------------------------------------------
def _check_out(out: str | Path | None) -> None:
    """Refuse an output file we cannot write before any work is done."""
    if out is not None and Path(out).suffix.lower() not in (".csv", ".parquet"):
        raise UserError(
            f"เขียนผลลัพธ์ได้เฉพาะไฟล์ .csv หรือ .parquet: {out} เช่น --out result.csv",
            f"--out must end with .csv or .parquet, not {out}: e.g. --out result.csv",
        )


def run_query(
    sql: str,
    catalog: str | Path | None = None,
    out: str | Path | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
) -> pd.DataFrame:
    """The result as a DataFrame; with ``out`` also written as CSV (UTF-8 with BOM, for Excel) or Parquet."""
    _check_out(out)
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


def _dataset_to_describe(con: duckdb.DuckDBPyConnection, name: str) -> str:
    """The dataset ``--describe`` names (its ``_latest`` view names it too), or the list of those there are."""
    try:
        names = [row[0] for row in con.execute("SELECT name FROM datasets ORDER BY name").fetchall()]
    except duckdb.CatalogException:  # a DuckDB file, but not one of our catalog databases
        raise UserError(
            f"ฐานข้อมูลนี้ไม่มีตาราง datasets จึงไม่ใช่ฐานข้อมูลแคตตาล็อก ใช้ไฟล์ {CATALOG_DB} หรือโฟลเดอร์แคตตาล็อก",
            f"this database has no datasets table, so it is not a catalog database: give a {CATALOG_DB} file "
            "or a catalog folder",
        ) from None
    for candidate in (name, name.removesuffix("_latest")):
        if candidate in names:
            return candidate
    raise UserError(
        f"ไม่มีชุดข้อมูล {name!r} ในแคตตาล็อกนี้ ใช้ --describe กับชื่อใดชื่อหนึ่งต่อไปนี้ (หรือ --list)",
        f"no dataset {name!r} in this catalog: use --describe with one of these (or --list)",
        details=", ".join(names),
    )


def cmd_query(args: argparse.Namespace) -> int:
    """Run SQL, ``--list`` or ``--describe``; every mistake is a :class:`UserError` (SQL ones with DuckDB's words)."""
    if not (args.list or args.describe or args.sql):
        raise UserError(
            'ใส่คำสั่ง SQL หรือ --list หรือ --describe <ชื่อชุดข้อมูล> เช่น tambon query "SELECT * FROM datasets"',
            'give SQL, --list or --describe <dataset>, e.g. tambon query "SELECT * FROM datasets"',
        )
    _check_out(args.out)
    con = connect(args.catalog)
    if args.list:
        sql = (
            "SELECT name, title_th, title_en, latest_version, round_count AS rounds, rows_latest "
            "FROM datasets ORDER BY name"
        )
    elif args.describe:
        sql = (
            "SELECT column_name, duckdb_type AS type, title_th, title_en, description_th, description_en "
            f"FROM columns WHERE dataset = {sql_literal(_dataset_to_describe(con, args.describe))} ORDER BY position"
        )
    else:
        sql = sys.stdin.read() if args.sql == "-" else args.sql
    try:
        frame = run_query(sql, out=args.out, con=con)
    except duckdb.Error as error:
        raise UserError(
            "คำสั่ง SQL ผิดพลาด (ข้อความจาก DuckDB ด้านล่าง) ดูชื่อตารางด้วย tambon query --list "
            "และชื่อคอลัมน์ด้วย --describe <ชื่อชุดข้อมูล>",
            "query failed (DuckDB's message below): see the tables with tambon query --list and the columns "
            "with --describe <dataset>",
            details=str(error),
        ) from None
    except OSError as error:
        raise UserError(
            f"เขียนไฟล์ผลลัพธ์ {args.out} ไม่ได้ ตรวจโฟลเดอร์และสิทธิ์การเขียน",
            f"cannot write {args.out} ({error.strerror or error}): check the folder and its permissions",
        ) from None
    print(format_table(frame, args.max_rows, 60 if args.describe else 40))
    if args.out:
        print(f"เขียนผลลัพธ์ {len(frame):,} แถว / wrote {len(frame):,} rows -> {args.out}")
    return EXIT_OK


def add_command(subparsers: Any) -> argparse.ArgumentParser:
    """``tambon query``: for ``pipelines/cli.py``'s ``parser()``."""
    parser = subparsers.add_parser("query", help="run SQL against the published catalog / สืบค้นข้อมูลด้วย SQL")
    add_arguments(parser)
    parser.set_defaults(func=cmd_query)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = BilingualParser(
        prog="python -m catalog.query",
        description=__doc__,
        epilog=exit_codes_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as done:  # --help (0) or a malformed argument (2), already printed
        return done.code if isinstance(done.code, int) else EXIT_USAGE
    return run_command(cmd_query, args)


if __name__ == "__main__":
    sys.exit(main())
