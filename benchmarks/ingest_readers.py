"""Ingest's per-file readers against the bare library reads of the same files, in the same process run.

Why: ingest is the largest stage of the national household round, and most of it is reading files.
What our readers add above the libraries they stand on (header search, blank rows, row numbers,
encodings, hostile-input checks) should cost little next to the read itself. So each figure is a
ratio to the library reading the same bytes in this same run (the machine is shared and noisy;
absolute rows per second are given too, but only ratios compare across runs):

* CSV: :func:`pipelines.ingest.decode.decode_text` + :func:`pipelines.ingest.tables.read_csv`, as
  ingest calls them, against ``pyarrow.csv.read_csv`` of the same bytes told where the header is, its
  delimiter and its encoding (everything as text, one thread: what our reader uses underneath) and,
  for reference only, DuckDB's ``read_csv`` of the UTF-8 files (DuckDB reads no Windows-874);
* workbooks: :func:`pipelines.ingest.workbooks.workbook_kind` + :func:`pipelines.ingest.tables.read_workbook`
  against python-calamine opening the same bytes and giving every worksheet's cells (``to_python``);
* the normaliser (:class:`pipelines.ingest.normalise.Normaliser`) over every row read, as one batch,
  against the bare CSV read of the same rows: normalising should cost no more than reading.

Files come from the project's own generators (``samples.household_survey``: big files, as in the
national household round; ``samples.village_profile``: a few rows each, where the cost per file
shows), held in memory so the disk is not measured. Each file is read ``--repeats`` times by each
read in turn and its best time kept; a read's time is the sum over the files. Times are CPU seconds of
this process (``time.process_time``), so other users' load does not count.

    python -m benchmarks.ingest_readers [--provinces 30,40,47] [--scale 1.0] [--repeats 3] [--keep DIR]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from pyarrow import csv as arrow_csv
from python_calamine import CalamineWorkbook, SheetTypeEnum

from domain.declarations import DatasetSpec, load_datasets
from domain.limits import Limits, limits_for
from domain.rounds import parse_round
from pipelines.ingest.decode import container, decode_text
from pipelines.ingest.normalise import HeaderMatcher, Normaliser, header_matcher
from pipelines.ingest.problems import FileProblem
from pipelines.ingest.tables import Sheet, read_csv, read_workbook
from pipelines.ingest.workbooks import workbook_kind

RESULTS = Path(__file__).parent / "results"
DATASETS = ("household_survey", "village_profile")
#: our reader's rows per second over the bare library read's, at least
TARGETS = {"csv_ratio": 0.7, "xlsx_ratio": 0.7, "normaliser_ratio": 1.0}


@dataclass
class CsvFile:
    """A CSV file's bytes and what the bare read is told about it (found by our reader beforehand)."""

    name: str
    data: bytes
    encoding: str
    delimiter: str
    header_row: int
    width: int
    path: Path


@dataclass
class Corpus:
    """One dataset's readable files, in memory."""

    spec: DatasetSpec
    limits: Limits
    match: HeaderMatcher
    duckdb: duckdb.DuckDBPyConnection
    csv: list[CsvFile] = field(default_factory=list)
    workbooks: list[bytes] = field(default_factory=list)


def generate(dataset: str, data_dir: Path, provinces: list[str] | None, scale: float) -> Path:
    """The round's raw files from the project's generator (kept when the folder already holds them)."""
    import importlib

    round_ = parse_round("2563-10")
    landing = data_dir / "landing" / dataset / round_.be_key
    if landing.is_dir() and any(landing.iterdir()):
        return landing
    generator = importlib.import_module(f"samples.{dataset}")
    options: dict[str, Any] = {"provinces": provinces, "bad_files": False}
    if dataset == "household_survey":
        options["scale"] = scale
    generator.generate(round_, landing, **options)
    return landing


def _delimiter(text: str) -> str:
    """The delimiter as our reader sniffs it (the bare read is told it)."""
    from pipelines.ingest.tables import _first_lines, _sniff_delimiter

    return _sniff_delimiter(_first_lines(text), 1 << 30)


def load(dataset: str, landing: Path) -> Corpus:
    """Every readable file of the folder, with what the bare reads need to know about each."""
    spec = load_datasets()[dataset]
    corpus = Corpus(spec, limits_for(spec), header_matcher(spec.fields), duckdb.connect(config={"threads": 1}))
    match = corpus.match
    for path in sorted(p for p in landing.iterdir() if p.is_file()):
        data = path.read_bytes()
        try:
            kind = container(data)
            if kind == "zip":
                read_workbook(data, workbook_kind(data, corpus.limits), match, corpus.limits)
                corpus.workbooks.append(data)
            elif kind == "text":
                text, encoding = decode_text(data)
                sheet = read_csv(text, match, limits=corpus.limits)[0]
                corpus.csv.append(
                    CsvFile(path.name, data, encoding, _delimiter(text), sheet.header_row, len(sheet.columns), path)
                )
        except FileProblem:
            continue
    return corpus


