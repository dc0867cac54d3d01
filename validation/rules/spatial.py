"""Spatial review (การตรวจทานข้อมูลเชิงพื้นที่): is the point where the village can be?

In order, one finding per row: (0, 0); latitude and longitude swapped; outside
Thailand; further than ``max_km`` from the centre of the tambon's registry
villages (the tambon the code names).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from validation import findings

if TYPE_CHECKING:
    from validation.rules import RuleContext

THAILAND = {"lat": (5.6, 20.5), "lon": (97.3, 105.7)}
EARTH_KM = 6371.0


def haversine_km(lat1: Any, lon1: Any, lat2: Any, lon2: Any) -> np.ndarray:
    lat1, lon1, lat2, lon2 = (np.radians(np.asarray(x, dtype=float)) for x in (lat1, lon1, lat2, lon2))
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(a))


def _inside(lat: pd.Series, lon: pd.Series) -> pd.Series:
    (lat0, lat1), (lon0, lon1) = THAILAND["lat"], THAILAND["lon"]
    return lat.between(lat0, lat1) & lon.between(lon0, lon1)


def spatial_review(frame: pd.DataFrame, params: dict[str, Any], ctx: RuleContext) -> pd.DataFrame:
    lat = frame[params["latitude"]].astype("float64")
    lon = frame[params["longitude"]].astype("float64")
    field = ctx.fields[params["latitude"]]
    present = lat.notna() & lon.notna()
    zero = present & (lat == 0) & (lon == 0)
    swapped = present & ~zero & ~_inside(lat, lon) & _inside(lon, lat)
    outside = present & ~zero & ~swapped & ~_inside(lat, lon)

    def point(mask: pd.Series) -> list[str]:
        return [f"{a:.5f}, {b:.5f}" for a, b in zip(lat[mask], lon[mask], strict=True)]

    parts = [
        findings.make(frame.index[zero], "coordinates_zero", "spatial_review", field, point(zero)),
        findings.make(
            frame.index[swapped],
            "coordinates_swapped",
            "spatial_review",
            field,
            point(swapped),
            point(swapped),
        ),
        findings.make(
            frame.index[outside],
            "coordinates_outside_thailand",
            "spatial_review",
            field,
            point(outside),
            point(outside),
        ),
    ]
    inside = present & _inside(lat, lon)
    tambon = frame[params["code_field"]].astype("string").str[:6]
    centres = ctx.villages.groupby("tambon_code")[["latitude", "longitude"]].median()
    here = pd.DataFrame({"tambon_code": tambon[inside]}).join(centres, on="tambon_code")
    known = here["latitude"].notna()
    distance = pd.Series(
        haversine_km(lat[inside][known], lon[inside][known], here["latitude"][known], here["longitude"][known]),
        index=here.index[known],
    )
    far = distance[distance > float(params.get("max_km", 25))]
    parts.append(
        findings.make(
            far.index,
            "coordinates_far_from_tambon",
            "spatial_review",
            field,
            point(frame.index.isin(far.index)),
            [f"{km:.1f} กม./km" for km in far],
        )
    )
    return findings.concat(parts)
