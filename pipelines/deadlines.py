"""The monthly reporting deadline (seed 001: reports go up by the 25th) and who missed it.

Who missed it is split the way the data team chases it: first the tambons missing
in provinces that sent something this round (a province office that can be
called about its few gaps), then the provinces that sent nothing at all, counted
rather than listed tambon by tambon (one call per province, not 7,000 rows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from catalog.latest import reporting_metadata
from domain.declarations import DatasetSpec
from domain.rounds import Round
from domain.work import table_exists

DEFAULT_DEADLINE_DAY = 25
NOT_REPORTED_FILE = "tambons_not_reported.csv"

#: Columns of :func:`not_reported_table`, in order, with the Thai/English header the CSV shows.
NOT_REPORTED_COLUMNS: dict[str, str] = {
    "province_code": "รหัสจังหวัด / province_code",
    "province_name_th": "จังหวัด / province_name_th",
    "province_name_en": "province_name_en",
    "province_sent_data": "จังหวัดส่งข้อมูลรอบนี้ / province_sent_data",
    "amphoe_code": "รหัสอำเภอ / amphoe_code",
    "amphoe_name_th": "อำเภอ / amphoe_name_th",
    "amphoe_name_en": "amphoe_name_en",
    "tambon_code": "รหัสตำบล / tambon_code",
    "tambon_name_th": "ตำบล / tambon_name_th",
    "tambon_name_en": "tambon_name_en",
    "villages_expected": "หมู่บ้านตามทะเบียน / villages_expected",
}


def reporting_deadline(spec: DatasetSpec, round_: Round) -> dt.date:
    """The round's deadline: ``reporting.deadline_day`` of the round's month (declared; default 25)."""
    day = int(spec.raw.get("reporting", {}).get("deadline_day", DEFAULT_DEADLINE_DAY))
    return dt.date(round_.year, round_.month, min(day, round_.last_day.day))


def provinces_in(rows: Path, field: str) -> set[str]:
    """Province codes (the first two digits of the area code ``field``) of a round's accepted rows.

    Read from the accepted table rather than the quality figures, because every collection has one
    (province- and district-level collections have no village quality figures) and because it is
    what the published tables hold: a province whose rows were all held back is not in them.
    """
    if not table_exists(Path(rows)):
        return set()
    column = '"' + field.replace('"', '""') + '"'
    path = "'" + Path(rows).as_posix().replace("'", "''") + "'"
    found = duckdb.sql(
        f"SELECT DISTINCT substr(trim(CAST({column} AS VARCHAR)), 1, 2) FROM read_parquet({path}) "
        f"WHERE {column} IS NOT NULL"
    ).fetchall()
    return {code for (code,) in found if code and len(code) == 2 and code.isdigit()}


def round_reporting(
    spec: DatasetSpec, round_: Round, expected_provinces: Iterable[str], accepted: Path
) -> dict[str, Any]:
    """What is published with a round so that "latest" can be decided later (catalog/latest.py):
    the round's deadline, the provinces expected (the registry's) and those present in the accepted rows."""
    return reporting_metadata(
        reporting_deadline(spec, round_), expected_provinces, provinces_in(accepted, spec.geography_field)
    )


def not_reported(quality: pd.DataFrame) -> pd.DataFrame:
    """Tambons with no row received this round (codes and names), from the quality figures."""
    tambons = quality[(quality["level"] == "tambon") & (quality["rows_received"] == 0)]
    return tambons[["area_code", "area_name_th", "area_name_en"]].sort_values("area_code").reset_index(drop=True)


def late_or_missing(spec: DatasetSpec, round_: Round, quality: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """After the deadline, the tambons that have not reported; before it, nobody is late yet."""
    if today <= reporting_deadline(spec, round_):
        return not_reported(quality).iloc[0:0]
    return not_reported(quality)


def provinces_that_sent_data(quality: pd.DataFrame) -> set[str]:
    """Province codes with any row received this round: someone there is sending, so gaps can be chased."""
    provinces = quality[(quality["level"] == "province") & (quality["rows_received"] > 0)]
    return set(provinces["area_code"])


def not_reported_table(quality: pd.DataFrame, tambons: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every tambon of ``tambons`` (default: all not reported) with its amphoe and province, codes and names.

    Tambons of provinces that sent data come first (``province_sent_data`` true), then
    those of provinces that sent nothing; each part in code order, so a province and
    its amphoes are contiguous runs of rows.
    """
    tambons = not_reported(quality) if tambons is None else tambons
    names = {
        level: quality[quality["level"] == level].set_index("area_code")[["area_name_th", "area_name_en"]]
        for level in ("province", "amphoe")
    }
    tambon_rows = quality[quality["level"] == "tambon"].set_index("area_code")
    codes = tambons["area_code"].astype(str)
    sent = provinces_that_sent_data(quality)
    table = pd.DataFrame(
        {
            "province_code": codes.str[:2].to_numpy(),
            "province_name_th": codes.str[:2].map(names["province"]["area_name_th"]).to_numpy(),
            "province_name_en": codes.str[:2].map(names["province"]["area_name_en"]).to_numpy(),
            "province_sent_data": codes.str[:2].isin(sent).to_numpy(),
            "amphoe_code": codes.str[:4].to_numpy(),
            "amphoe_name_th": codes.str[:4].map(names["amphoe"]["area_name_th"]).to_numpy(),
            "amphoe_name_en": codes.str[:4].map(names["amphoe"]["area_name_en"]).to_numpy(),
            "tambon_code": codes.to_numpy(),
            "tambon_name_th": codes.map(tambon_rows["area_name_th"]).to_numpy(),
            "tambon_name_en": codes.map(tambon_rows["area_name_en"]).to_numpy(),
            "villages_expected": codes.map(tambon_rows["villages_expected"]).fillna(0).astype("int64").to_numpy(),
        }
    )
    return table.sort_values(["province_sent_data", "tambon_code"], ascending=[False, True]).reset_index(drop=True)


@dataclass(frozen=True)
class NotReported:
    """Tambons without a report, in the two parts the data team acts on differently."""

    chase: pd.DataFrame  #: tambons missing in provinces that sent data (rows of :func:`not_reported_table`)
    silent: pd.DataFrame  #: provinces that sent nothing: code, names, tambons (how many), villages_expected

    @property
    def tambons(self) -> int:
        """Every tambon not reported, in both parts."""
        return len(self.chase) + int(self.silent["tambons"].sum())

    @property
    def silent_tambons(self) -> int:
        return int(self.silent["tambons"].sum())


def split_not_reported(quality: pd.DataFrame, tambons: pd.DataFrame | None = None) -> NotReported:
    """:func:`not_reported_table` split: the tambons to chase listed, the silent provinces counted."""
    table = not_reported_table(quality, tambons)
    chase = table[table["province_sent_data"]].reset_index(drop=True)
    silent = (
        table[~table["province_sent_data"]]
        .groupby(["province_code", "province_name_th", "province_name_en"], as_index=False, dropna=False)
        .agg(tambons=("tambon_code", "size"), villages_expected=("villages_expected", "sum"))
        .sort_values("province_code")
        .reset_index(drop=True)
    )
    return NotReported(chase, silent)


def csv_headers(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the Thai/English headers people see in Excel, booleans as ใช่/yes and ไม่/no."""
    out = table[list(NOT_REPORTED_COLUMNS)].copy()
    out["province_sent_data"] = out["province_sent_data"].map({True: "ใช่ / yes", False: "ไม่ / no"})
    return out.rename(columns=NOT_REPORTED_COLUMNS)
