"""The analyst catalog database: one small DuckDB file of documented views over every published dataset.

    tambon_catalog.duckdb
      <output>            every round, the current revision of each (UNION ALL of their Parquet files)
      <output>_latest     the latest round: the newest one past its reporting deadline or reported by every
                          province (catalog/latest.py); a newer round still being reported is in <output> only
      datasets            one row per dataset: titles, descriptions, versions, rounds, Thai GDC fields
      columns             one row per published field: types, Thai and English titles and descriptions
      rounds              one row per dataset and round: the revision in the views, its files, hashes, rows
      catalog_info        when and for which base the file was built, and how to use it

The file holds no data, only views that read the published Parquet files by their
location, so it stays small and is rebuilt at every publish. Two builds of the same
content exist, selected by the *base*: ``local`` (absolute paths into the catalog
folder) and a CKAN site (the stable download URLs of the revision resources). An
analyst anywhere runs, with nothing but ``duckdb`` and its httpfs extension::

    ATTACH 'https://<ckan>/dataset/<id>/resource/<id>/download/tambon_catalog.duckdb' AS tambon (READ_ONLY);
    SELECT * FROM tambon.village_profile_latest WHERE province_code = '47';

The builder, :func:`build`, is a pure function of the pointers and schemas
(:func:`read_catalog`) and a mapping from catalog-relative file paths to locations
(:func:`local_locations`, :func:`ckan_locations`). DuckDB binds a view when it is
created, so every location must be readable while building (for CKAN: after the
switch, when the revision files are public). Published revision files are never
touched: a database built earlier keeps returning exactly what it returned.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from catalog.ckan_publish import GDC_KEYS
from catalog.latest import PACKAGE_KEY, REPORTING_KEY, RULE, LatestPick, RoundStatus, pick_latest

if TYPE_CHECKING:
    from catalog.ckan_client import CkanClient

CATALOG_DB = "tambon_catalog.duckdb"
#: the CKAN dataset that holds the database as a resource of format ``DuckDB``
CKAN_DATASET = "tambon-analyst-catalog"
CKAN_ROLE = "analyst_db"
CKAN_FORMAT = "DuckDB"
DUCKDB_TYPES = {"string": "VARCHAR", "integer": "BIGINT", "number": "DOUBLE", "date": "DATE", "boolean": "BOOLEAN"}
GDC_COLUMNS = GDC_KEYS  #: Thai GDC keys shown as columns of ``datasets`` (lists joined with ", ")
HTTPFS_PACKAGE = "duckdb-ext-httpfs"
BLOCK_SIZE = 16384


# -- what the catalog holds --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RoundEntry:
    """The current revision of one round of one dataset, as its pointer and datapackage describe it."""

    round: str
    round_be: str
    revision: int
    version: str
    published_at: str
    parquet: str  # catalog-relative path, e.g. village_profile/2020-10/r1/village_profile_2563-10_2020-10_r1.parquet
    parquet_sha256: str
    parquet_bytes: int
    csv: str
    csv_sha256: str
    csv_bytes: int
    fields: tuple[tuple[str, str], ...]  # (name, Table Schema type) of this round's schema
    # what the "latest" rule needs (catalog/latest.py), from the pointer or datapackage; None: not published
    reporting_deadline: str | None = None  # ISO date
    provinces_expected: tuple[str, ...] | None = None
    provinces_reported: tuple[str, ...] | None = None

    @property
    def status(self) -> RoundStatus:
        return RoundStatus.from_metadata(
            self.round,
            {
                "deadline": self.reporting_deadline,
                "provinces_expected": self.provinces_expected,
                "provinces_reported": self.provinces_reported,
            },
        )


@dataclass(frozen=True)
class DatasetEntry:
    name: str
    title: dict[str, str]  # th, en
    description: dict[str, str]
    schema: dict[str, Any]  # the newest round's Table Schema
    thai_gdc: dict[str, Any]
    license: str
    rounds: tuple[RoundEntry, ...]  # oldest first
    #: the "latest" rule's pick (catalog/latest.py), decided by :func:`read_catalog` on its day; when the
    #: entry is made by hand and these are left out, the rule is applied as of today
    latest_round: str | None = None
    latest_reason: str | None = None
    latest_fallback: bool = False
    latest_note: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.latest_round is None and self.rounds:
            for key, value in _pick_fields(pick_latest([r.status for r in self.rounds])).items():
                object.__setattr__(self, key, value)

    @property
    def latest(self) -> RoundEntry:
        """The round the ``_latest`` view reads: the rule's pick, not always the newest."""
        return next(r for r in self.rounds if r.round == self.latest_round)

    @property
    def newest(self) -> RoundEntry:
        """The newest published round (its schema describes the dataset; it may still be being reported)."""
        return self.rounds[-1]


