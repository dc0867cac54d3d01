"""The stages of a round, raw -> validated -> aggregated -> published, as plain functions.

Each stage reads the previous stage's tables from the round's work area and
writes its own, so any stage can be re-run alone (from Dagster, the CLI or a
benchmark) and a failed run re-runs to the same end state. The Dagster assets
in ``pipelines/assets.py`` are thin wrappers around these.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property, partial
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow.parquet as pq

from catalog.analyst_db import build_local
from catalog.local import LocalCatalog, Published
from catalog.outputs import build_outputs
from catalog.privacy import PrivacyError, scan_files
from catalog.suppression import suppress
from domain.declarations import DatasetSpec
from domain.disclosure import disclosure_rules
from domain.geography import Geography, code_columns, from_registry
from domain.layout import Layout
from domain.measures import measures
from domain.rounds import Round
from domain.work import COUNT_TABLES, WorkArea, write_atomic
from pipelines.aggregate import tables
from pipelines.deadlines import (
    NOT_REPORTED_FILE,
    csv_headers,
    not_reported,
    not_reported_table,
    reporting_deadline,
    round_reporting,
)
from pipelines.field_workers import field_worker_output
from pipelines.ingest.provinces import (
    SORTED,
    Sorted,
    SortedFiles,
    part_digest,
    parts_fingerprint,
    parts_of,
    parts_to_run,
    read_province,
    sort_round,
    stamp,
    stamped,
)
from pipelines.part_pool import each_part
from pipelines.report import write_quality_page
from pipelines.report.corrections import Written, write_correction_workbooks
from pipelines.report.corrections.applied import correction_figures, correction_files, correction_table
from pipelines.report.corrections.measured import (
    COUNTS_TABLE,
    LOOP_TABLE,
    correction_loop,
    loop_totals,
    published_on,
    with_quality,
)
from pipelines.report.internal_tables import QUARANTINE_FILE, write_frame_csv, write_quarantine_csv
from validation.run import copy_parquet, validate_round


@dataclass
class RoundJob:
    spec: DatasetSpec
    round: Round
    layout: Layout
    geography_loader: Any = from_registry
    #: province parts validated side by side in this many processes (``pipelines.part_pool``)
    workers: int = field(default_factory=lambda: int(os.environ.get("TAMBON_WORKERS", "1")))

    @cached_property
    def work(self) -> WorkArea:
        """The round's work area, worked in province parts (``domain.work``)."""
        return WorkArea(self.layout.work(self.spec.name, self.round), partitioned=True)

    @cached_property
    def provinces(self) -> frozenset[str]:
        """The registry's province codes: the parts a round's rows are sorted into (and ``00``)."""
        return frozenset(self.geography.provinces["province_code"].astype(str))

    @cached_property
    def geography(self) -> Geography:
        return self.geography_loader()

    @property
    def sorted_files(self) -> pd.DataFrame:
        """Every ordinary file of the round as the last sort recorded it (its province among them)."""
        return pd.read_parquet(self.work.folder / SORTED / "files.parquet")

    def gdc(self, kind: str) -> dict[str, Any]:
        catalog = self.spec.catalog
        return {**catalog.get("common", {}), **catalog.get(kind, {})}


def sort(job: RoundJob) -> Sorted:
    """Archive every landed file, read those not read before and sort their rows into province parts.

    Returns which parts changed: the provinces to run again (``pipelines.ingest.provinces``).
    """
    return sort_round(
        job.spec,
        job.layout.landing_dirs(job.spec.name, job.round),
        job.layout.archive,
        job.work,
        job.provinces,
    )


def read_part(job: RoundJob, province: str, files: SortedFiles | None = None) -> dict[str, int]:
    """One province's received rows (its files' rows, then its offices' corrections): ``work.part(province)``.

    ``files``: the sort's files, when the caller has them (a loop over every part)."""
    landing = job.layout.landing_dirs(job.spec.name, job.round)
    return read_province(
        job.spec, job.round, job.work, province, landing, job.layout.archive, job.provinces, files=files
    )