# --- the reads measured: each takes one file and gives its rows ------------------------------------------------------


def ours_csv(corpus: Corpus, f: CsvFile) -> int:
    """Rows our CSV reader gives for one file, read as ingest reads it (decode, then read)."""
    text, encoding = decode_text(f.data)
    utf8 = f.data[3:] if encoding == "utf-8-sig" else f.data if encoding == "utf-8" else None
    return sum(s.rows.num_rows for s in read_csv(text, corpus.match, utf8=utf8, limits=corpus.limits))


def bare_arrow_csv(corpus: Corpus, f: CsvFile) -> int:
    """Rows pyarrow.csv gives for the same file, told the header's line, delimiter and encoding."""
    names = [f"c{i}" for i in range(f.width)]
    table = arrow_csv.read_csv(
        pa.py_buffer(f.data),
        read_options=arrow_csv.ReadOptions(
            column_names=names,
            skip_rows=f.header_row,
            use_threads=False,
            encoding="utf8" if f.encoding.startswith("utf-8") else f.encoding,
        ),
        parse_options=arrow_csv.ParseOptions(delimiter=f.delimiter),
        convert_options=arrow_csv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        ),
    )
    return table.num_rows


def bare_duckdb_csv(corpus: Corpus, f: CsvFile) -> int:
    """Rows DuckDB's read_csv gives for a UTF-8 file (from the page cache), as text; 0 for Windows-874."""
    if not f.encoding.startswith("utf-8"):
        return 0
    query = "SELECT count(*) FROM read_csv(?, all_varchar = true, header = false, skip = ?, delim = ?)"
    return int(corpus.duckdb.execute(query, [str(f.path), f.header_row, f.delimiter]).fetchone()[0])


def ours_workbook(corpus: Corpus, data: bytes) -> int:
    """Rows our workbook reader gives for one workbook (the container checks included, as ingest calls them)."""
    sheets = read_workbook(data, workbook_kind(data, corpus.limits), corpus.match, corpus.limits)
    return sum(s.rows.num_rows for s in sheets)


def bare_calamine(corpus: Corpus, data: bytes) -> int:
    """Rows python-calamine gives for the same workbook: every worksheet's cells as Python values."""
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return sum(
        len(workbook.get_sheet_by_name(meta.name).to_python(skip_empty_area=False))
        for meta in workbook.sheets_metadata
        if meta.typ == SheetTypeEnum.WorkSheet
    )


def received_batch(corpus: Corpus) -> pa.Table:
    """Every row our readers give, one column per form field (None where a file lacks it), as ingest batches them."""
    sheets: list[Sheet] = []
    for f in corpus.csv:
        text, _ = decode_text(f.data)
        sheets += read_csv(text, corpus.match, limits=corpus.limits)
    for data in corpus.workbooks:
        sheets += read_workbook(data, workbook_kind(data, corpus.limits), corpus.match, corpus.limits)
    names = corpus.spec.field_names
    tables = []
    for sheet in sheets:
        n, present = sheet.rows.num_rows, set(sheet.rows.column_names)
        columns = [sheet.rows.column(c) if c in present else pa.nulls(n, pa.string()) for c in names]
        tables.append(pa.table(columns, names=names))
    return pa.concat_tables(tables).combine_chunks()


# --- timing --------------------------------------------------------------------------------------------------------

#: The clock: this process's CPU time, not the wall's. On a shared machine another user's load stretches wall
#: time by whatever share of the cores it takes (the load average was 5 to 8 on 2 cores while this was written);
#: CPU time counts only the work done. Every read here runs on one thread, but for the normaliser's DuckDB.
cpu_seconds = time.process_time

Read = Callable[[Corpus, Any], int]


def best_per_file(
    corpus: Corpus, files: list[Any], reads: dict[str, Read], repeats: int
) -> dict[str, tuple[float, int]]:
    """(seconds, rows) of each read over ``files``: per file, the best of ``repeats`` runs, each read in turn.

    Per file and alternating, so a burst of load from the machine's other users spoils one run of one file,
    not one read's whole pass.
    """
    seconds = dict.fromkeys(reads, 0.0)
    rows = dict.fromkeys(reads, 0)
    gc.collect()
    for f in files:
        best = dict.fromkeys(reads, float("inf"))
        got = dict.fromkeys(reads, 0)
        for _ in range(repeats):
            for name, read in reads.items():
                start = cpu_seconds()
                got[name] = read(corpus, f)
                best[name] = min(best[name], cpu_seconds() - start)
        for name in reads:
            seconds[name] += best[name]
            rows[name] += got[name]
    return {name: (seconds[name], rows[name]) for name in reads}


def best_of(run: Callable[[], int], repeats: int) -> tuple[float, int]:
    """(best seconds, rows) of ``repeats`` runs."""
    best, rows = float("inf"), 0
    for _ in range(repeats):
        gc.collect()
        start = cpu_seconds()
        rows = run()
        best = min(best, cpu_seconds() - start)
    return best, rows


