"""Shared fixtures: a small hand-made geography so unit tests need no registry build."""

from __future__ import annotations

import pandas as pd
import pytest

from domain.declarations import load_datasets
from domain.geography import Geography


@pytest.fixture(scope="session")
def village_spec():
    return load_datasets()["village_profile"]


@pytest.fixture(scope="session")
def small_geography() -> Geography:
    """Two tambons of Surat Thani's Mueang district, three villages each."""
    codes = [f"8401{t:02d}{v:02d}" for t in (1, 2) for v in (1, 2, 3)]
    return Geography(
        villages=pd.DataFrame(
            {
                "village_code": codes,
                "village_no": [int(c[-2:]) for c in codes],
                "village_name": [f"บ้านทดสอบ {c}" for c in codes],
                "tambon_code": [c[:6] for c in codes],
                "amphoe_code": ["8401"] * 6,
                "province_code": ["84"] * 6,
                "latitude": [9.13, 9.14, 9.15, 9.03, 9.04, 9.05],
                "longitude": [99.33, 99.34, 99.35, 99.23, 99.24, 99.25],
            }
        ),
        tambons=pd.DataFrame(
            {
                "tambon_code": ["840101", "840102"],
                "amphoe_code": ["8401"] * 2,
                "province_code": ["84"] * 2,
                "name_th": ["ตลาด", "มะขามเตี้ย"],
                "name_en": ["Talat", "Makham Tia"],
            }
        ),
        amphoes=pd.DataFrame(
            {
                "amphoe_code": ["8401"],
                "province_code": ["84"],
                "name_th": ["เมืองสุราษฎร์ธานี"],
                "name_en": ["Mueang Surat Thani"],
            }
        ),
        provinces=pd.DataFrame({"province_code": ["84"], "name_th": ["สุราษฎร์ธานี"], "name_en": ["Surat Thani"]}),
    )


@pytest.fixture(scope="session")
def village_registry_names() -> pd.Series:
    import registry

    villages = registry.load_villages()
    return villages.set_index("village_code")["village_name"]
