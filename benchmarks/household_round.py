"""All of Thailand's households for one round: end-to-end time, peak memory, validator speed.

* End to end: raw files -> received -> validated -> quality -> aggregates
  (suppressed) -> published packages in a local catalog, in a child process
  whose peak RSS is the memory figure (the parent only generates and measures).
* Validator speed: the DuckDB validator and ``frictionless`` (the reference)
  validate the same 1-million-row CSV (the round's first million normalised
  rows) against the same Table Schema and custom checks, in this same process
  run, so the ratio means something on a shared machine.

    python -m benchmarks.household_round [--round 2563-10] [--keep DIR] [--scale 1.0]
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).parent / "results"
DATASET = "household_survey"
VALIDATOR_ROWS = 1_000_000


def pipeline(round_text: str, data_dir: Path) -> dict:
    """Every stage of the round, timed (runs in the child process)."""
    from benchmarks.stage_timing import TimedRound, run_stages
    from domain.declarations import load_datasets
    from domain.layout import Layout
    from domain.rounds import parse_round
    from pipelines import stages

    spec = load_datasets()[DATASET]
    layout = Layout(data_dir)
    job = stages.RoundJob(spec, parse_round(round_text), layout)
    t = time.perf_counter()
    _ = job.geography
    timed = run_stages(job, TimedRound(seconds={"registry": time.perf_counter() - t}))
    figures, timings, published = timed.figures, timed.seconds, timed.published
    return {
        "households": figures["validate"]["rows_received"],
        "rows_accepted": figures["validate"]["rows_accepted"],
        "rows_quarantined": figures["validate"]["rows_quarantined"],
        "files": figures["ingest"]["files"],
        "cells_suppressed": {k: v for k, v in figures["aggregate"].items() if k.endswith("_suppressed")},
        "published": [p.output for p in published],
        "seconds_by_stage": {k: round(v, 2) for k, v in timings.items()},
        "seconds_total": round(sum(timings.values()), 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def million_rows_csv(data_dir: Path, out: Path) -> int:
    """The round's first million received rows (normalised text) as a plain CSV file."""
    import duckdb

    from domain.declarations import load_datasets

    spec = load_datasets()[DATASET]
    received = next((data_dir / "work" / DATASET).glob("*/received.parquet"))
    columns = ", ".join(spec.field_names)
    duckdb.execute(
        f"COPY (SELECT {columns} FROM read_parquet('{received}') ORDER BY _row_id LIMIT {VALIDATOR_ROWS}) "
        f"TO '{out}' (HEADER, DELIMITER ',')"
    )
    return int(duckdb.execute(f"SELECT count(*) FROM read_csv('{out}', all_varchar = true)").fetchone()[0])


def frictionless_seconds(path: Path, schema: dict) -> float:
    """frictionless validating the file: Table Schema checks plus the declared custom checks."""
    from frictionless import Checklist, Resource

    from validation import custom_checks
    from validation.schema_check import validation_schema

    start = time.perf_counter()
    checklist = Checklist(checks=[custom_checks.declared_checks(pairs=custom_checks.declared(schema))])
    resource_ = Resource(path=path.name, basepath=str(path.parent), schema=validation_schema(schema))
    report = resource_.validate(checklist=checklist, limit_errors=0)
    seconds = time.perf_counter() - start
    assert report.tasks[0].stats["rows"] > 0
    return seconds


def duckdb_seconds(path: Path, schema: dict, runs: int = 3) -> tuple[float, float, int]:
    """(best, first, findings) over ``runs`` runs: the first also builds per-process caches
    (Python's whitespace and digit tables as SQL literals, about a second once)."""
    from validation.schema_sql import validate_file_sql

    seconds = []
    for _ in range(runs):
        start = time.perf_counter()
        found = validate_file_sql(path, schema)
        seconds.append(time.perf_counter() - start)
    return min(seconds), seconds[0], len(found)


