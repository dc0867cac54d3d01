"""The 18 inspection regions (เขตตรวจราชการ), kept as data with an effective date.

The grouping of provinces into regions changes over time; a new grouping is new
rows in ``data/inspection_regions.csv`` with a later ``effective_from``.
"""

from __future__ import annotations

import datetime as dt
from functools import cache

import pandas as pd

from registry.villages import DATA_DIR

REGIONS_CSV = DATA_DIR / "inspection_regions.csv"


@cache
def _all_groupings() -> pd.DataFrame:
    frame = pd.read_csv(
        REGIONS_CSV,
        comment="#",
        dtype={"region": "int64", "province_code": str, "province_name_th": str},
    )
    frame["effective_from"] = pd.to_datetime(frame["effective_from"], format="%Y-%m-%d").dt.date
    return frame


def inspection_regions(as_of: dt.date | None = None) -> pd.DataFrame:
    """``region, province_code, province_name_th, effective_from`` in force on ``as_of``.

    One row per province: for each province the latest grouping that took effect
    on or before ``as_of`` (default: the latest grouping of all). Raises
    ValueError when no grouping was in force yet on that date.
    """
    frame = _all_groupings()
    if as_of is not None:
        if isinstance(as_of, dt.datetime):
            as_of = as_of.date()
        frame = frame[frame["effective_from"] <= as_of]
        if frame.empty:
            raise ValueError(f"no inspection-region grouping in force on {as_of.isoformat()}")
    latest = frame.sort_values("effective_from").groupby("province_code").tail(1)
    return latest.sort_values(["region", "province_code"], ignore_index=True)
