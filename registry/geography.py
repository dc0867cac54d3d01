"""DOPA administrative geography (province / amphoe / tambon) from the ``geothai`` package.

Bangkok (``10``) is left out: it has khet/khwaeng instead of amphoe/tambon and was
not part of the Tambon Smart Team programme. That leaves 76 provinces, 878
amphoes and 7,256 tambons. Codes are strings (``"84"``, ``"8401"``, ``"840105"``).
"""

from __future__ import annotations

from functools import cache

import geothai
import pandas as pd

EXCLUDED_PROVINCES = frozenset({"10"})


@cache
def _provinces() -> pd.DataFrame:
    rows = [(p.code, p.name_th, p.name_en) for p in geothai.provinces() if p.code not in EXCLUDED_PROVINCES]
    frame = pd.DataFrame(rows, columns=["province_code", "name_th", "name_en"], dtype=str)
    return frame.sort_values("province_code", ignore_index=True)


@cache
def _amphoes() -> pd.DataFrame:
    rows = [
        (d.code, d.province_code, d.name_th, d.name_en)
        for code in _provinces()["province_code"]
        for d in geothai.districts(code)
    ]
    columns = ["amphoe_code", "province_code", "name_th", "name_en"]
    return pd.DataFrame(rows, columns=columns, dtype=str).sort_values("amphoe_code", ignore_index=True)


@cache
def _tambons() -> pd.DataFrame:
    rows = [
        (s.code, s.district_code, s.province_code, s.name_th, s.name_en)
        for code in _amphoes()["amphoe_code"]
        for s in geothai.subdistricts(code)
    ]
    columns = ["tambon_code", "amphoe_code", "province_code", "name_th", "name_en"]
    return pd.DataFrame(rows, columns=columns, dtype=str).sort_values("tambon_code", ignore_index=True)


def provinces() -> pd.DataFrame:
    """The 76 provinces: ``province_code, name_th, name_en``."""
    return _provinces().copy()


def amphoes() -> pd.DataFrame:
    """The 878 amphoes (districts): ``amphoe_code, province_code, name_th, name_en``."""
    return _amphoes().copy()


def tambons() -> pd.DataFrame:
    """The 7,256 tambons: ``tambon_code, amphoe_code, province_code, name_th, name_en``."""
    return _tambons().copy()
