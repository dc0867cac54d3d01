"""All of Thailand's households for one round: end-to-end time, peak memory, validator speed.

* End to end: raw files -> received -> validated -> quality -> aggregates
  (suppressed) -> published packages in a local catalog, in a child process
  (its province parts read and validated in two worker processes) whose memory,
  with its workers', is the memory figure (the parent only generates and measures).
* Validator speed: the DuckDB validator and ``frictionless`` (the reference)
  validate the same 1-million-row CSV (the round's first million normalised
  rows) against the same Table Schema and custom checks, in this same process
  run, so the ratio means something on a shared machine; and DuckDB merely
  reading that CSV as text (``ratio_vs_csv_scan``: how close the validator comes
  to the bare read, runs alternating with the validator's so load hits both), and
  that read with the validator's clean-row test and nothing else (``clean_pass``:
  the ceiling of a validator that tests every row in DuckDB as it reads).

Every headline figure is printed beside its target (``TARGETS``; ``FLOORS``: the
figure must not be worse than that). ``seconds_per_million_by_stage`` divides each
stage by the round's millions of households, so a stage that grows faster than the
round shows.

    python -m benchmarks.household_round [--round 2563-10] [--keep DIR] [--scale 1.0]
    python -m benchmarks.household_round --validator-only FILE.csv   # the validator part alone, no JSON
"""

from __future__ import annotations

import argparse
import json
import os
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
CORES = os.cpu_count() or 1
WORKERS = 2  # province parts side by side (``RoundJob.workers``): one per core of the target machine
RUNS = 3  # best of: the validator and the bare read alternate, so a burst of load hits both
#: (figure, comparison, target): the issue's targets for a national round on the 2-core machine
TARGETS = {
    "seconds_total": ("<", 120),
    "peak_rss_mb": ("<", 4096),
    "ratio_vs_csv_scan": (">=", 0.5),
    "ratio_vs_frictionless": (">=", 50),
    "ratio_province_rerun_vs_round": ("<", 0.1),
}
FLOORS = {"seconds_total": ("<=", 180)}  # worse than this is a regression, not merely a missed target


