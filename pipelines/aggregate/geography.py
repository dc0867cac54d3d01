"""The administrative levels every aggregate and quality figure is cut by."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

#: level -> the geography columns that identify an area at that level (coarse to fine).
LEVEL_COLUMNS: dict[str, list[str]] = {
    "nation": [],
    "province": ["province_code", "province_name_th", "province_name_en"],
    "amphoe": [
        "province_code", "province_name_th", "province_name_en",
        "amphoe_code", "amphoe_name_th", "amphoe_name_en",
    ],
    "tambon": [
        "province_code", "province_name_th", "province_name_en",
        "amphoe_code", "amphoe_name_th", "amphoe_name_en",
        "tambon_code", "tambon_name_th", "tambon_name_en",
    ],
}  # fmt: skip
LEVEL_TH = {"nation": "ประเทศ", "province": "จังหวัด", "amphoe": "อำเภอ", "tambon": "ตำบล"}
LEVELS = ["tambon", "amphoe", "province", "nation"]


@dataclass(frozen=True)
class Geography:
    """Registry tables (codes as text): villages, tambons, amphoes, provinces."""

    villages: pd.DataFrame
    tambons: pd.DataFrame
    amphoes: pd.DataFrame
    provinces: pd.DataFrame

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create ``areas`` (one row per tambon with every level's code and names) and ``villages``."""
        for name in ("villages", "tambons", "amphoes", "provinces"):
            con.register(f"_{name}", getattr(self, name))
        con.execute("CREATE OR REPLACE TEMP VIEW villages AS SELECT * FROM _villages")
        con.execute(
            """
            CREATE OR REPLACE TEMP VIEW areas AS
            SELECT p.province_code, p.name_th AS province_name_th, p.name_en AS province_name_en,
                   a.amphoe_code, a.name_th AS amphoe_name_th, a.name_en AS amphoe_name_en,
                   t.tambon_code, t.name_th AS tambon_name_th, t.name_en AS tambon_name_en
            FROM _tambons t
            JOIN _amphoes a USING (amphoe_code)
            JOIN _provinces p ON p.province_code = a.province_code
            """
        )


def from_registry() -> Geography:
    import registry

    return Geography(
        villages=registry.load_villages(),
        tambons=registry.tambons(),
        amphoes=registry.amphoes(),
        provinces=registry.provinces(),
    )
