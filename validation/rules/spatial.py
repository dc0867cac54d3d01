"""Spatial review (การตรวจทานข้อมูลเชิงพื้นที่): is the point where the village can be?

In order, one finding per row: (0, 0); latitude and longitude swapped; outside
Thailand; further than ``max_km`` from the centre (median) of the tambon's
registry villages (the tambon the code names).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from validation.rules.sql import finding
from validation.schema_sql import ident

if TYPE_CHECKING:
    from validation.rules import RuleContext

THAILAND = {"lat": (5.6, 20.5), "lon": (97.3, 105.7)}
EARTH_KM = 6371.0


def _inside(lat: str, lon: str) -> str:
    (lat0, lat1), (lon0, lon1) = THAILAND["lat"], THAILAND["lon"]
    return f"({lat} BETWEEN {lat0} AND {lat1} AND {lon} BETWEEN {lon0} AND {lon1})"


def haversine_km_sql(lat1: str, lon1: str, lat2: str, lon2: str) -> str:
    a = (
        f"pow(sin(radians({lat2} - {lat1}) / 2), 2) + "
        f"cos(radians({lat1})) * cos(radians({lat2})) * pow(sin(radians({lon2} - {lon1}) / 2), 2)"
    )
    return f"(2 * {EARTH_KM} * asin(sqrt({a})))"


def spatial_review(params: dict[str, Any], ctx: RuleContext) -> str:
    field = params["latitude"]
    villages = (ctx.registry or {}).get("village", "_villages")
    points = f"""
        SELECT _row_id, lat, lon, code, lat = 0 AND lon = 0 AS zero,
               {_inside("lat", "lon")} AS inside, {_inside("lon", "lat")} AS inside_swapped,
               printf('%.5f, %.5f', lat, lon) AS point
        FROM (SELECT _row_id, CAST({ident(params["latitude"])} AS DOUBLE) AS lat,
                     CAST({ident(params["longitude"])} AS DOUBLE) AS lon,
                     CAST({ident(params["code_field"])} AS VARCHAR) AS code
              FROM {ctx.typed}) WHERE lat IS NOT NULL AND lon IS NOT NULL
    """
    code = (
        "CASE WHEN zero THEN 'coordinates_zero' WHEN inside_swapped THEN 'coordinates_swapped' "
        "ELSE 'coordinates_outside_thailand' END"
    )
    misplaced = f"""
        SELECT _row_id, '{field}' AS field, {code} AS code, 'spatial_review' AS rule, point AS value,
               CASE WHEN zero THEN '' ELSE point END AS detail
        FROM ({points}) WHERE zero OR NOT inside
    """
    km = haversine_km_sql("p.lat", "p.lon", "c.latitude", "c.longitude")
    far = f"""
        SELECT {finding(field, "coordinates_far_from_tambon", "spatial_review", "point", "printf('%.1f กม./km', km)")}
        FROM (SELECT p._row_id, p.point, {km} AS km
              FROM ({points}) p
              JOIN (SELECT CAST(tambon_code AS VARCHAR) AS tambon_code, median(latitude) AS latitude,
                           median(longitude) AS longitude
                    FROM {villages}
                    -- only the tambons the rows name: a province's part needs its own, not the country's
                    WHERE CAST(tambon_code AS VARCHAR) IN (SELECT substr(code, 1, 6) FROM ({points}))
                    GROUP BY 1) c ON c.tambon_code = substr(p.code, 1, 6)
              WHERE p.inside)
        WHERE km > {float(params.get("max_km", 25))}
    """
    return f"{misplaced} UNION ALL {far}"