def pipeline(round_text: str, data_dir: Path) -> dict:
    """Every stage of the round, timed (runs in the child process)."""
    from benchmarks.stage_timing import TimedRound, run_stages
    from domain.declarations import load_datasets
    from domain.layout import Layout
    from domain.rounds import parse_round
    from pipelines import stages

    spec = load_datasets()[DATASET]
    layout = Layout(data_dir)
    job = stages.RoundJob(spec, parse_round(round_text), layout, workers=WORKERS)
    timed = TimedRound()
    with timed.stage("registry"):
        _ = job.geography
    timed = run_stages(job, timed)
    figures, timings, published = timed.figures, timed.seconds, timed.published
    cpu = sum(timed.cpu_seconds.values())
    return {
        "households": figures["validate"]["rows_received"],
        "rows_accepted": figures["validate"]["rows_accepted"],
        "rows_quarantined": figures["validate"]["rows_quarantined"],
        "files": figures["ingest"]["files"],
        "cells_suppressed": {k: v for k, v in figures["aggregate"].items() if k.endswith("_suppressed")},
        "published": [p.output for p in published],
        "seconds_by_stage": {k: round(v, 2) for k, v in timings.items()},
        "seconds_total": round(sum(timings.values()), 2),
        "cpu_seconds_by_stage": {k: round(v, 1) for k, v in timed.cpu_seconds.items()},
        "cpu_seconds_total": round(cpu, 1),
        # no schedule of this work on this machine's cores ends sooner: below it, only less work is faster
        "cpu_floor_seconds": round(cpu / CORES, 1),
        "cores_busy": round(cpu / sum(timings.values()), 2),
        "workers": WORKERS,
        "peak_rss_main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }


def reruns(round_text: str, data_dir: Path) -> dict:
    """After the round (runs in its own child process): one file of one province sent again, and the round run
    as the sensors run it (that province and the nation); then every province again as Dagster runs of
    ``<dataset>_province`` at 1 and at 2 worker processes (``tambon run --workers``)."""
    import os

    import pandas as pd

    from benchmarks.stage_timing import province_runs_seconds, rerun_after_change
    from domain.declarations import load_datasets
    from domain.layout import Layout
    from domain.rounds import parse_round
    from pipelines import stages
    from pipelines.ingest.provinces import SORTED, UNPLACED

    os.environ["TAMBON_DATA_DIR"] = str(data_dir)
    os.environ["DAGSTER_HOME"] = str(data_dir / "dagster")
    (data_dir / "dagster").mkdir(exist_ok=True)
    job = stages.RoundJob(load_datasets()[DATASET], parse_round(round_text), Layout(data_dir))
    files = pd.read_parquet(job.work.folder / SORTED / "files.parquet")
    target = files[(files["status"] == "ok") & (files["format"] == "csv") & (files["home"] != UNPLACED)].iloc[0]

    def send_again(landing: Path) -> Path:  # the same rows, other bytes: a space after the first comma
        path = landing.parent / target["name"]
        path.write_bytes(path.read_bytes().replace(b",", b", ", 1))
        return path

    seconds, provinces = rerun_after_change(job, send_again)
    return {
        "province_rerun_seconds": round(seconds, 2),
        "province_rerun_provinces": provinces,
        "seconds_by_workers": {str(n): round(province_runs_seconds(job, n), 2) for n in (1, 2)},
    }


def million_rows_csv(data_dir: Path, out: Path) -> int:
    """The round's first million received rows (normalised text) as a plain CSV file."""
    import duckdb

    from domain.declarations import load_datasets
    from domain.work import WorkArea

    spec = load_datasets()[DATASET]
    round_folder = next((data_dir / "work" / DATASET).iterdir())
    received = WorkArea(round_folder, partitioned=True).path("received")  # every province's part
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


def _reads_sql(path: Path, schema: dict) -> dict[str, str]:
    """The two reads the validator is measured against. ``scan``: the bare read of every column as text
    (``count`` of each, so none is skipped). ``clean_pass``: that read with the validator's clean-row test on
    every row, nothing written and no findings: the fastest a validator that tests each row in DuckDB as it
    reads could be."""
    from validation.schema_sql import clean_test, csv_text_source, ident

    source, test = csv_text_source(path), clean_test(schema)
    counts = ", ".join(f"count({ident(f['name'])})" for f in schema["fields"])
    return {
        "scan": f"SELECT {counts} FROM {source}",
        "clean_pass": f"SELECT count(*) FILTER (WHERE {test.predicate}) FROM {test.over(source)}",
    }


def validator_and_scan_seconds(path: Path, schema: dict, runs: int = RUNS) -> tuple[dict[str, list[float]], int]:
    """(seconds per run of the validator, the bare read and the clean pass; the validator's findings): the
    three alternate, run by run, so their ratios hold on a machine whose load comes and goes."""
    import duckdb

    from validation.schema_sql import validate_file_sql

    reads = _reads_sql(path, schema)
    seconds: dict[str, list[float]] = {"validator": [], **{name: [] for name in reads}}
    findings = 0
    with duckdb.connect() as con:
        for _ in range(runs):
            start = time.perf_counter()
            findings = len(validate_file_sql(path, schema))
            seconds["validator"].append(time.perf_counter() - start)
            for name, sql in reads.items():
                start = time.perf_counter()
                con.execute(sql).fetchall()
                seconds[name].append(time.perf_counter() - start)
    return seconds, findings


def validator_figures(path: Path, schema: dict, rows: int, frictionless: bool = True) -> dict:
    """The validator-speed figures for one CSV: DuckDB validator, bare read, and (optionally) frictionless."""
    runs, findings = validator_and_scan_seconds(path, schema)
    seconds_duckdb, seconds_scan, seconds_pass = min(runs["validator"]), min(runs["scan"]), min(runs["clean_pass"])
    validator_rps, scan_rps = rows / seconds_duckdb, rows / seconds_scan
    figures = {
        "validator_rows": rows,
        "validator_findings": findings,
        "validator_seconds": round(seconds_duckdb, 2),
        "validator_seconds_first_run": round(runs["validator"][0], 2),
        "validator_rows_per_s": round(validator_rps),
        "csv_scan_seconds": round(seconds_scan, 2),
        "csv_scan_rows_per_s": round(scan_rps),
        "ratio_vs_csv_scan": round(validator_rps / scan_rps, 3),
        "clean_pass_seconds": round(seconds_pass, 2),
        "ratio_clean_pass_vs_csv_scan": round(seconds_scan / seconds_pass, 3),
    }
    if frictionless:
        seconds_frictionless = frictionless_seconds(path, schema)
        frictionless_rps = rows / seconds_frictionless
        figures |= {
            "frictionless_seconds": round(seconds_frictionless, 2),
            "frictionless_rows_per_s": round(frictionless_rps),
            "ratio_vs_frictionless": round(validator_rps / frictionless_rps, 1),
            "csv_scan_ratio_vs_frictionless": round(seconds_frictionless / seconds_scan, 1),
        }
    return figures


def per_million(seconds_by_stage: dict[str, float], households: int) -> dict[str, float]:
    """Each stage's seconds per million households: flat across round sizes when a stage scales linearly."""
    millions = households / 1_000_000
    return {stage: round(seconds / millions, 2) for stage, seconds in seconds_by_stage.items()}


def verdicts(figures: dict) -> list[str]:
    """One line per headline figure: its value, its target (and floor), and whether it meets them."""
    checks = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b}
    lines = []
    for name, (op, target) in TARGETS.items():
        if name not in figures:
            continue
        value = figures[name]
        line = f"{name:24s} {value:>12,} target {op} {target:,}: {'met' if checks[op](value, target) else 'NOT met'}"
        if name in FLOORS:
            floor_op, floor = FLOORS[name]
            line += f"; floor {floor_op} {floor:,}: {'kept' if checks[floor_op](value, floor) else 'BROKEN'}"
        lines.append(line)
    if "ratio_clean_pass_vs_csv_scan" in figures:  # no target: what ratio_vs_csv_scan could at most reach
        ceiling = figures["ratio_clean_pass_vs_csv_scan"]
        lines.append(f"{'ratio_clean_pass_vs_csv_scan':24s} {ceiling:>8} (the clean-row test alone: the ceiling)")
    if "seconds_by_workers" in figures:  # the province runs side by side: two workers should beat one
        one, two = figures["seconds_by_workers"]["1"], figures["seconds_by_workers"]["2"]
        verdict = "met" if two < one else "NOT met"
        lines.append(f"{'seconds_by_workers':24s} 1: {one} s, 2: {two} s; target 2 < 1: {verdict}")
    if "cpu_floor_seconds" in figures:  # the wall time all cores busy would give: under it, only less work helps
        floor, target = figures["cpu_floor_seconds"], TARGETS["seconds_total"][1]
        verdict = "below" if floor < target else "NOT below"
        lines.append(
            f"{'cpu_floor_seconds':24s} {floor:>12,} ({figures['cpu_seconds_total']:,} CPU-s on {CORES} cores, "
            f"{figures['cores_busy']} busy on average): {verdict} the seconds_total target"
        )
    for name in ("seconds_per_million", "cpu_seconds_per_million"):  # no target each: growth shows against size
        if f"{name}_by_stage" in figures:
            per = ", ".join(f"{k} {v}" for k, v in figures[f"{name}_by_stage"].items())
            lines.append(f"{name:24s} {per}")
    if "file_create_us" in figures:
        created = figures["file_create_us"]
        lines.append(f"{'file_create_us':24s} {created:>12} (a small new file written in the data folder)")
    return lines


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants now (MB), from ``/proc``."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        pid = int(stat.parent.name)
        parents[pid], rss[pid] = int(fields[1]), int(fields[21])  # ppid; rss in pages
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, parent in parents.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return sum(rss.get(pid, 0) for pid in tree) * resource.getpagesize() / 2**20