def validate_part(job: RoundJob, province: str, names: dict[str, str] | None = None) -> dict[str, Any]:
    """Schema, declared rules and duplicates over one province's received rows, in DuckDB.

    An office's corrections are checked against its district and supersede by the dataset's key.
    A key names one village, so its duplicates are all in its province's part. ``names``: every
    file's name by SHA-256 (:func:`file_names`), when the caller has them.
    """
    part, digest = job.work.part(province), part_digest(job.work, province)
    if digest is None or stamped(part, "received") != digest:
        raise StaleParts([province])
    files = part.read("files")
    names = (file_names(job) if names is None else names) | dict(zip(files["sha256"], files["name"], strict=True))
    figures = validate_round(
        part, job.spec, job.round, job.geography, names, corrections=correction_files(files),
        then=partial(write_derived, job.spec, part), carry=derived_columns(job.spec),
    )  # fmt: skip
    stamp(part, "validated", digest)
    return figures


def derived_columns(spec: DatasetSpec) -> dict[str, str]:
    """What :func:`write_derived` reads of every received row besides the typed fields, carried by the typed rows
    (``validate_round``'s ``carry``): the quality figures' columns, rather than the received rows read again."""
    return tables.quality_columns(spec) if spec.has_quality_figures else {}


def write_derived(spec: DatasetSpec, work: WorkArea, con: duckdb.DuckDBPyConnection) -> None:
    """What the national steps need of the rows, from the validation's connection while the rows are at hand:

    * ``units``: the accepted rows (view ``accepted``) with their geography, derived values and indicator
      results, the columns the national steps read;
    * no ``part_measures``: what the part's units held before is measured again (``aggregate``);
    * ``quality_counts`` and ``reason_counts`` (collections with quality figures): every received row (the typed
      rows, with :func:`derived_columns`) and their findings (``findings_all``) counted by area and status.

    Row by row work, so it is done once per province when its rows change.
    """
    tables.register_units(con, spec)
    columns = ", ".join(tables.unit_columns(con, spec))
    work.path("part_measures").unlink(missing_ok=True)  # first: a run killed next leaves none, never a stale one
    copy_parquet(con, f"SELECT {columns} FROM units ORDER BY _row_id", work.path("units"))
    if spec.has_quality_figures:
        counts, reasons = work.path("quality_counts"), work.path("reason_counts")
        tables.write_quality_counts(con, spec, counts, reasons, "typed_rows", "findings_all")


def file_names(job: RoundJob) -> dict[str, str]:
    """Every ordinary file's name by its SHA-256, as the last sort recorded them."""
    files = job.sorted_files
    return dict(zip(files["sha256"], files["name"], strict=True))


def ingest(job: RoundJob) -> dict[str, Any]:
    """The whole round's raw files into every province part: sort, then read each part that changed.

    The offices' returned corrections (``<round>/corrections/<amphoe_code>/``) are read with their
    province; ``corrections`` (work area) says which quarantined row each returned row corrects.
    """
    sorted_ = sort(job)
    if not sorted_.digests:
        raise EmptyRound()
    provinces = sorted(set(sorted_.changed) | set(stale_parts(job, "received")))
    # two parts at a time: most of a part's time is Parquet read and written, which lets the other run
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="ingest-part") as pool:
        list(pool.map(lambda province: read_part(job, province, sorted_.by_part), provinces))
    files = job.work.read("files")
    return {
        "files": len(files),
        "files_rejected": int((files["status"] == "rejected").sum()),
        "files_duplicate": int((files["status"] == "duplicate").sum()),
        "files_corrections": int((files["office"] != "").sum()),
        "files_read": sorted_.files_read,
        "provinces": len(sorted_.digests),
        "rows_received": int(files["rows_received"].sum()),
    }


def validate(job: RoundJob, every_part: bool = False) -> dict[str, Any]:
    """Every province part not yet validated since its rows changed (``every_part``: every part, as a benchmark
    measures it), then the round's counts over all parts, and the schema engine that ran.

    When every part of a round of up to ``ONE_PASS_ROWS`` rows is to be validated (its first run) they are
    validated at once and the results split by part: the same tables as part by part (duplicates are a
    part's own: ``validation.duplicates``), without a province's fixed cost paid 78 times. A schema with
    ``unique`` fields, whose findings name a row's position among the rows validated, goes part by part,
    as a larger round does: in ``job.workers`` processes side by side (``pipelines.part_pool``).
    """
    names, digests = file_names(job), parts_of(job.work)
    stale = sorted(digests) if every_part else stale_parts(job, "validated")
    engine = None
    if stale and set(stale) == set(digests) and not _positions_in_findings(job.spec) and _small(job):
        engine = _validate_all_parts(job, stale, names)
    elif stale:
        # the largest first: the last part to finish is a small one, not a worker alone with a big one
        stale.sort(key=lambda province: -_received_bytes(job, province))
        engine = each_part(job, partial(validate_part, names=names), stale, job.workers)[-1]["engine"]
    return round_counts(job) | ({"engine": engine} if engine else {})