def _pick_fields(pick: LatestPick) -> dict[str, Any]:
    """The pick as :class:`DatasetEntry` fields: no date of judging, so the fingerprint moves only with the pick."""
    return {
        "latest_round": pick.round,
        "latest_reason": pick.reason,
        "latest_fallback": pick.fallback,
        "latest_note": pick.note(),
    }


def read_catalog(root: Path, today: dt.date | None = None) -> list[DatasetEntry]:
    """Every dataset of the local catalog folder: pointers (``latest.json``) and the current datapackages.

    The latest round of each is decided here, by the rule of catalog/latest.py as of ``today`` (default:
    the pipeline's today), from the reporting block the pipeline wrote with each round.
    """
    entries = []
    for pointer_path in sorted(Path(root).glob("*/latest.json")):
        pointer = json.loads(pointer_path.read_text(encoding="utf-8"))
        name = pointer["name"]
        rounds, package = [], {}
        for key in sorted(pointer["rounds"]):
            current = pointer["rounds"][key]
            folder = f"{name}/{current['path']}"
            package = json.loads((Path(root) / folder / "datapackage.json").read_text(encoding="utf-8"))
            schema = next(r["schema"] for r in package["resources"] if r["format"] == "parquet")
            files = current["files"]
            reporting = current.get(REPORTING_KEY) or package.get(PACKAGE_KEY) or {}
            expected, reported = reporting.get("provinces_expected"), reporting.get("provinces_reported")
            rounds.append(
                RoundEntry(
                    round=key,
                    round_be=package["round_be"],
                    revision=int(current["revision"]),
                    version=current["version"],
                    published_at=current.get("published_at") or package.get("created", ""),
                    parquet=f"{folder}/{files['parquet']['path']}",
                    parquet_sha256=files["parquet"]["sha256"],
                    parquet_bytes=int(files["parquet"]["bytes"]),
                    csv=f"{folder}/{files['csv']['path']}",
                    csv_sha256=files["csv"]["sha256"],
                    csv_bytes=int(files["csv"]["bytes"]),
                    fields=tuple((f["name"], f.get("type", "string")) for f in schema["fields"]),
                    reporting_deadline=reporting.get("deadline"),
                    provinces_expected=tuple(expected) if expected is not None else None,
                    provinces_reported=tuple(reported) if reported is not None else None,
                )
            )
        if not rounds:
            continue
        schema = next(r["schema"] for r in package["resources"] if r["format"] == "parquet")
        entries.append(
            DatasetEntry(
                name=name,
                title={"th": package["title_th"], "en": package["title"]},
                description={"th": package.get("description_th", ""), "en": package.get("description", "")},
                schema=schema,
                thai_gdc=package.get("thai_gdc", {}),
                license=", ".join(lic.get("name", "") for lic in package.get("licenses", [])),
                rounds=tuple(rounds),
                **_pick_fields(pick_latest([r.status for r in rounds], today)),
            )
        )
    return entries


def catalog_paths(entries: Iterable[DatasetEntry]) -> list[str]:
    """Every catalog-relative file path the database refers to (Parquet for the views, CSV listed in ``rounds``)."""
    return [path for e in entries for r in e.rounds for path in (r.parquet, r.csv)]


def local_locations(root: Path, entries: Iterable[DatasetEntry]) -> dict[str, str]:
    """Catalog-relative path -> absolute path in the local catalog folder."""
    base = Path(root).resolve()
    return {path: (base / path).as_posix() for path in catalog_paths(entries)}


