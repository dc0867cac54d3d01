"""A round's files read for a test exactly as the ingest stage reads them: sorted into province parts
(``sort_round``), then each part read with its offices' corrections (``read_province``).

Tests of what a file does to the ingest (hostile files, encodings, corrections, the sample generators) go
through here, so they exercise the path a real round takes, not a reader of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

import registry
from domain.declarations import DatasetSpec
from domain.rounds import Round, parse_round
from domain.work import WorkArea
from pipelines.ingest.provinces import read_province, sort_round
from pipelines.ingest.received import BATCH_ROWS

ROUND = parse_round("2563-10")


@dataclass(frozen=True)
class Ingested:
    work: WorkArea  # partitioned: one part per province the rows name
    files: pd.DataFrame  # every file's record (FileRecord columns), parts in code order
    rows: int  # received rows, over every part

    def read_rows(self) -> pd.DataFrame:
        """Every part's received rows (``_row_id`` as the index), parts in code order."""
        return self.work.read("received")

    def received_paths(self) -> list[Path]:
        """Each part's ``received.parquet``, in code order."""
        return [self.work.part(code).path("received") for code in self.work.parts()]


def ingest(
    spec: DatasetSpec,
    landing_dirs: list[Path],
    root: Path,
    *,
    round_: Round = ROUND,
    known: frozenset[str] | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Ingested:
    """Sort ``landing_dirs`` into parts under ``root/work`` (archive: ``root/archive``) and read every part.

    ``known``: the province codes rows may name (default: the registry's 76).
    """
    known = known if known is not None else frozenset(registry.provinces()["province_code"].astype(str))
    work, archive = WorkArea(root / "work", partitioned=True), root / "archive"
    sorted_ = sort_round(spec, landing_dirs, archive, work, known, batch_rows=batch_rows)
    rows = 0
    for province in sorted(sorted_.digests):
        counts = read_province(
            spec, round_, work, province, landing_dirs, archive, known, files=sorted_.by_part, batch_rows=batch_rows
        )
        rows += counts["rows_received"]
    files = work.read("files") if work.parts() else pd.DataFrame(columns=sorted_.files.columns)
    return Ingested(work, files.reset_index(drop=True), rows)
