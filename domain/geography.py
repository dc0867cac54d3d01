"""The administrative levels every aggregate and quality figure is cut by."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import duckdb
import pandas as pd
import pyarrow as pa

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
# Villages have a registry name in Thai only.
LEVEL_COLUMNS["village"] = [*LEVEL_COLUMNS["tambon"], "village_code", "village_name_th"]
LEVEL_TH = {"nation": "ประเทศ", "province": "จังหวัด", "amphoe": "อำเภอ", "tambon": "ตำบล", "village": "หมู่บ้าน"}
LEVELS = ["tambon", "amphoe", "province", "nation"]  # the levels quality figures are cut by
#: Digits of a code at each level (a longer code starts with its parents' codes).
CODE_DIGITS = {"province": 2, "amphoe": 4, "tambon": 6, "village": 8}


def code_columns(level: str) -> list[str]:
    """The code columns that identify an area at ``level`` (coarse to fine)."""
    return [c for c in LEVEL_COLUMNS[level] if c.endswith("_code")]


def unit_geography(level: str, field: str) -> tuple[list[str], str]:
    """Geography columns a row of a ``level`` collection carries, and the SQL join that adds them.

    The join is over the row's code column ``a.<field>`` and the ``areas``/``villages`` views.
    Village rows carry their tambon's columns (the village name is the collection's own).
    """
    if level in ("village", "tambon"):
        on = f"substr(a.{field}, 1, 6)" if level == "village" else f"a.{field}"
        return LEVEL_COLUMNS["tambon"], f"LEFT JOIN areas g ON g.tambon_code = {on}"
    columns = LEVEL_COLUMNS[level]
    distinct = f"(SELECT DISTINCT {', '.join(columns)} FROM areas)"
    return [c for c in columns if c != field], f"LEFT JOIN {distinct} g ON g.{level}_code = a.{field}"


@dataclass(frozen=True)
class Geography:
    """Registry tables (codes as text): villages, tambons, amphoes, provinces."""

    villages: pd.DataFrame
    tambons: pd.DataFrame
    amphoes: pd.DataFrame
    provinces: pd.DataFrame

    @cached_property
    def _arrow(self) -> dict[str, pa.Table]:
        """The registry as Arrow tables, converted once: a round registers it once per province part, and
        DuckDB reads Arrow without copying (a pandas frame of Arrow-backed columns it would convert each time)."""
        names = ("villages", "tambons", "amphoes", "provinces")
        return {name: pa.Table.from_pandas(getattr(self, name), preserve_index=False) for name in names}

    def register(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create ``areas`` (one row per tambon with every level's code and names) and ``villages``."""
        for name, table in self._arrow.items():
            con.register(f"_{name}", table)
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