def ckan_locations(entries: Iterable[DatasetEntry], packages: Mapping[str, dict[str, Any]]) -> dict[str, str]:
    """Catalog-relative path -> download URL of the matching revision resource in CKAN.

    ``packages``: ``package_show`` results by output name (as ``CkanPublisher`` names datasets:
    ``village_profile`` -> ``village-profile``). Resources are matched on the extras the publisher
    sets: ``role = revision``, ``round``, ``revision``, ``file_format``; pending ones are skipped.
    """
    locations: dict[str, str] = {}
    for entry in entries:
        package = packages.get(entry.name)
        if package is None:
            raise KeyError(f"CKAN ไม่มีชุดข้อมูล {entry.name} / CKAN has no dataset for {entry.name}")
        urls = {
            (r.get("round"), int(r.get("revision") or 0), r.get("file_format")): r["url"]
            for r in package.get("resources", [])
            if r.get("role") == "revision" and r.get("publish_state") != "pending" and r.get("url")
        }
        for round_ in entry.rounds:
            for fmt, path in (("parquet", round_.parquet), ("csv", round_.csv)):
                url = urls.get((round_.round, round_.revision, fmt))
                if url is None:
                    raise KeyError(
                        f"CKAN ยังไม่มีไฟล์ {path} ที่เผยแพร่แล้ว / CKAN has no published resource for {path} "
                        "(publish the datasets to CKAN first)"
                    )
                locations[path] = url
    return locations


# -- DuckDB helpers ----------------------------------------------------------------------------------------------
def httpfs_extension_path() -> str | None:
    """The httpfs extension file shipped by the ``duckdb-ext-httpfs`` PyPI package, if installed."""
    from importlib import metadata

    try:
        files = metadata.files(HTTPFS_PACKAGE) or []
    except metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name == "httpfs.duckdb_extension" and f"v{duckdb.__version__}" in file.parts:
            return str(file.locate())
    return None


def load_httpfs(con: duckdb.DuckDBPyConnection) -> None:
    """Load httpfs from the PyPI package (nothing is downloaded at run time), else the usual way."""
    path = httpfs_extension_path()
    if path:
        con.execute(f"LOAD {sql_literal(path)}")
    else:
        con.execute("LOAD httpfs")


def sql_literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _is_url(location: str) -> bool:
    return location.startswith(("http://", "https://", "s3://", "gs://", "az://"))


# -- the builder -------------------------------------------------------------------------------------------------
TABLES = {
    "catalog_info": """
        key VARCHAR PRIMARY KEY, value VARCHAR""",
    "datasets": """
        name VARCHAR PRIMARY KEY, view_all VARCHAR, view_latest VARCHAR,
        title_th VARCHAR, title_en VARCHAR, description_th VARCHAR, description_en VARCHAR,
        latest_round VARCHAR, latest_round_be VARCHAR, latest_version VARCHAR, latest_revision INTEGER,
        latest_reason VARCHAR, latest_is_fallback BOOLEAN, latest_note_th VARCHAR, latest_note_en VARCHAR,
        newest_round VARCHAR, rounds VARCHAR[], round_count INTEGER, rows_all BIGINT, rows_latest BIGINT,
        primary_key VARCHAR[], license VARCHAR, tags VARCHAR[], {gdc}, thai_gdc VARCHAR""",
    "columns": """
        dataset VARCHAR, position INTEGER, column_name VARCHAR, type VARCHAR, duckdb_type VARCHAR,
        title_th VARCHAR, title_en VARCHAR, description_th VARCHAR, description_en VARCHAR,
        required BOOLEAN, in_primary_key BOOLEAN, enum VARCHAR[], enum_labels VARCHAR,
        true_values VARCHAR[], false_values VARCHAR[], constraints VARCHAR, rounds VARCHAR[],
        may_be_suppressed BOOLEAN, suppressed_means_th VARCHAR, suppressed_means_en VARCHAR,
        PRIMARY KEY (dataset, column_name)""",
    "rounds": """
        dataset VARCHAR, round VARCHAR, round_be VARCHAR, revision INTEGER, version VARCHAR, is_latest BOOLEAN,
        rows BIGINT, published_at VARCHAR, parquet VARCHAR, parquet_sha256 VARCHAR, parquet_bytes BIGINT,
        csv VARCHAR, csv_sha256 VARCHAR, csv_bytes BIGINT, reporting_deadline DATE, provinces_expected INTEGER,
        provinces_reported INTEGER, still_reporting BOOLEAN, PRIMARY KEY (dataset, round)""",
}
TABLE_COMMENTS = {
    "catalog_info": "วิธีใช้และที่มาของฐานข้อมูลนี้ / how this database was built and how to use it",
    "datasets": "ชุดข้อมูลทั้งหมด ชื่อ คำอธิบาย ฉบับ และข้อมูลตามมาตรฐาน Thai GDC / every dataset: titles, "
    "descriptions, versions and Thai GDC metadata",
    "columns": "พจนานุกรมข้อมูล ทุกคอลัมน์ของทุกชุดข้อมูล พร้อมชนิดและคำอธิบายภาษาไทยและอังกฤษ"
    " และคอลัมน์ที่อาจถูกปกปิด (may_be_suppressed: ค่าว่างคือจำนวนน้อยที่ปกปิดไว้ ไม่ใช่ศูนย์) / data dictionary: "
    "every field of every dataset with its type and Thai and English description, and whether it may be "
    "suppressed (may_be_suppressed: a NULL there is a small count hidden on purpose, not a zero)",
    "rounds": "ฉบับปัจจุบันของแต่ละรอบที่มุมมองอ่าน พร้อมตำแหน่งไฟล์ ค่าแฮช กำหนดส่ง และจำนวนจังหวัดที่รายงาน "
    "(is_latest: รอบที่มุมมอง _latest อ่าน) / the current revision of each round that the views read, with file "
    "locations, hashes, reporting deadline and provinces reported (is_latest: the round the _latest views read)",
}