def csv_scan_seconds(path: Path, schema: dict, runs: int = 3) -> float:
    """Best of ``runs``: DuckDB reading every column of the file as text, as the validator does, and
    checking nothing. No validator reading the file this way can be faster: the ceiling of the ratio."""
    import duckdb

    from validation.schema_sql import csv_text_source, ident

    counts = ", ".join(f"count({ident(f['name'])})" for f in schema["fields"])
    query = f"SELECT {counts} FROM {csv_text_source(path)}"
    seconds = []
    with duckdb.connect() as con:
        for _ in range(runs):
            start = time.perf_counter()
            con.execute(query).fetchall()
            seconds.append(time.perf_counter() - start)
    return min(seconds)


def run(round_text: str, data_dir: Path, scale: float) -> dict:
    import samples.household_survey as generator
    from domain.declarations import load_datasets
    from domain.layout import Layout
    from domain.rounds import parse_round

    round_ = parse_round(round_text)
    landing = Layout(data_dir).landing_dir(DATASET, round_)
    seconds_generate = 0.0
    if not (landing.is_dir() and any(landing.iterdir())):
        start = time.perf_counter()
        generator.generate(round_, landing, scale=scale)
        seconds_generate = time.perf_counter() - start
    for stale in ("archive", "work", "catalog", "reports"):  # a kept folder reuses only the raw files
        shutil.rmtree(data_dir / stale, ignore_errors=True)
    child = subprocess.run(
        [sys.executable, "-m", "benchmarks.household_round", "--pipeline", str(data_dir), "--round", round_text],
        capture_output=True,
        text=True,
        check=False,
    )
    if child.returncode != 0:
        raise SystemExit(f"the pipeline failed:\n{child.stderr[-4000:]}")
    figures = json.loads(child.stdout.strip().splitlines()[-1])

    schema = load_datasets()[DATASET].schema
    sample = data_dir / "million_rows.csv"
    rows = million_rows_csv(data_dir, sample)
    seconds_duckdb, seconds_duckdb_first, findings = duckdb_seconds(sample, schema)
    seconds_scan = csv_scan_seconds(sample, schema)
    seconds_frictionless = frictionless_seconds(sample, schema)
    validator_rps = rows / seconds_duckdb
    frictionless_rps = rows / seconds_frictionless
    return {
        "benchmark": "household_round",
        "round": round_.key,
        **figures,
        "seconds_generate_samples": round(seconds_generate, 2),
        "validator_rows": rows,
        "validator_findings": findings,
        "validator_seconds": round(seconds_duckdb, 2),
        "validator_seconds_first_run": round(seconds_duckdb_first, 2),
        "frictionless_seconds": round(seconds_frictionless, 2),
        "validator_rows_per_s": round(validator_rps),
        "frictionless_rows_per_s": round(frictionless_rps),
        "ratio_vs_frictionless": round(validator_rps / frictionless_rps, 1),
        "csv_scan_seconds": round(seconds_scan, 2),
        "csv_scan_ratio_vs_frictionless": round(seconds_frictionless / seconds_scan, 1),
        "targets": {"seconds_total": 300, "peak_rss_mb": 8192, "ratio_vs_frictionless": 50},
        "note": "seconds_total: raw files to published packages (generation excluded), child process; "
        "peak_rss_mb: that process's peak resident memory; validator vs frictionless: the same "
        f"{rows:,}-row CSV, Table Schema + custom checks, same process run (DuckDB: best of 3 runs, "
        "frictionless: one run); csv_scan: DuckDB reading the same file's columns as text and checking "
        "nothing (best of 3), the ceiling of any validator that reads the file that way",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--round", default="2563-10")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the generated data in this folder")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the national households")
    parser.add_argument("--pipeline", type=Path, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.pipeline:
        print(json.dumps(pipeline(args.round, args.pipeline)))
        return
    with tempfile.TemporaryDirectory(prefix="tambon-bench-hh-") as tmp:
        figures = run(args.round, (args.keep or Path(tmp)).resolve(), args.scale)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "household_round.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
