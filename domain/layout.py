"""Where data lives on disk, one place for every stage.

``data/`` (or ``$TAMBON_DATA_DIR``) mirrors the data flow::

    landing/<dataset>/<round>/   files as field offices sent them (round as 2563-10 or 2020-10)
        corrections/<amphoe>/    an office's returned corrections, each with a hidden origin sidecar
    archive/<sha[:2]>/<sha>.ext  every raw file kept byte-for-byte, keyed by content
    work/<dataset>/<round>/      received -> validated -> quarantine -> quality -> aggregates
    catalog/<output>/<round>/rN/ published, immutable, versioned packages (+ latest.json)
    reports/<dataset>/<round>/   run reports for the data team
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from domain.declarations import REPO_ROOT
from domain.rounds import Round

#: The round's report folder (:meth:`Layout.reports`) holds the district offices' correction workbooks
#: in this folder, one per office, and the data team's workbook (rows no office could be given) beside it:
#: written by ``pipelines/report/corrections/``, delivered by ``catalog/office_delivery.py``.
OFFICES_FOLDER = "offices"
DATA_TEAM_FILE = "corrections_unattributed.xlsx"


@dataclass(frozen=True)
class Layout:
    root: Path

    @classmethod
    def from_env(cls) -> Layout:
        return cls(Path(os.environ.get("TAMBON_DATA_DIR", REPO_ROOT / "data")).resolve())

    def landing_dirs(self, dataset: str, round_: Round) -> list[Path]:
        """Both spellings of the round's folder; offices use either."""
        base = self.root / "landing" / dataset
        return [base / name for name in (round_.be_key, round_.key) if (base / name).is_dir()]

    def landing_dir(self, dataset: str, round_: Round) -> Path:
        """Where new files for a round are dropped (B.E., as offices name it)."""
        return self.root / "landing" / dataset / round_.be_key

    def corrections_dir(self, dataset: str, round_: Round, amphoe_code: str) -> Path:
        """Where a district office's returned corrections for a round land (``pipelines.ingest.corrections``)."""
        return self.landing_dir(dataset, round_) / "corrections" / amphoe_code

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    def work(self, dataset: str, round_: Round) -> Path:
        return self.root / "work" / dataset / round_.key

    @property
    def catalog(self) -> Path:
        return self.root / "catalog"

    def reports(self, dataset: str, round_: Round) -> Path:
        return self.root / "reports" / dataset / round_.key
