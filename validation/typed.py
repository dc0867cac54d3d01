"""Text columns to typed columns, as the Table Schema declares them.

Used twice: leniently for rules (a cell that does not parse becomes null, the
schema check has already reported it) and for accepted rows (which all parse).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

_INTEGER = r"[+-]?\d+"
_NUMBER = r"[+-]?(\d+(\.\d*)?|\.\d+)"


def typed_column(values: pd.Series, field: dict[str, Any]) -> pd.Series:
    kind = field.get("type", "string")
    text = values.astype("string")
    if kind == "integer":
        ok = text.str.fullmatch(_INTEGER).fillna(False).astype(bool)
        return pd.to_numeric(text.where(ok), errors="coerce").astype("Int64")
    if kind == "number":
        ok = text.str.fullmatch(_NUMBER).fillna(False).astype(bool)
        return pd.to_numeric(text.where(ok), errors="coerce").astype("Float64")
    if kind == "date":
        return pd.to_datetime(text, format="%Y-%m-%d", errors="coerce")
    if kind == "boolean":
        mapping = {v: True for v in field.get("trueValues", ["true"])}
        mapping |= {v: False for v in field.get("falseValues", ["false"])}
        return text.map(mapping).astype("boolean")
    return text


def typed_frame(frame: pd.DataFrame, fields: list[dict[str, Any]]) -> pd.DataFrame:
    out = frame.copy()
    for field in fields:
        out[field["name"]] = typed_column(frame[field["name"]], field)
    return out