@dataclass
class BuildResult:
    path: Path
    base: str
    fingerprint: str
    datasets: list[str] = field(default_factory=list)
    written: bool = True  # False: the existing file already had this content


def fingerprint(entries: Sequence[DatasetEntry], locations: Mapping[str, str]) -> str:
    """Identity of the database's content (independent of when it was built)."""
    used = {p: locations[p] for p in catalog_paths(entries)}
    data = json.dumps([[asdict(e) for e in entries], used], ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(data.encode()).hexdigest()


def build(
    entries: Sequence[DatasetEntry],
    locations: Mapping[str, str],
    out: Path,
    *,
    base: str,
    built_at: str | None = None,
) -> BuildResult:
    """Write the catalog database to ``out`` (a new file, written to a temporary name and renamed into place).

    ``locations`` maps every catalog-relative path of ``entries`` to an absolute path or URL readable
    now (DuckDB binds each view when it is created). ``base`` is recorded in ``catalog_info``.
    """
    if not entries:
        raise ValueError("แคตตาล็อกยังว่าง / the catalog holds no dataset yet")
    missing = [p for p in catalog_paths(entries) if p not in locations]
    if missing:
        raise KeyError(f"ไม่มีตำแหน่งของไฟล์ / no location for: {', '.join(missing[:5])}")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    temporary = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    for leftover in (temporary, temporary.with_name(temporary.name + ".wal")):
        leftover.unlink(missing_ok=True)
    digest = fingerprint(entries, locations)
    con = duckdb.connect()
    try:
        # 16 KiB blocks (not 256 KiB): the file is ~10x smaller, so attaching it over HTTP reads little
        con.execute(f"ATTACH {sql_literal(temporary.as_posix())} AS catalog_db (BLOCK_SIZE {BLOCK_SIZE})")
        con.execute("USE catalog_db")
        con.execute("BEGIN TRANSACTION")  # one commit: each of hundreds of COMMENT ONs alone is an fsync
        if any(_is_url(locations[r.parquet]) for e in entries for r in e.rounds):
            load_httpfs(con)
        gdc_columns = ", ".join(f"{sql_ident(k)} VARCHAR" for k in GDC_COLUMNS)
        for table, columns in TABLES.items():
            con.execute(f"CREATE TABLE {table} ({columns.format(gdc=gdc_columns)})")
            con.execute(f"COMMENT ON TABLE {table} IS {sql_literal(TABLE_COMMENTS.get(table, table))}")
        for entry in entries:
            _create_views(con, entry, locations)
            _insert_dataset(con, entry, locations)
        example = entries[0].name
        info = {
            "base": base,
            "built_at": built_at or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            "fingerprint": digest,
            "duckdb_version": duckdb.__version__,
            "datasets": ", ".join(e.name for e in entries),
            "usage": f"ATTACH '<this file or its URL>' AS tambon (READ_ONLY); "
            f"SELECT * FROM tambon.{example}_latest LIMIT 10; "
            f"SELECT * FROM tambon.columns WHERE dataset = '{example}';",
            "usage_th": "ทุกชุดข้อมูลมีมุมมองทุกรอบ (<ชื่อชุดข้อมูล>) และรอบล่าสุด (<ชื่อชุดข้อมูล>_latest) "
            "คำอธิบายคอลัมน์อยู่ในตาราง columns และรายการชุดข้อมูลอยู่ในตาราง datasets",
            "latest_rule_th": RULE["th"],
            "latest_rule_en": RULE["en"],
        }
        con.executemany("INSERT INTO catalog_info VALUES (?, ?)", list(info.items()))
        con.execute("COMMIT")
        con.execute("CHECKPOINT")
    finally:
        con.close()
    temporary.chmod(0o644)
    os.replace(temporary, out)
    return BuildResult(out, base, digest, [e.name for e in entries])


def _union_fields(entry: DatasetEntry) -> tuple[list[tuple[str, str]], bool]:
    """Columns of the all-rounds view (newest schema first, then fields only older rounds have) and
    whether the rounds' field lists differ (then the files are matched by column name)."""
    names = [name for name, _ in entry.newest.fields]
    typed = dict(entry.newest.fields)
    for round_ in reversed(entry.rounds):
        for name, kind in round_.fields:
            if name not in typed:
                names.append(name)
                typed[name] = kind
    differ = len({tuple(n for n, _ in r.fields) for r in entry.rounds}) > 1
    return [(n, typed[n]) for n in names], differ


def _scan(files: Sequence[str], fields: Sequence[tuple[str, str]], by_name: bool) -> str:
    columns = ", ".join(sql_ident(name) for name, _ in fields)
    listed = ", ".join(sql_literal(f) for f in files)
    options = ", union_by_name = true" if by_name else ""
    return f"SELECT {columns} FROM read_parquet([{listed}]{options})"


def _column_comment(spec: dict[str, Any]) -> str:
    title = " / ".join(t for t in (spec.get("title_th"), spec.get("title")) if t)
    about = " / ".join(t for t in (spec.get("description_th"), spec.get("description")) if t)
    return f"{title}: {about}" if title and about else title or about


def _create_views(con: duckdb.DuckDBPyConnection, entry: DatasetEntry, locations: Mapping[str, str]) -> None:
    fields, differ = _union_fields(entry)
    specs = {f["name"]: f for f in entry.schema["fields"]}
    latest = entry.latest
    views = {
        entry.name: (
            _scan([locations[r.parquet] for r in entry.rounds], fields, differ),
            f"{entry.title['th']} ทุกรอบ / {entry.title['en']}, all rounds "
            f"({', '.join(f'{r.round_be} ({r.round}) r{r.revision}' for r in entry.rounds)})",
            fields,
        ),
        f"{entry.name}_latest": (
            _scan([locations[latest.parquet]], latest.fields, False),
            f"{entry.title['th']} รอบล่าสุด / {entry.title['en']}, latest round "
            f"({latest.round_be} ({latest.round}) r{latest.revision}): "
            f"{entry.latest_note['th']} / {entry.latest_note['en']}. {RULE['th']} / {RULE['en']}",
            list(latest.fields),
        ),
    }
    for view, (select, comment, view_fields) in views.items():
        con.execute(f"CREATE VIEW {sql_ident(view)} AS {select}")
        con.execute(f"COMMENT ON VIEW {sql_ident(view)} IS {sql_literal(comment)}")
        for name, _ in view_fields:
            text = _column_comment(specs.get(name, {}))
            if text:
                con.execute(f"COMMENT ON COLUMN {sql_ident(view)}.{sql_ident(name)} IS {sql_literal(text)}")


def _row_counts(con: duckdb.DuckDBPyConnection, files: Sequence[str]) -> dict[str, int]:
    listed = ", ".join(sql_literal(f) for f in files)
    rows = con.execute(f"SELECT file_name, num_rows FROM parquet_file_metadata([{listed}])").fetchall()
    return {name: int(count) for name, count in rows}


def _text(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, list | tuple):
        return ", ".join(map(str, value))
    return str(value)


def _insert_dataset(con: duckdb.DuckDBPyConnection, entry: DatasetEntry, locations: Mapping[str, str]) -> None:
    counts = _row_counts(con, [locations[r.parquet] for r in entry.rounds])
    rows = {r.round: counts.get(locations[r.parquet]) for r in entry.rounds}
    latest = entry.latest
    gdc = entry.thai_gdc
    primary_key = entry.schema.get("primaryKey", [])
    con.execute(
        f"INSERT INTO datasets VALUES ({', '.join(['?'] * (24 + len(GDC_COLUMNS)))})",
        [
            entry.name,
            entry.name,
            f"{entry.name}_latest",
            entry.title["th"],
            entry.title["en"],
            entry.description["th"],
            entry.description["en"],
            latest.round,
            latest.round_be,
            latest.version,
            latest.revision,
            entry.latest_reason,
            entry.latest_fallback,
            (entry.latest_note or {}).get("th"),
            (entry.latest_note or {}).get("en"),
            entry.newest.round,
            [r.round for r in entry.rounds],
            len(entry.rounds),
            sum(v or 0 for v in rows.values()),
            rows[latest.round],
            list(primary_key),
            entry.license,
            list(gdc.get("tags", [])),
            *(_text(gdc.get(k)) for k in GDC_COLUMNS),
            json.dumps(gdc, ensure_ascii=False, sort_keys=True),
        ],
    )
    con.executemany(
        f"INSERT INTO rounds VALUES ({', '.join(['?'] * 18)})",
        [
            [
                entry.name,
                r.round,
                r.round_be,
                r.revision,
                r.version,
                r is latest,
                rows[r.round],
                r.published_at,
                locations[r.parquet],
                r.parquet_sha256,
                r.parquet_bytes,
                locations[r.csv],
                r.csv_sha256,
                r.csv_bytes,
                r.reporting_deadline,
                len(r.provinces_expected) if r.provinces_expected is not None else None,
                (r.status.coverage or (None,))[0],
                # newer than the latest round (not settled yet), or the latest itself when it is a fallback
                r.round > latest.round or (entry.latest_fallback and r is latest),
            ]
            for r in entry.rounds
        ],
    )
    fields, _ = _union_fields(entry)
    specs = {f["name"]: f for f in entry.schema["fields"]}
    # What a NULL means in a column small-cell suppression may hide (catalog.outputs.suppression_text).
    hiding = entry.schema.get("tambon:suppression", {})
    records = []
    for position, (name, kind) in enumerate(fields, start=1):
        spec = specs.get(name, {"name": name, "type": kind})
        constraints = spec.get("constraints", {})
        hidden = bool(spec.get("tambon:suppressible", False))
        records.append(
            [
                entry.name,
                position,
                name,
                kind,
                DUCKDB_TYPES.get(kind, "VARCHAR"),
                spec.get("title_th"),
                spec.get("title"),
                spec.get("description_th"),
                spec.get("description"),
                bool(constraints.get("required", False)),
                name in primary_key,
                [str(v) for v in constraints["enum"]] if "enum" in constraints else None,
                json.dumps(spec["enum_labels"], ensure_ascii=False) if "enum_labels" in spec else None,
                spec.get("trueValues"),
                spec.get("falseValues"),
                json.dumps(constraints, ensure_ascii=False, sort_keys=True) if constraints else None,
                [r.round for r in entry.rounds if name in dict(r.fields)],
                hidden,
                hiding.get("th") if hidden else None,
                hiding.get("en") if hidden else None,
            ]
        )
    con.executemany(f"INSERT INTO columns VALUES ({', '.join(['?'] * 20)})", records)


# -- the two builds ----------------------------------------------------------------------------------------------
def built_fingerprint(path: Path) -> str | None:
    """The fingerprint recorded in an existing catalog database (None if there is none or it is unreadable)."""
    if not Path(path).is_file():
        return None
    try:
        con = duckdb.connect()
        con.execute(f"ATTACH {sql_literal(Path(path).as_posix())} AS existing (READ_ONLY)")
        row = con.execute("SELECT value FROM existing.catalog_info WHERE key = 'fingerprint'").fetchone()
        con.close()
    except duckdb.Error:
        return None
    return row[0] if row else None


def build_local(root: Path, out: Path | None = None, *, force: bool = False) -> BuildResult:
    """The local build: ``<catalog>/tambon_catalog.duckdb`` with views over the catalog folder's absolute paths.

    Left as it is when its content would not change (same pointers, schemas and paths), unless ``force``.
    """
    root = Path(root).resolve()
    entries = read_catalog(root)
    locations = local_locations(root, entries)
    out = Path(out or root / CATALOG_DB)
    digest = fingerprint(entries, locations) if entries else None
    if not force and digest and built_fingerprint(out) == digest:
        return BuildResult(out, root.as_posix(), digest, [e.name for e in entries], written=False)
    return build(entries, locations, out, base=root.as_posix())


def ckan_packages(entries: Iterable[DatasetEntry], ckan: str | CkanClient) -> dict[str, dict[str, Any]]:
    """``package_show`` of every dataset CKAN holds (a CkanClient, or a site URL for anonymous reads);
    datasets CKAN does not have are left out."""
    import ckanapi

    packages = {}
    for entry in entries:
        name = entry.name.replace("_", "-")
        if isinstance(ckan, str):
            import requests

            response = requests.get(f"{ckan.rstrip('/')}/api/3/action/package_show", params={"id": name}, timeout=60)
            if response.status_code == 404:
                continue
            response.raise_for_status()
            packages[entry.name] = response.json()["result"]
        else:
            try:
                packages[entry.name] = ckan.call("package_show", id=name)
            except ckanapi.NotFound:
                continue
    return packages


def in_ckan(
    entries: Sequence[DatasetEntry], packages: Mapping[str, dict[str, Any]]
) -> tuple[list[DatasetEntry], list[str]]:
    """The datasets whose current revisions CKAN shows (published, not pending), and the names of the others
    (not mirrored to CKAN yet: left out of the CKAN build until they are)."""
    ready, missing = [], []
    for entry in entries:
        try:
            ckan_locations([entry], packages)
            ready.append(entry)
        except KeyError:
            missing.append(entry.name)
    return ready, missing


# -- publishing the CKAN build -------------------------------------------------------------------------------------
@dataclass
class CkanDbOutcome:
    dataset: str
    resource_id: str
    url: str
    uploaded: bool
    fingerprint: str
    not_in_ckan: list[str] = field(default_factory=list)  # datasets left out: not published to CKAN yet


def _catalog_dataset_fields(entries: Sequence[DatasetEntry], dataset: str, organization: str) -> dict[str, Any]:
    """Thai GDC fields of the CKAN dataset holding the database, taken from the record dataset's declaration."""
    source = next((e for e in entries if e.thai_gdc.get("data_type") == "ข้อมูลระเบียน"), entries[0])
    gdc = source.thai_gdc
    keep = (
        "maintainer", "maintainer_email", "objective", "update_frequency_unit", "update_frequency_interval",
        "data_source", "data_category", "license_id", "data_language", "created_date", "first_year_of_data",
    )  # fmt: skip
    fields = {k: gdc[k] for k in keep if gdc.get(k) not in (None, "")}
    rounds = sorted({(r.round, r.round_be) for e in entries for r in e.rounds})
    names = ", ".join(e.name for e in entries)
    fields.update(
        name=dataset,
        title="ฐานข้อมูลแคตตาล็อกสำหรับนักวิเคราะห์ (DuckDB)",
        title_en="Analyst catalog database (DuckDB)",
        notes=(
            "ไฟล์ฐานข้อมูล DuckDB ขนาดเล็กที่มีมุมมอง (view) ของทุกชุดข้อมูลทุกรอบ และรอบล่าสุด (<ชื่อ>_latest) "
            "พร้อมตาราง datasets และพจนานุกรมข้อมูล columns (คำอธิบายภาษาไทยและอังกฤษ) มุมมองอ่านไฟล์ Parquet "
            "ที่เผยแพร่ในแคตตาล็อกนี้โดยตรงผ่าน URL ใช้งานด้วยคำสั่ง "
            "`ATTACH '<URL ของไฟล์>' AS tambon (READ_ONLY);` ใน DuckDB\n\n"
            f"A small DuckDB database of views over every round of every dataset ({names}), plus `<name>_latest`, "
            "a `datasets` table and a `columns` data dictionary (Thai and English). The views read the published "
            "Parquet files by URL: in DuckDB, `ATTACH '<URL of the file>' AS tambon (READ_ONLY);` then query."
        ),
        notes_en="A DuckDB database of documented views over every published round of every dataset.",
        owner_org=organization,
        tag_string=",".join([*gdc.get("tags", []), "DuckDB", "Parquet"]),
        data_type="ข้อมูลหลากหลายประเภท",
        data_format=["Database"],
        geo_coverage=gdc.get("geo_coverage") or "ประเทศ",
        version=max(e.newest.version for e in entries),
        round_coverage=", ".join(f"{be} ({key})" for key, be in rounds),
        last_year_of_data=str(max(int(be[:4]) for _, be in rounds)),
        # the rounds the views cover: dct:temporal in the DCAT feed, as on every published dataset
        coverage_round=[be for _, be in rounds],
        coverage_round_ce=[key for key, _ in rounds],
    )
    return fields


def publish_ckan(
    client: CkanClient,
    root: Path,
    *,
    dataset: str = CKAN_DATASET,
    organization: str = "dopa",
) -> CkanDbOutcome:
    """Build the CKAN variant and put it in CKAN as the ``DuckDB`` resource of ``dataset`` (a stable URL).

    Call after every output has been published (switched) to CKAN: the views bind the public URLs.
    Unchanged content (same fingerprint) uploads nothing; a new file replaces the old one at the same URL
    and is verified by downloading it back.
    """
    import ckanapi

    from catalog.files import sha256

    entries = read_catalog(Path(root))
    packages = ckan_packages(entries, client)
    entries, missing = in_ckan(entries, packages)
    if not entries:
        raise ValueError("CKAN ยังไม่มีชุดข้อมูลที่เผยแพร่แล้ว / no dataset of the catalog is published in CKAN yet")
    locations = ckan_locations(entries, packages)
    digest = fingerprint(entries, locations)
    fields = _catalog_dataset_fields(entries, dataset, organization)
    try:
        package = client.call("package_show", id=dataset)
        compared = ("version", "round_coverage", "coverage_round_ce", "notes", "title")
        if any(str(package.get(k)) != str(fields[k]) for k in compared):
            package = client.call("package_patch", id=package["id"], **fields)
    except ckanapi.NotFound:
        package = client.call("package_create", **fields)
    resource = next((r for r in package.get("resources", []) if r.get("role") == CKAN_ROLE), None)
    if resource and resource.get("content_fingerprint") == digest:
        return CkanDbOutcome(dataset, resource["id"], resource["url"], False, digest, missing)
    with tempfile.TemporaryDirectory(prefix="tambon-catalog-db-") as tmp:
        built = build(entries, locations, Path(tmp) / CATALOG_DB, base=client.url)
        data_hash = sha256(built.path.read_bytes())
        meta = {
            "name": "ฐานข้อมูลแคตตาล็อก / catalog database · DuckDB",
            "format": CKAN_FORMAT,
            "role": CKAN_ROLE,
            "hash": data_hash,
            "size": str(built.path.stat().st_size),
            "content_fingerprint": "",  # set after the upload is verified
            # the database's own date (it is rebuilt, not CKAN's record date): dct:modified in the DCAT feed
            "modified": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "description": "ใช้ใน DuckDB: ATTACH '<URL นี้>' AS tambon (READ_ONLY); / in DuckDB: "
            "ATTACH '<this URL>' AS tambon (READ_ONLY); then SELECT * FROM tambon.datasets",
        }
        if resource:
            resource = client.upload("resource_patch", {"id": resource["id"], **meta}, "upload", built.path)
        else:
            meta["issued"] = meta["modified"]  # first published now; dct:issued
            resource = client.upload("resource_create", {"package_id": package["id"], **meta}, "upload", built.path)
        got = client.sha256_of(resource["url"])
        if got != data_hash:
            raise RuntimeError(
                f"ไฟล์ฐานข้อมูลที่อัปโหลดไม่ตรงกับต้นฉบับ / the uploaded catalog database arrived corrupted "
                f"(sha256 {got} != {data_hash})"
            )
    resource = client.call("resource_patch", id=resource["id"], content_fingerprint=digest)
    return CkanDbOutcome(dataset, resource["id"], resource["url"], True, digest, missing)