def _child(flag: str, data_dir: Path, round_text: str, what: str) -> dict:
    """One part of the benchmark in a process of its own; its figures (last line of its output), with
    ``peak_tree_rss_mb``: the most the process and its workers held at once (sampled every 0.2 s)."""
    command = [sys.executable, "-m", "benchmarks.household_round", flag, str(data_dir), "--round", round_text]
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(command, stdout=out, stderr=err, text=True)
        peak = 0.0
        while child.poll() is None:
            peak = max(peak, _tree_rss_mb(child.pid))
            time.sleep(0.2)
        out.seek(0), err.seek(0)
        if child.returncode != 0:
            raise SystemExit(f"{what} failed:\n{err.read()[-4000:]}")
        return json.loads(out.read().strip().splitlines()[-1]) | {"peak_tree_rss_mb": round(peak)}


def run(round_text: str, data_dir: Path, scale: float) -> dict:
    import samples.household_survey as generator
    from benchmarks.stage_timing import file_create_us
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
    for stale in ("archive", "work", "catalog", "reports", "file_create_probe"):  # a kept folder: its raw files
        shutil.rmtree(data_dir / stale, ignore_errors=True)
    create_us = file_create_us(data_dir)
    figures = _child("--pipeline", data_dir, round_text, "the pipeline")
    figures["peak_rss_mb"] = max(figures.pop("peak_tree_rss_mb"), figures["peak_rss_main_mb"])
    figures |= {k: v for k, v in _child("--reruns", data_dir, round_text, "the re-runs").items() if "rss" not in k}
    figures["ratio_province_rerun_vs_round"] = round(figures["province_rerun_seconds"] / figures["seconds_total"], 3)

    schema = load_datasets()[DATASET].schema
    sample = data_dir / "million_rows.csv"
    rows = million_rows_csv(data_dir, sample)
    return {
        "benchmark": "household_round",
        "round": round_.key,
        "scale": scale,
        **figures,
        "seconds_per_million_by_stage": per_million(figures["seconds_by_stage"], figures["households"]),
        "cpu_seconds_per_million_by_stage": per_million(figures["cpu_seconds_by_stage"], figures["households"]),
        "seconds_generate_samples": round(seconds_generate, 2),
        "file_create_us": create_us,
        **validator_figures(sample, schema, rows),
        "targets": {name: target for name, (_, target) in TARGETS.items()},  # seconds_by_workers: 2 below 1
        "floors": {name: floor for name, (_, floor) in FLOORS.items()},
        "note": "seconds_total: raw files to published packages (generation excluded), child process; "
        "file_create_us: microseconds to write a small new file in the data folder before the round (the "
        "disk's state: 25 on a quiet one, ten times more after many deletions); "
        f"{WORKERS} worker processes for the province parts; peak_rss_mb: the most that process and its workers "
        "held at once (resident memory sampled every 0.2 s, or the process's own peak if higher); "
        "seconds_per_million_by_stage: each stage's "
        "seconds over the round's millions of households; cpu_seconds_by_stage: user and system CPU of the "
        "process and its worker processes in each stage (cpu_seconds_per_million_by_stage likewise per million); "
        f"cpu_floor_seconds: cpu_seconds_total over the machine's {CORES} cores, the shortest any schedule of "
        "this work could take here; cores_busy: cpu_seconds_total over seconds_total; validator vs frictionless: "
        f"the same {rows:,}-row CSV, Table Schema + custom checks, same process run (DuckDB: best of {RUNS} runs, "
        "frictionless: one run); csv_scan: DuckDB reading the same file's columns as text and checking "
        f"nothing (best of {RUNS}, alternating with the validator's runs), the ceiling of any validator "
        "that reads the file that way; ratio_vs_csv_scan: validator rows/s over csv_scan rows/s; "
        "clean_pass: the same read with the validator's clean-row test on every row, nothing written and no "
        "findings (alternating likewise), the ceiling of a validator that tests each row in DuckDB as it reads "
        "(ratio_clean_pass_vs_csv_scan, as ratio_vs_csv_scan); "
        "province_rerun_seconds: one file of one province sent again, then its sort, that province and the "
        "national steps (the sensors' path); seconds_by_workers: every province read and validated again as "
        "Dagster runs in 1 and in 2 worker processes",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--round", default="2563-10")
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the generated data in this folder")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the national households")
    parser.add_argument(
        "--validator-only",
        type=Path,
        metavar="CSV",
        help="only the validator-speed figures on this CSV of household rows (printed; no results file)",
    )
    parser.add_argument("--skip-frictionless", action="store_true", help="with --validator-only: DuckDB only")
    parser.add_argument("--pipeline", type=Path, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--reruns", type=Path, help=argparse.SUPPRESS)  # the second child process
    args = parser.parse_args()
    if args.pipeline:
        print(json.dumps(pipeline(args.round, args.pipeline)))
        return
    if args.reruns:
        print(json.dumps(reruns(args.round, args.reruns)))
        return
    if args.validator_only:
        figures = validator_only(args.validator_only, not args.skip_frictionless)
        print(json.dumps(figures, indent=2))
        print("\n".join(verdicts(figures)))
        return
    with tempfile.TemporaryDirectory(prefix="tambon-bench-hh-") as tmp:
        figures = run(args.round, (args.keep or Path(tmp)).resolve(), args.scale)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "household_round.json").write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(figures, indent=2))
    print("\n".join(verdicts(figures)))


def validator_only(path: Path, frictionless: bool) -> dict:
    """The validator part of the benchmark alone, on an existing CSV (a kept round's million_rows.csv)."""
    import duckdb

    from domain.declarations import load_datasets

    schema = load_datasets()[DATASET].schema
    rows = int(duckdb.execute(f"SELECT count(*) FROM read_csv('{path}', all_varchar = true)").fetchone()[0])
    return validator_figures(path, schema, rows, frictionless)


if __name__ == "__main__":
    main()
