"""The stages of a round, raw -> validated -> aggregated -> published, as plain functions.

Each stage reads the previous stage's tables from the round's work area and
writes its own, so any stage can be re-run alone (from Dagster, the CLI or a
benchmark) and a failed run re-runs to the same end state. The Dagster assets
in ``pipelines/assets.py`` are thin wrappers around these.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from catalog.analyst_db import build_local
from catalog.local import LocalCatalog, Published
from catalog.outputs import build_outputs
from catalog.privacy import PrivacyError, private_values_of, scan_table
from pipelines.aggregate import tables
from pipelines.aggregate.geography import Geography, from_registry
from pipelines.deadlines import not_reported
from pipelines.declarations import DatasetSpec
from pipelines.ingest.received import read_round
from pipelines.layout import Layout
from pipelines.report import write_quality_page
from pipelines.rounds import Round
from pipelines.work import WorkArea
from validation.run import validate_round


@dataclass
class RoundJob:
    spec: DatasetSpec
    round: Round
    layout: Layout
    geography_loader: Any = from_registry

    @cached_property
    def work(self) -> WorkArea:
        return WorkArea(self.layout.work(self.spec.name, self.round))

    @cached_property
    def geography(self) -> Geography:
        return self.geography_loader()

    def gdc(self, kind: str) -> dict[str, Any]:
        catalog = self.spec.catalog
        return {**catalog.get("common", {}), **catalog.get(kind, {})}


def ingest(job: RoundJob) -> dict[str, Any]:
    """Archive every landed file and read it into normalised rows with lineage."""
    received = read_round(job.spec, job.layout.landing_dirs(job.spec.name, job.round), job.layout.archive)
    job.work.write("received", received.rows)
    job.work.write("files", received.files)
    files = received.files
    return {
        "files": len(files),
        "files_rejected": int((files["status"] == "rejected").sum()),
        "files_duplicate": int((files["status"] == "duplicate").sum()),
        "rows_received": len(received.rows),
    }


def validate(job: RoundJob) -> dict[str, Any]:
    received, files = job.work.read("received"), job.work.read("files")
    result = validate_round(
        received,
        job.spec,
        job.round,
        job.geography.villages,
        dict(zip(files["sha256"], files["name"], strict=True)),
    )
    job.work.write("accepted", result.accepted)
    job.work.write("quarantine", result.quarantine)
    job.work.write("findings", result.findings)
    return {
        "rows_received": len(received),
        "rows_accepted": len(result.accepted),
        "rows_quarantined": len(result.quarantine),
        "findings_by_code": result.findings["code"].value_counts().sort_index().to_dict(),
        "rows_by_code": result.findings.drop_duplicates(["_row_id", "code"])["code"]
        .value_counts()
        .sort_index()
        .to_dict(),
    }


def balance_by_file(job: RoundJob) -> pd.DataFrame:
    """Per file: rows received, accepted, quarantined (they must add up)."""
    files = job.work.read("files")
    accepted = job.work.read("accepted")["_file"].value_counts()
    quarantined = job.work.read("quarantine")["_file"].value_counts()
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
        ]
    ].copy()
    out["rows_accepted"] = out["sha256"].map(accepted).fillna(0).astype(int)
    out["rows_quarantined"] = out["sha256"].map(quarantined).fillna(0).astype(int)
    out.loc[out["status"] == "duplicate", ["rows_accepted", "rows_quarantined"]] = 0
    return out


def quality(job: RoundJob) -> dict[str, Any]:
    con = tables.connect(job.geography)
    figures, reasons = tables.quality(
        con, job.spec, job.round, job.work.read("received"), job.work.read("findings"), job.work.read("files")
    )
    job.work.write("quality", figures)
    job.work.write("quality_reasons", reasons)
    nation = figures[figures["level"] == "nation"].iloc[0]
    return {
        "completeness_pct": float(nation["completeness_pct"]),
        "accuracy_pct": float(nation["accuracy_pct"]) if pd.notna(nation["accuracy_pct"]) else 0.0,
        "villages_expected": int(nation["villages_expected"]),
        "villages_accepted": int(nation["villages_accepted"]),
        "tambons_not_reported": not_reported(figures)["area_code"].tolist(),
    }


def quality_page(job: RoundJob) -> Path:
    """The round's quality report (HTML with charts), written with the run report (internal)."""
    return write_quality_page(
        job.spec,
        job.round,
        job.work.folder.parent,
        out_dir=job.layout.reports(job.spec.name, job.round),
    )


def aggregate(job: RoundJob) -> dict[str, Any]:
    con = tables.connect(job.geography)
    records = tables.records(con, job.spec, job.round, job.work.read("accepted"))
    job.work.write("records", records)
    con.register("records", records)
    rows = {"records": len(records)}
    for level in job.spec.aggregate_levels:
        frame = tables.aggregate(con, job.spec, job.round, level)
        job.work.write(f"aggregate_{level}", frame)
        rows[level] = len(frame)
    return rows


def publish(job: RoundJob, catalog: LocalCatalog) -> list[Published]:
    """Scan every outgoing table for personal data, then publish each as a versioned package."""
    outputs = build_outputs(
        job.spec,
        job.work.read("records"),
        {level: job.work.read(f"aggregate_{level}") for level in job.spec.aggregate_levels},
        job.work.read("quality"),
        job.work.read("quality_reasons"),
    )
    private = job.spec.private_field_names
    secrets = private_values_of(job.work.read("received"), private)
    page = quality_page(job)
    page_text = pd.DataFrame({"text": [page.read_text(encoding="utf-8")]})
    leaks = [leak for o in outputs for leak in scan_table(o.name, o.frame, private, secrets)]
    leaks += scan_table(page.name, page_text, private, secrets)
    if leaks:
        raise PrivacyError(leaks)
    published = [catalog.publish(o, job.round, job.gdc(o.kind) | o.gdc) for o in outputs]
    # next to the published quality packages: the page is a view of them, replaced when they change
    shutil.copyfile(page, catalog.root / f"{job.spec.name}_quality" / job.round.key / page.name)
    catalog.write_index()
    build_local(catalog.root)  # the analysts' DuckDB catalog database, over every dataset and round
    return published


def write_report(job: RoundJob, published: list[Published]) -> dict[str, Any]:
    """The machine-readable run report (JSON) for the data team."""
    files = balance_by_file(job)
    findings = job.work.read("findings")
    figures = job.work.read("quality")
    nation = figures[figures["level"] == "nation"].iloc[0].to_dict()
    report = {
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
        "rules": {
            "findings_by_code": findings["code"].value_counts().sort_index().to_dict(),
            "rows_by_code": findings.drop_duplicates(["_row_id", "code"])["code"].value_counts().sort_index().to_dict(),
        },
        "quality": {k: (v.item() if hasattr(v, "item") else v) for k, v in nation.items()},
        "quality_by_province": json.loads(
            figures[(figures["level"] == "province") & (figures["rows_received"] > 0)][
                [
                    "area_code",
                    "area_name_th",
                    "area_name_en",
                    "completeness_pct",
                    "accuracy_pct",
                    "tambons_expected",
                    "tambons_reported",
                ]
            ].to_json(orient="records", force_ascii=False)
        ),
        "tambons_not_reported": not_reported(figures)["area_code"].tolist(),
        "published": [
            {
                "output": p.output,
                "status": p.status,
                "revision": p.revision,
                "folder": str(p.folder),
                "files": {fmt: str(p.folder / info["path"]) for fmt, info in p.files.items()},
            }
            for p in published
        ],
    }
    folder = job.layout.reports(job.spec.name, job.round)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run_report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    return report