def measure(corpus: Corpus, repeats: int) -> dict[str, Any]:
    """Every figure of one dataset's files."""
    timed = best_per_file(
        corpus,
        corpus.csv,
        {"bare_arrow_csv": bare_arrow_csv, "ours_csv": ours_csv, "bare_duckdb_csv_utf8": bare_duckdb_csv},
        repeats,
    )
    timed |= best_per_file(
        corpus, corpus.workbooks, {"bare_calamine": bare_calamine, "ours_workbooks": ours_workbook}, repeats
    )
    batch = received_batch(corpus)
    normaliser = Normaliser(corpus.spec.fields)
    try:
        timed["normaliser"] = best_of(lambda: normaliser(batch).num_rows, repeats)
    finally:
        normaliser.close()
    # Rows per second of the same files are counted in the same rows, the data rows our readers find (a bare
    # read also counts title and blank rows); DuckDB, which reads only the UTF-8 files, counts its own.
    data_rows = {
        "bare_arrow_csv": timed["ours_csv"][1],
        "ours_csv": timed["ours_csv"][1],
        "bare_calamine": timed["ours_workbooks"][1],
        "ours_workbooks": timed["ours_workbooks"][1],
    }
    rps = {name: data_rows.get(name, rows) / seconds if seconds else 0.0 for name, (seconds, rows) in timed.items()}
    return {
        "csv_files": len(corpus.csv),
        "csv_bytes": sum(len(f.data) for f in corpus.csv),
        "xlsx_files": len(corpus.workbooks),
        "rows": {name: rows for name, (_, rows) in timed.items()},  # as each read counts them
        "seconds": {name: round(seconds, 4) for name, (seconds, _) in timed.items()},
        "rows_per_s": {name: round(value) for name, value in rps.items()},
        "csv_ratio": round(rps["ours_csv"] / rps["bare_arrow_csv"], 3),
        "xlsx_ratio": round(rps["ours_workbooks"] / rps["bare_calamine"], 3),
        "normaliser_ratio": round(rps["normaliser"] / rps["bare_arrow_csv"], 3),
    }


def report(figures: dict[str, Any]) -> str:
    """The figures as a table: rows per second, ratio to the bare read, target."""
    lines = []
    for dataset, f in figures["datasets"].items():
        r = f["rows_per_s"]
        lines.append(f"{dataset}: {f['csv_files']:,} CSV files, {f['xlsx_files']:,} workbooks")
        for label, ours, bare, key in [
            ("CSV reader", "ours_csv", "bare_arrow_csv", "csv_ratio"),
            ("XLSX reader", "ours_workbooks", "bare_calamine", "xlsx_ratio"),
            ("normaliser", "normaliser", "bare_arrow_csv", "normaliser_ratio"),
        ]:
            verdict = "ok" if f[key] >= TARGETS[key] else "BELOW"
            lines.append(
                f"  {label:<12} {r[ours]:>12,} rows/s  {f[key]:>6.2f}x {bare} ({r[bare]:,} rows/s)"
                f"  target >= {TARGETS[key]}x  {verdict}"
            )
        lines.append(f"  (DuckDB read_csv of the UTF-8 files: {r['bare_duckdb_csv_utf8']:,} rows/s)")
    return "\n".join(lines)


def run(data_dir: Path, provinces: list[str] | None, scale: float, repeats: int) -> dict[str, Any]:
    figures: dict[str, Any] = {"benchmark": "ingest_readers", "provinces": provinces, "scale": scale}
    figures["datasets"] = {}
    for dataset in DATASETS:
        landing = generate(dataset, data_dir / dataset, provinces, scale)
        corpus = load(dataset, landing)
        try:
            figures["datasets"][dataset] = measure(corpus, repeats)
        finally:
            corpus.duckdb.close()
    figures["targets"] = TARGETS
    figures["note"] = (
        "ratios: our reader's rows/s over the bare library read of the same in-memory files in one process, "
        f"one thread, CPU seconds; per file the best of {repeats} alternating runs of each read, summed; bare CSV = "
        "pyarrow.csv told the header line, delimiter and encoding; bare XLSX = python-calamine to_python of "
        "every worksheet; normaliser: every row read, one batch (best of the runs), over the bare CSV read's rows/s"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--provinces", default="30,40,47", help="province codes, or 'all'")
    parser.add_argument("--scale", type=float, default=1.0, help="share of households (household survey)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep", type=Path, help="keep (and reuse) the generated files in this folder")
    parser.add_argument("--out", type=Path, default=RESULTS / "ingest_readers.json")
    args = parser.parse_args()
    provinces = None if args.provinces == "all" else [p.strip() for p in args.provinces.split(",")]
    with tempfile.TemporaryDirectory(prefix="tambon-bench-readers-") as tmp:
        figures = run((args.keep or Path(tmp)).resolve(), provinces, args.scale, args.repeats)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    print(report(figures))


if __name__ == "__main__":
    main()
