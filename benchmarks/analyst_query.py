"""An analyst's one-province query over a year of national village rounds: bytes read and speed vs CSV.

A year (12 monthly rounds) of the published ``village_profile`` is made from one
national round run through the real pipeline (generate, ingest, validate,
quality, aggregate, publish), rewritten per round with the round columns changed
and the counts perturbed slightly, and published with the real local catalog
(``LocalCatalog.publish``: the same Parquet and CSV writers). The query goes
through the analyst catalog database (``catalog/analyst_db.py``), as an analyst's
would, and the same query over the 12 CSV files runs in the same process.

Bytes read: DuckDB 1.4.4's profiling metric ``total_bytes_read`` is recorded, but
it only counts the reads that carry a query context (the Parquet footers, not the
column chunks: 61,880 bytes for a full scan of a 2.4 MB file), so the figure used
is the bytes the process actually read from files during the query
(``rchar`` of ``/proc/self/io``), cross-checked with an estimate from the Parquet
metadata (footers plus the chunks of the projected columns in row groups whose
``province_code`` statistics admit the province).

The effect of the Parquet row-group size is measured on the same data with the
same writer options but for ``row_group_size``.

    python -m benchmarks.analyst_query [--source CATALOG_DIR] [--keep DIR] [--province 47] [--repeat 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from catalog import analyst_db
from catalog.files import PARQUET_OPTIONS
from catalog.local import LocalCatalog
from catalog.outputs import Output
from domain.rounds import Round, parse_round

RESULTS = Path(__file__).parent / "results"
DATASET = "village_profile"
FIRST_ROUND = "2563-10"
ROUNDS = 12
ROW_GROUP_SIZES = (128 * 1024, 16 * 1024, 8 * 1024, 4 * 1024, 2 * 1024)

QUERIES = {
    # the primary figure: every column of one province, every round (pruning must come from the row groups)
    "province_all_columns": "SELECT * FROM {src} WHERE province_code = '{province}'",
    # a typical summary: a few columns of one province, every round
    "province_summary": """
        SELECT round_be, count(*) AS villages, sum(households) AS households, sum(population_total) AS population,
               count(*) FILTER (WHERE NOT has_electricity) AS without_electricity
        FROM {src} WHERE province_code = '{province}' GROUP BY round_be ORDER BY round_be""",
}


# -- a year of published rounds ------------------------------------------------------------------------------------
def national_round(data_dir: Path) -> Path:
    """Run one national round through the pipeline; returns the catalog folder."""
    import samples.village_profile as generator
    from domain.declarations import load_datasets
    from domain.layout import Layout
    from pipelines import stages

    spec = load_datasets()[DATASET]
    round_ = parse_round(FIRST_ROUND)
    layout = Layout(data_dir)
    generator.generate(round_, layout.landing_dir(spec.name, round_), provinces=None)
    job = stages.RoundJob(spec, round_, layout)
    for stage in (stages.ingest, stages.validate, stages.quality, stages.aggregate):
        stage(job)
    stages.publish(job, LocalCatalog(layout.catalog))
    return layout.catalog


def _rounds() -> list[Round]:
    first = parse_round(FIRST_ROUND)
    months = [first.year * 12 + first.month - 1 + i for i in range(ROUNDS)]
    return [Round(m // 12, m % 12 + 1) for m in months]


def year_of_rounds(source: Path, target: Path, seed: int = 2564) -> LocalCatalog:
    """Publish 12 rounds into ``target`` made from the source catalog's newest ``village_profile`` round."""
    entry = next(e for e in analyst_db.read_catalog(source) if e.name == DATASET)
    package = json.loads((source / Path(entry.latest.parquet).parent / "datapackage.json").read_text("utf-8"))
    base = pq.read_table(source / entry.latest.parquet).to_pandas()
    rng = np.random.default_rng(seed)
    catalog = LocalCatalog(target)
    for round_ in _rounds():
        frame = base.copy()
        frame["round"], frame["round_be"] = round_.key, round_.be_key
        frame["survey_date"] = [
            round_.first_day.replace(day=min(d.day, 28)) if pd.notna(d) else None for d in frame["survey_date"]
        ]
        for column in ("households", "population_male", "population_female"):
            frame[column] = (frame[column] + rng.integers(-2, 3, len(frame))).clip(lower=0)
        frame["population_total"] = frame["population_male"] + frame["population_female"]
        flip = rng.random(len(frame)) < 0.01
        frame.loc[flip, "has_internet"] = ~frame.loc[flip, "has_internet"].astype(bool)
        output = Output(
            name=DATASET,
            kind="records",
            title={"th": package["title_th"], "en": package["title"]},
            description={"th": package["description_th"], "en": package["description"]},
            schema=entry.schema,
            frame=frame,
        )
        catalog.publish(output, round_, package.get("thai_gdc", {}))
    catalog.write_index()
    return catalog


