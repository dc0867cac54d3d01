"""The work area of one dataset round: each stage's tables as Parquet, by name."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class WorkArea:
    folder: Path

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.parquet"

    def write(self, name: str, frame: pd.DataFrame) -> Path:
        """Write then rename: a stage that dies leaves the previous table, not half of one."""
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self.path(name)
        temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        frame.to_parquet(temporary, index=False)
        os.replace(temporary, target)
        return target

    def read(self, name: str) -> pd.DataFrame:
        return pd.read_parquet(self.path(name))