#: Up to this many received rows a round's parts are validated in one pass; above, part by part: the one pass's
#: tables are split in memory, and a national household round's would not fit.
ONE_PASS_ROWS = 1_000_000


def _received_bytes(job: RoundJob, province: str) -> int:
    received = job.work.part(province).path("received")
    return received.stat().st_size if received.exists() else 0


def _small(job: RoundJob) -> bool:
    received = job.work.path("received")
    return duckdb.sql(f"SELECT count(*) FROM read_parquet('{received}')").fetchone()[0] <= ONE_PASS_ROWS


def _positions_in_findings(spec: DatasetSpec) -> bool:
    return any(f.get("constraints", {}).get("unique") for f in spec.fields)


class _AllParts(WorkArea):
    """Reads the round's received rows over every part, writes the results to a scratch folder of its own."""

    def path(self, name: str) -> Path:
        if name == "received":
            return WorkArea(self.folder.parent, partitioned=True).path(name)
        return super().path(name)


def _validate_all_parts(job: RoundJob, provinces: list[str], names: dict[str, str]) -> str:
    """Validate every part in one pass, then write each part's own rows of each table (see :func:`validate`).
    Returns the schema engine that ran."""
    for province in provinces:
        part = job.work.part(province)
        if stamped(part, "received") != part_digest(job.work, province):
            raise StaleParts([province])
    scratch = _AllParts(job.work.folder / f".all-parts.{os.getpid()}.tmp")
    try:
        files = job.work.read("files")
        names = names | dict(zip(files["sha256"], files["name"], strict=True))
        corrections = correction_files(files)
        derived = partial(write_derived, job.spec, scratch)
        figures = validate_round(
            scratch, job.spec, job.round, job.geography, names, corrections=corrections, then=derived,
            carry=derived_columns(job.spec),
        )  # fmt: skip
        split = ["accepted", "quarantine", "findings", "units", *(COUNT_TABLES if job.spec.has_quality_figures else [])]
        for province in provinces:  # its units are rewritten: what they held before is measured again
            job.work.part(province).path("part_measures").unlink(missing_ok=True)
        for name in split:
            job.work.write_parts(name, pq.read_table(scratch.path(name)), provinces)
        for province in provinces:
            stamp(job.work.part(province), "validated", part_digest(job.work, province))
    finally:
        shutil.rmtree(scratch.folder, ignore_errors=True)
    return figures["engine"]


def round_counts(job: RoundJob) -> dict[str, Any]:
    """Rows received, accepted and quarantined, and findings by code, over every part of the round."""
    require_parts(job)
    con = duckdb.connect()
    path = job.work.path
    received, accepted, quarantined = con.execute(
        f"SELECT (SELECT count(*) FROM read_parquet('{path('received')}')), "
        f"(SELECT count(*) FROM read_parquet('{path('accepted')}')), "
        f"(SELECT count(*) FROM read_parquet('{path('quarantine')}'))"
    ).fetchone()
    by_code = con.execute(
        f"SELECT code, count(*), count(DISTINCT _row_id) FROM read_parquet('{path('findings')}') GROUP BY 1 ORDER BY 1"
    ).fetchall()
    return {
        "rows_received": int(received),
        "rows_accepted": int(accepted),
        "rows_quarantined": int(quarantined),
        "findings_by_code": {code: int(n) for code, n, _ in by_code},
        "rows_by_code": {code: int(n) for code, _, n in by_code},
    }