def rewrite_row_groups(catalog: LocalCatalog, folder: Path, row_group_size: int) -> list[Path]:
    """The same tables written with the same options but ``row_group_size`` (the proposal under test)."""
    entry = next(e for e in analyst_db.read_catalog(catalog.root) if e.name == DATASET)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for round_ in entry.rounds:
        table = pq.read_table(catalog.root / round_.parquet)
        path = folder / Path(round_.parquet).name
        pq.write_table(table, path, **{**PARQUET_OPTIONS, "row_group_size": row_group_size})
        paths.append(path)
    return paths


# -- measuring -----------------------------------------------------------------------------------------------------
def _rchar() -> int | None:
    try:
        with open("/proc/self/io", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("rchar:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _connect(catalog_db: Path | None) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()  # a new database instance: no cache shared with the previous run
    if catalog_db is not None:
        con.execute(f"ATTACH {analyst_db.sql_literal(catalog_db.as_posix())} AS tambon (READ_ONLY)")
        con.execute("USE tambon")
    return con


def _csv_source(files: list[Path], schema: dict[str, Any]) -> str:
    """The CSV files read as typed as DuckDB can: declared column types, booleans from their Thai words."""
    columns = {
        f["name"]: "VARCHAR" if f.get("type") == "boolean" else analyst_db.DUCKDB_TYPES[f.get("type", "string")]
        for f in schema["fields"]
    }
    booleans = [
        f"({analyst_db.sql_ident(f['name'])} = {analyst_db.sql_literal(f.get('trueValues', ['true'])[0])}) "
        f"AS {analyst_db.sql_ident(f['name'])}"
        for f in schema["fields"]
        if f.get("type") == "boolean"
    ]
    listed = ", ".join(analyst_db.sql_literal(p.as_posix()) for p in files)
    spec = (
        "{" + ", ".join(f"{analyst_db.sql_literal(k)}: {analyst_db.sql_literal(v)}" for k, v in columns.items()) + "}"
    )
    replace = f" REPLACE ({', '.join(booleans)})" if booleans else ""
    return f"(SELECT *{replace} FROM read_csv([{listed}], header = true, columns = {spec}))"


def measure(sql: str, catalog_db: Path | None, repeat: int, profile_file: Path) -> dict[str, Any]:
    """Bytes read (one profiled run) and the median time of ``repeat`` further runs, each on a new connection.

    A first, unmeasured run makes Python import what converting this result needs (module files
    read then would count as bytes read)."""
    con = _connect(catalog_db)
    con.execute(sql).fetch_arrow_table().to_pandas()
    con.close()
    con = _connect(catalog_db)
    con.execute("PRAGMA enable_profiling = 'json'")
    con.execute(f"PRAGMA profiling_output = {analyst_db.sql_literal(profile_file.as_posix())}")
    before = _rchar()
    result = con.execute(sql).fetch_arrow_table()
    after = _rchar()
    con.close()
    profile = json.loads(profile_file.read_text(encoding="utf-8"))
    seconds = []
    for _ in range(repeat):
        con = _connect(catalog_db)
        start = time.perf_counter()
        con.execute(sql).fetch_arrow_table()
        seconds.append(time.perf_counter() - start)
        con.close()
    return {
        "rows": result.num_rows,
        "result": result,
        "os_bytes_read": after - before if before is not None and after is not None else None,
        "duckdb_total_bytes_read": int(profile.get("total_bytes_read", 0)),
        "seconds_median": statistics.median(seconds),
        "seconds_min": min(seconds),
    }


def estimated_bytes(files: list[Path], province: str, columns: list[str] | None) -> int:
    """Footers plus the chunks of the projected columns in row groups whose statistics admit the province."""
    total = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        total += meta.serialized_size + 8
        names = [meta.schema.column(i).name for i in range(meta.num_columns)]
        wanted = set(columns or names) | {"province_code"}
        key = names.index("province_code")
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            stats = group.column(key).statistics
            if stats is not None and stats.has_min_max and not (stats.min <= province <= stats.max):
                continue
            total += sum(group.column(i).total_compressed_size for i in range(meta.num_columns) if names[i] in wanted)
    return total


def run(source: Path | None, work: Path, province: str, repeat: int) -> dict[str, Any]:
    started = time.perf_counter()
    if source is None:
        source = national_round(work / "national")
    seconds_source = time.perf_counter() - started
    start = time.perf_counter()
    catalog = year_of_rounds(source, work / "year" / "catalog")
    seconds_publish = time.perf_counter() - start
    start = time.perf_counter()
    built = analyst_db.build_local(catalog.root)
    seconds_catalog_db = time.perf_counter() - start

    entry = next(e for e in analyst_db.read_catalog(catalog.root) if e.name == DATASET)
    parquet = [catalog.root / r.parquet for r in entry.rounds]
    csv = [catalog.root / r.csv for r in entry.rounds]
    parquet_total = sum(p.stat().st_size for p in parquet)
    csv_total = sum(p.stat().st_size for p in csv)
    groups = pq.ParquetFile(parquet[0]).metadata.num_row_groups
    profile_file = work / "profile.json"
    summary_columns = ["round_be", "households", "population_total", "has_electricity"]

    figures: dict[str, Any] = {}
    for name, template in QUERIES.items():
        via_view = measure(template.format(src=DATASET, province=province), built.path, repeat, profile_file)
        over_csv = measure(
            template.format(src=_csv_source(csv, entry.schema), province=province), None, repeat, profile_file
        )
        left = via_view.pop("result").to_pandas()
        right = over_csv.pop("result").to_pandas()
        order = list(left.columns)
        same = left.sort_values(order).reset_index(drop=True).equals(right.sort_values(order).reset_index(drop=True))
        figures[name] = {
            "rows": via_view["rows"],
            "same_result_as_csv": bool(same),
            "parquet": via_view,
            "csv": over_csv,
            "bytes_read_share": round(via_view["os_bytes_read"] / parquet_total, 4)
            if via_view["os_bytes_read"] is not None
            else None,
            "estimated_bytes_share": round(
                estimated_bytes(parquet, province, None if name == "province_all_columns" else summary_columns)
                / parquet_total,
                4,
            ),
            "ratio_vs_csv": round(over_csv["seconds_median"] / via_view["seconds_median"], 1),
        }

    proposal = []
    for size in ROW_GROUP_SIZES:
        files = rewrite_row_groups(catalog, work / f"rg{size}", size)
        total = sum(p.stat().st_size for p in files)
        listed = ", ".join(analyst_db.sql_literal(p.as_posix()) for p in files)
        row = {"row_group_size": size, "row_groups_per_file": pq.ParquetFile(files[0]).metadata.num_row_groups}
        row["parquet_bytes"] = total
        row["size_vs_current"] = round(total / parquet_total, 3)
        for name, template in QUERIES.items():
            m = measure(template.format(src=f"read_parquet([{listed}])", province=province), None, repeat, profile_file)
            row[name] = {
                "bytes_read_share": round(m["os_bytes_read"] / total, 4) if m["os_bytes_read"] is not None else None,
                "seconds_median": round(m["seconds_median"], 4),
                "ratio_vs_csv": round(figures[name]["csv"]["seconds_median"] / m["seconds_median"], 1),
            }
        proposal.append(row)

    under = [r for r in proposal if (r["province_all_columns"]["bytes_read_share"] or 1) < 0.10]
    chosen = max(under, key=lambda r: r["row_group_size"]) if under else None
    primary = figures["province_all_columns"]
    for item in figures.values():
        for side in ("parquet", "csv"):
            item[side] = {k: round(v, 4) if isinstance(v, float) else v for k, v in item[side].items()}
    return {
        "benchmark": "analyst_query",
        "dataset": DATASET,
        "rounds": [r.round for r in entry.rounds],
        "rows_per_round": int(pq.ParquetFile(parquet[0]).metadata.num_rows),
        "province": province,
        "query": QUERIES["province_all_columns"].format(src=DATASET, province=province),
        "bytes_read_share": primary["bytes_read_share"],
        "ratio_vs_csv": primary["ratio_vs_csv"],
        "targets": {"bytes_read_share": "< 0.10", "ratio_vs_csv": ">= 20"},
        "parquet_bytes_total": parquet_total,
        "csv_bytes_total": csv_total,
        "row_groups_per_file": groups,
        "parquet_options": {**PARQUET_OPTIONS},
        "catalog_db_bytes": built.path.stat().st_size,
        "queries": figures,
        "row_group_size_effect": proposal,
        "proposal": {
            "change": f"catalog/files.py PARQUET_OPTIONS row_group_size {PARQUET_OPTIONS['row_group_size']} -> "
            f"{chosen['row_group_size']} (rows stay sorted by code, so a province is a few row groups)",
            "row_group_size": chosen["row_group_size"],
            "bytes_read_share": chosen["province_all_columns"]["bytes_read_share"],
            "ratio_vs_csv": chosen["province_all_columns"]["ratio_vs_csv"],
            "summary_bytes_read_share": chosen["province_summary"]["bytes_read_share"],
            "summary_ratio_vs_csv": chosen["province_summary"]["ratio_vs_csv"],
            "size_vs_current": chosen["size_vs_current"],
        }
        if chosen and primary["bytes_read_share"] is not None and primary["bytes_read_share"] >= 0.10
        else None,
        "seconds": {
            "national_round": round(seconds_source, 1),
            "publish_12_rounds": round(seconds_publish, 1),
            "build_catalog_db": round(seconds_catalog_db, 2),
        },
        "repeat": repeat,
        "note": "bytes read = bytes the process read from files during the query (/proc/self/io rchar), one run on "
        "a new connection; DuckDB 1.4.4's profiling total_bytes_read is recorded as duckdb_total_bytes_read but "
        "counts only reads with a query context (Parquet footers). Times: median of `repeat` runs, each on a new "
        "connection, result fetched as Arrow; CSV read with declared column types (no sniffing).",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, help="a catalog folder holding a national village_profile round")
    parser.add_argument("--keep", type=Path, help="keep the generated data in this folder")
    parser.add_argument("--province", default="47", help="2-digit province code (default 47, Sakon Nakhon)")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tambon-analyst-bench-") as tmp:
        work = (args.keep or Path(tmp)).resolve()
        work.mkdir(parents=True, exist_ok=True)
        figures = run(args.source.resolve() if args.source else None, work, args.province, args.repeat)
    RESULTS.mkdir(exist_ok=True)
    text = json.dumps(figures, indent=2, ensure_ascii=False) + "\n"
    (RESULTS / "analyst_query.json").write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
