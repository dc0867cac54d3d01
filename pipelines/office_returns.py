"""The offices' corrections, from CKAN to the round's landing folder: what the office-uploads sensor does.

For a collection with correction workbooks, every file an office added to its correction dataset
(catalog/office_uploads.py) and not landed before (``seen``: the sensor's cursor) is downloaded
and landed in its round's corrections folder with where it came from
(pipelines/ingest/corrections.py ``land_returned``). The round is the one the workbook was
written for (its ``_about`` sheet); for any other file (a fixed file of the office's own, a
workbook too damaged to read) it is the newest round whose workbook the office was sent: a
damaged file still lands, and the round's ingest gives it its reason, so nothing sent is lost.
The landing sensor then sees a new file in that round and re-runs it, which reads the correction.

Offices are those that were sent a workbook of the collection (the reports folder says which),
so a tick reads one dataset per such office, not one per district of the country.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from catalog.ckan_client import CkanClient
from catalog.office_uploads import Upload, UploadRefused, fetch, find_uploads
from domain.declarations import DatasetSpec
from domain.layout import OFFICES_FOLDER, Layout
from domain.limits import limits_for
from domain.rounds import Round, parse_round
from pipelines.ingest.corrections import land_returned
from pipelines.ingest.problems import FileProblem
from pipelines.report.corrections.returned import read_about


@dataclass(frozen=True)
class Landed:
    """One upload handled: where it landed (None when refused) and why not."""

    key: str
    amphoe_code: str
    path: Path | None
    round: str
    reason: str = ""


def offices_sent_workbooks(layout: Layout, spec: DatasetSpec) -> list[str]:
    """The district offices that were sent a workbook of ``spec`` in any round (``<amphoe>_<name>.xlsx``)."""
    base = layout.root / "reports" / spec.name
    return sorted({p.name.split("_", 1)[0] for p in base.glob(f"*/{OFFICES_FOLDER}/*.xlsx") if p.name[:4].isdigit()})


def round_of(data: bytes, spec: DatasetSpec, upload: Upload) -> Round | None:
    """The round a returned file answers: its workbook's own, else the newest the office was sent."""
    try:
        about = read_about(data, spec)
    except (FileProblem, ValueError, OSError):
        about = {}  # not a workbook of ours, or damaged: the newest round's ingest will say so
    if about.get("dataset") == spec.name and about.get("round"):
        try:
            return parse_round(about["round"])
        except ValueError:
            pass
    return parse_round(upload.rounds_delivered[-1]) if upload.rounds_delivered else None


def land_uploads(client: CkanClient, spec: DatasetSpec, layout: Layout, seen: set[str]) -> list[Landed]:
    """Land every upload of ``spec``'s offices not in ``seen``; what happened to each."""
    done: list[Landed] = []
    max_bytes = limits_for(spec).max_file_bytes
    for upload in find_uploads(client, spec.name, offices_sent_workbooks(layout, spec)):
        if upload.key in seen:
            continue
        try:
            data = fetch(client, upload, max_bytes)
        except UploadRefused as refused:
            done.append(Landed(upload.key, upload.amphoe_code, None, "", str(refused)))
            continue
        round_ = round_of(data, spec, upload)
        if round_ is None:
            reason = "ยังไม่เคยส่งแบบแก้ไขให้อำเภอนี้ / no workbook was ever sent to this office"
            done.append(Landed(upload.key, upload.amphoe_code, None, "", reason))
            continue
        path = land_returned(layout, spec, round_, upload.amphoe_code, upload.filename, data, upload.origin(client.url))
        done.append(Landed(upload.key, upload.amphoe_code, path, round_.key))
    return done