class StaleParts(RuntimeError):
    """Province parts whose files changed since they were last read or validated: run those provinces first."""

    def __init__(self, provinces: list[str]) -> None:
        self.provinces = provinces
        listed = ", ".join(provinces)
        if not provinces:
            super().__init__(
                "ยังไม่ได้แยกไฟล์ของรอบนี้ตามจังหวัด ให้ประมวลผลขั้นรับไฟล์ (landed) ก่อน / the round's files were not "
                "sorted into provinces yet: run its landing step (landed) first"
            )
            return
        super().__init__(
            f"จังหวัด {listed} ยังไม่ได้ประมวลผลหลังไฟล์เปลี่ยน ให้ประมวลผลจังหวัดเหล่านี้ก่อน / "
            f"provinces {listed} were not processed since their files changed: run those province partitions first"
        )


class EmptyRound(RuntimeError):
    """The round's landing folder holds no file (any more): nothing to count or publish."""

    def __init__(self) -> None:
        super().__init__(
            "รอบนี้ไม่มีไฟล์ในโฟลเดอร์รับไฟล์ จึงไม่มีข้อมูลให้นับหรือเผยแพร่ / the round's landing folder holds no "
            "file: there is nothing to count or publish"
        )


def stale_parts(job: RoundJob, stage: str) -> list[str]:
    """Parts whose ``stage`` was not done from the last sort, and parts the last sort no longer has."""
    return parts_to_run(job.work, stage)


def require_parts(job: RoundJob) -> None:
    """The round's tables are read over its parts: every part must be validated from the last sort."""
    if parts_fingerprint(job.work) is None:
        raise StaleParts([])
    if not parts_of(job.work):
        raise EmptyRound()
    stale = stale_parts(job, "validated")
    if stale:
        raise StaleParts(stale)


def balance_by_file(job: RoundJob) -> pd.DataFrame:
    """Per file: rows received, accepted, quarantined (they must add up)."""
    con = duckdb.connect()
    counted = {}
    for name in ("accepted", "quarantine"):
        counted[name] = dict(
            con.execute(f"SELECT _file, count(*) FROM read_parquet('{job.work.path(name)}') GROUP BY 1").fetchall()
        )
    files = job.work.read("files")
    out = files[
        [
            "sha256",
            "name",
            "status",
            "format",
            "encoding",
            "rows_received",
            "problem_code",
            "message_th",
            "message_en",
            # an office's correction: its office, its place in the landed order, rows sent back unchanged
            *(c for c in ("office", "correction_order", "rows_unchanged") if c in files.columns),
        ]
    ].copy()
    out["rows_accepted"] = out["sha256"].map(counted["accepted"]).fillna(0).astype(int)
    out["rows_quarantined"] = out["sha256"].map(counted["quarantine"]).fillna(0).astype(int)
    out.loc[out["status"] == "duplicate", ["rows_accepted", "rows_quarantined"]] = 0
    return out


def quality(job: RoundJob) -> dict[str, Any]:
    """Completeness, accuracy, timeliness and the correction loop (issue #14.4) per area.

    The loop (``correction_loop`` in the work area: per office, province, nation) is measured here,
    once, and its columns join the quality figures: the report, the published quality table, the
    scorecard, the Dagster metadata and the next round's workbooks all read these numbers.
    """
    con = tables.connect(job.geography, job.work.folder / "spill")
    figures, reasons = tables.quality(con, job.spec, job.round, job.work, reporting_deadline(job.spec, job.round))
    loop, counts = correction_loop(
        job.spec, job.round, job.work, job.geography, published_on(job.layout.reports(job.spec.name, job.round))
    )
    figures = with_quality(figures, loop)
    job.work.write(LOOP_TABLE, loop)
    job.work.write(COUNTS_TABLE, counts)
    job.work.write("quality", figures)
    job.work.write("quality_reasons", reasons)
    nation = figures[figures["level"] == "nation"].iloc[0]
    return {
        "completeness_pct": float(nation["completeness_pct"]),
        "accuracy_pct": float(nation["accuracy_pct"]) if pd.notna(nation["accuracy_pct"]) else 0.0,
        "on_time_pct": float(nation["on_time_pct"]),
        "villages_expected": int(nation["villages_expected"]),
        "villages_accepted": int(nation["villages_accepted"]),
        "tambons_not_reported": not_reported(figures)["area_code"].tolist(),
        "corrections": loop_totals(loop),
    }


def quarantine_table(job: RoundJob) -> tuple[Path, int]:
    """Every quarantined row's findings as ``quarantine.csv`` in the reports folder (internal: personal values).

    Written after validation, so the data team can tell an office which file, sheet, row
    and field to correct; streamed by DuckDB, never published.
    """
    return write_quarantine_csv(job.spec, job.work, job.layout.reports(job.spec.name, job.round))


