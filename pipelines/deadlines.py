"""The monthly reporting deadline (seed 001: reports go up by the 25th) and who missed it."""

from __future__ import annotations

import datetime as dt
import os

import pandas as pd

from pipelines.declarations import DatasetSpec
from pipelines.rounds import Round

DEFAULT_DEADLINE_DAY = 25


def today() -> dt.date:
    """The date deadlines are judged on: ``TAMBON_TODAY`` (ISO) when set, for re-runs and tests."""
    override = os.environ.get("TAMBON_TODAY")
    return dt.date.fromisoformat(override) if override else dt.date.today()


def reporting_deadline(spec: DatasetSpec, round_: Round) -> dt.date:
    """The round's deadline: ``reporting.deadline_day`` of the round's month (declared; default 25)."""
    day = int(spec.raw.get("reporting", {}).get("deadline_day", DEFAULT_DEADLINE_DAY))
    return dt.date(round_.year, round_.month, min(day, round_.last_day.day))


def not_reported(quality: pd.DataFrame) -> pd.DataFrame:
    """Tambons with no row received this round (codes and names), from the quality figures."""
    tambons = quality[(quality["level"] == "tambon") & (quality["rows_received"] == 0)]
    return tambons[["area_code", "area_name_th", "area_name_en"]].sort_values("area_code").reset_index(drop=True)


def late_or_missing(spec: DatasetSpec, round_: Round, quality: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """After the deadline, the tambons that have not reported; before it, nobody is late yet."""
    if today <= reporting_deadline(spec, round_):
        return not_reported(quality).iloc[0:0]
    return not_reported(quality)
