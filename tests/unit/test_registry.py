"""The registry: geography from geothai, the synthetic village registry, inspection regions."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest

import registry
from registry import villages as village_module
from registry.villages import LAT_MAX, LAT_MIN, LON_MAX, LON_MIN, RegistryError


def _km(lat1, lon1, lat2, lon2):
    lat1, lon1, lat2, lon2 = map(np.radians, (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(a))


@pytest.fixture(scope="module")
def villages() -> pd.DataFrame:
    return registry.load_villages()


def test_geography_counts_without_bangkok():
    provinces, amphoes, tambons = registry.provinces(), registry.amphoes(), registry.tambons()
    assert len(provinces) == 76 and "10" not in set(provinces["province_code"])
    assert len(amphoes) == 878 and len(tambons) == 7256
    assert list(tambons.columns) == [
        "tambon_code",
        "amphoe_code",
        "province_code",
        "name_th",
        "name_en",
    ]
    assert (tambons["tambon_code"].str.len() == 6).all()
    assert (tambons["tambon_code"].str[:4] == tambons["amphoe_code"]).all()
    assert (amphoes["amphoe_code"].str[:2] == amphoes["province_code"]).all()
    assert set(amphoes["province_code"]) == set(provinces["province_code"])


def test_village_counts(villages):
    assert list(villages.columns) == village_module.COLUMNS
    assert abs(len(villages) - 75_086) <= 0.02 * 75_086
    per_tambon = villages.groupby("tambon_code").size()
    assert len(per_tambon) == 7256  # every tambon has villages
    assert per_tambon.between(3, 25).all()
    assert 9.8 <= per_tambon.mean() <= 10.8
    assert per_tambon.skew() > 0  # a long right tail, as real counts have


def test_village_codes_numbers_and_names(villages):
    assert villages["village_code"].is_unique
    assert villages["village_code"].str.fullmatch(r"[0-9]{8}").all()
    assert (villages["village_code"].str[:6] == villages["tambon_code"]).all()
    assert (villages["village_code"].str[6:].astype(int) == villages["village_no"]).all()
    assert (villages["tambon_code"].str[:4] == villages["amphoe_code"]).all()
    assert (villages["tambon_code"].str[:2] == villages["province_code"]).all()
    # numbers are 1..n without gaps in every tambon
    numbers = villages.groupby("tambon_code")["village_no"].agg(["min", "max", "size"])
    assert (numbers["min"] == 1).all() and (numbers["max"] == numbers["size"]).all()
    assert villages["village_name"].str.fullmatch(r"บ้าน[\u0e00-\u0e7f]{2,}").all()
    assert villages["village_name"].nunique() > 2000  # varied, though not unique


def test_points_inside_thailand_and_close_to_their_tambon(villages):
    assert villages["latitude"].between(LAT_MIN, LAT_MAX).all()
    assert villages["longitude"].between(LON_MIN, LON_MAX).all()
    centres = registry.tambon_centres()
    assert len(centres) == 7256
    merged = villages.merge(centres, on="tambon_code", suffixes=("", "_centre"))
    distance = _km(
        merged["latitude"], merged["longitude"],
        merged["latitude_centre"], merged["longitude_centre"],
    )  # fmt: skip
    assert distance.max() < 9.0  # villages 1-4 km from the tambon centre: at most ~8 km apart


def test_synthetic_registry_is_deterministic(villages):
    rebuilt = village_module._synthetic()
    pd.testing.assert_frame_equal(rebuilt, villages)
    # pinned: identical on every machine (hash + plain IEEE arithmetic only)
    text = villages.to_csv(index=False, float_format="%.6f", lineterminator="\n")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert digest == PINNED_DIGEST


PINNED_DIGEST = "8151b9824fc9ed0b9e97ef0b6fce23c5e1b0721605239fd3e76df7653db9bea1"


def test_load_villages_returns_a_copy(villages):
    first = registry.load_villages()
    first.loc[0, "village_name"] = "changed"
    assert registry.load_villages().loc[0, "village_name"] != "changed"


def _write(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_real_registry_csv(tmp_path, monkeypatch):
    path = _write(
        tmp_path / "villages.csv",
        [
            "village_code,village_name,latitude,longitude,note",
            "84010502,บ้านท่าทอง,9.15,99.35,x",
            "84010501, บ้านดอนเกลี้ยง ,9.14,99.34,",
            "50010101,บ้านช้างม่อย,18.79,98.99,",
        ],
    )
    frame = registry.load_villages(path)
    assert list(frame.columns) == village_module.COLUMNS
    assert frame["village_code"].tolist() == ["50010101", "84010501", "84010502"]
    row = frame.iloc[1]
    assert (row["village_no"], row["village_name"], row["tambon_code"]) == (
        1,
        "บ้านดอนเกลี้ยง",
        "840105",
    )
    assert (row["amphoe_code"], row["province_code"]) == ("8401", "84")
    assert frame["latitude"].dtype == np.float64
    monkeypatch.setenv(village_module.ENV_VAR, str(path))
    assert len(registry.load_villages()) == 3
    assert len(registry.tambon_centres()) == 2


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("8401050,บ้านผิด,9.1,99.3", "not 8 digits"),
        ("10010101,บ้านกรุงเทพ,13.7,100.5", "unknown tambon"),
        ("84010503,บ้านไกล,35.0,99.3", "outside Thailand"),
        ("84010503,บ้านไม่มีพิกัด,,99.3", "not numbers"),
        ("84010501,บ้านซ้ำ,9.1,99.3", "repeats line 2"),
        ("84010503,,9.1,99.3", "village_name is empty"),
    ],
)
def test_real_registry_bad_row_is_named(tmp_path, line, message):
    path = _write(
        tmp_path / "bad.csv",
        ["village_code,village_name,latitude,longitude", "84010501,บ้านดี,9.1,99.3", line],
    )
    with pytest.raises(RegistryError, match=message) as error:
        registry.load_villages(path)
    assert "line 3" in str(error.value) and str(path) in str(error.value)


def test_real_registry_missing_column(tmp_path):
    path = _write(tmp_path / "cols.csv", ["village_code,village_name", "84010501,บ้านดี"])
    with pytest.raises(RegistryError, match="latitude"):
        registry.load_villages(path)


def test_inspection_regions_cover_76_provinces_once():
    regions = registry.inspection_regions()
    assert list(regions.columns) == [
        "region",
        "province_code",
        "province_name_th",
        "effective_from",
    ]
    assert len(regions) == 76 and regions["province_code"].is_unique
    assert sorted(regions["region"].unique()) == list(range(1, 19))
    names = registry.provinces().set_index("province_code")["name_th"]
    by_code = regions.set_index("province_code")["province_name_th"]
    assert by_code.sort_index().equals(names.sort_index())
    region_of = regions.set_index("province_code")["region"]
    assert region_of["47"] == 11 and region_of["84"] == 5 and region_of["50"] == 15  # spot checks
    assert len(registry.inspection_regions(dt.date(2021, 9, 30))) == 76
    with pytest.raises(ValueError, match="no inspection-region grouping"):
        registry.inspection_regions(dt.date(2019, 1, 1))


def test_province_centres_file():
    centres = village_module._province_centres()
    assert len(centres) == 76
    assert set(centres.index) == set(registry.provinces()["province_code"])
    assert centres["latitude"].between(LAT_MIN, LAT_MAX).all()
    assert centres["longitude"].between(LON_MIN, LON_MAX).all()
    assert centres["radius_km"].between(8, 100).all()