def not_reported_list(job: RoundJob) -> Path:
    """The full list of tambons not reported (``tambons_not_reported.csv``), chaseable ones first.

    The check and the page show the tambons to chase and count the silent provinces; this
    file is where every tambon is, for Excel.
    """
    table = not_reported_table(job.work.read("quality"))
    return write_frame_csv(csv_headers(table), job.layout.reports(job.spec.name, job.round) / NOT_REPORTED_FILE)


def quality_page(job: RoundJob) -> Path:
    """The round's quality report (HTML with charts), written with the run report (internal).

    It links the internal tables already written beside it by name (never their contents).
    """
    folder = job.layout.reports(job.spec.name, job.round)
    internal = [name for name in (QUARANTINE_FILE, NOT_REPORTED_FILE) if (folder / name).is_file()]
    return write_quality_page(job.spec, job.round, job.work.folder.parent, out_dir=folder, internal_files=internal)


def correction_workbooks(job: RoundJob) -> Written:
    """Each district office's workbook of its own held-back rows, and the data team's (internal: personal data).

    Written after the quality stage, whose figures its summary shows; to the reports folder only.
    """
    return write_correction_workbooks(
        job.spec,
        job.round,
        job.work,
        job.geography,
        job.layout.reports(job.spec.name, job.round),
        catalog_root=job.layout.catalog,
    )


def aggregate(job: RoundJob) -> dict[str, Any]:
    """Records (when public) and the declared levels' aggregates, small cells suppressed when declared."""
    spec = job.spec
    con = tables.connect(job.geography, job.work.folder / "spill")
    tables.register_work(con, job.work, "units")  # every province's, written with its validation
    rows: dict[str, Any] = {}
    if spec.publish_records:
        records = tables.records(con, spec, job.round)
        job.work.write("records", records)
        rows["records"] = len(records)
    parts = None
    if tables.measured_in_parts(spec):  # the parts not measured since their units were written, in one scan
        unmeasured = [p for p in job.work.parts() if not job.work.part(p).path("part_measures").exists()]
        if unmeasured:
            measured = tables.part_measures(con, spec, [job.work.part(p).path("units") for p in unmeasured])
            job.work.write_parts("part_measures", measured, unmeasured)
        parts = job.work.path("part_measures")
    frames = tables.aggregates(con, spec, job.round, list(spec.aggregate_levels), parts)
    rules = disclosure_rules(spec, measures(spec))
    if rules is not None:
        hierarchy = [(level, code_columns(level)[-1] if level != "nation" else None) for level in spec.aggregate_levels]
        hidden = suppress(frames, hierarchy, rules)
        frames = {level: result.frame for level, result in hidden.items()}
        for level, result in hidden.items():
            job.work.write(f"aggregate_{level}_suppressed", result.mask)
            rows[f"{level}_cells_suppressed"] = int(result.mask.to_numpy().sum())
    for level, frame in frames.items():
        job.work.write(f"aggregate_{level}", frame)
        rows[level] = len(frame)
    return rows


def _suppressed_masks(job: RoundJob) -> dict[str, pd.DataFrame]:
    return {
        level: job.work.read(f"aggregate_{level}_suppressed")
        for level in job.spec.aggregate_levels
        if job.work.path(f"aggregate_{level}_suppressed").exists()
    }


def publish(job: RoundJob, catalog: LocalCatalog, on_wait: Callable[[str], None] | None = None) -> list[Published]:
    """Scan every outgoing file for personal data, then publish each as a versioned package.

    Nothing is written unless every file of the round passes: a leak in one table stops them all.
    The packages, the index and the analysts' database are written holding the catalog's lock (``on_wait``:
    told if another run is publishing), so a run of another round or dataset publishing at the same time
    never writes back what it read before this one's revisions.
    """
    spec = job.spec
    quality = spec.has_quality_figures
    outputs = build_outputs(
        spec,
        job.work.read("records") if spec.publish_records else None,
        {level: job.work.read(f"aggregate_{level}") for level in spec.aggregate_levels},
        job.work.read("quality") if quality else None,
        job.work.read("quality_reasons") if quality else None,
        _suppressed_masks(job),
    )
    # the page drawn on a thread of its own while the tables' CSV bytes are made (Arrow's work, which lets it run)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="quality-page") as pool:
        drawn = pool.submit(quality_page, job) if quality else None
        files = [(f"{o.name}.csv", o.csv) for o in outputs]
        page = drawn.result() if drawn is not None else None
    if page is not None:
        page_bytes = page.read_bytes()  # scanned, then published as read: the page is not read twice
        files.append((page.name, page_bytes))
    leaks = scan_files(files, spec, job.work.path("received"))
    if leaks:
        raise PrivacyError(leaks)
    # the round's deadline and provinces reported go with every table: "latest" is decided from them
    expected = job.geography.provinces["province_code"].astype(str)
    reporting = round_reporting(spec, job.round, expected, job.work.path("accepted"))
    with catalog.publishing(on_wait):
        published = [catalog.publish(o, job.round, job.gdc(o.kind) | o.gdc, reporting) for o in outputs]
        if page is not None:  # next to the published quality packages: a view of them, replaced when they change
            target = catalog.root / f"{spec.name}_quality" / job.round.key / page.name
            write_atomic(target, lambda temporary: temporary.write_bytes(page_bytes))
        catalog.write_index()
        build_local(catalog.root)  # the analysts' DuckDB catalog database, over every dataset and round
    return published


def field_workers(job: RoundJob) -> Path | None:
    """The supervisors' per-worker table (internal): written beside the run report, never published."""
    table = field_worker_output(job.spec, job.work, reporting_deadline(job.spec, job.round))
    if table is None:
        return None
    folder = job.layout.reports(job.spec.name, job.round)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "field_workers.csv"
    target.write_bytes(table.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig"))
    return target


def _blank(value: object) -> bool:
    """NaN or pd.NA (a figure with nothing to measure): written as JSON null, not NaN."""
    return not isinstance(value, str | list | dict) and bool(pd.isna(value))


def _quality_report(figures: pd.DataFrame) -> dict[str, Any]:
    nation = figures[figures["level"] == "nation"].iloc[0].to_dict()
    provinces = figures[(figures["level"] == "province") & (figures["rows_received"] > 0)]
    columns = ["area_code", "area_name_th", "area_name_en", "completeness_pct", "accuracy_pct", "on_time_pct"]
    columns += ["tambons_expected", "tambons_reported"]
    return {
        "quality": {k: (None if _blank(v) else v.item() if hasattr(v, "item") else v) for k, v in nation.items()},
        "quality_by_province": json.loads(provinces[columns].to_json(orient="records", force_ascii=False)),
        "tambons_not_reported": not_reported(figures)["area_code"].tolist(),
    }


def write_report(job: RoundJob, published: list[Published]) -> dict[str, Any]:
    """The machine-readable run report (JSON) for the data team."""
    files = balance_by_file(job)
    counts = round_counts(job)  # of every finding: a national round's do not fit a frame comfortably
    report: dict[str, Any] = {
        "dataset": job.spec.name,
        "round": job.round.key,
        "round_be": job.round.be_key,
        "files": json.loads(files.to_json(orient="records", force_ascii=False)),
        "totals": {
            "files": len(files),
            "rows_received": int(files["rows_received"].sum()),
            "rows_accepted": int(files["rows_accepted"].sum()),
            "rows_quarantined": int(files["rows_quarantined"].sum()),
        },
        "rules": {"findings_by_code": counts["findings_by_code"], "rows_by_code": counts["rows_by_code"]},
    }
    if job.spec.has_quality_figures:
        report |= _quality_report(job.work.read("quality"))
    # per office: rows returned for correction, corrected and accepted, refused, still open
    counted = job.work.path(COUNTS_TABLE)  # by the quality stage (a work area from before it did: counted here)
    counts = job.work.read(COUNTS_TABLE) if counted.exists() else correction_table(job.spec, job.work, job.geography)
    report["corrections"] = correction_figures(counts)
    report["published"] = [
        {
            "output": p.output,
            "status": p.status,
            "revision": p.revision,
            "folder": str(p.folder),
            "files": {fmt: str(p.folder / info["path"]) for fmt, info in p.files.items()},
        }
        for p in published
    ]
    folder = job.layout.reports(job.spec.name, job.round)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report
