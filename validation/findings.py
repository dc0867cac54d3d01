"""Findings: one row per problem found in a row, in one shape for every engine and rule."""

from __future__ import annotations

from typing import Any

import pandas as pd

from validation.codes import TYPE_TH, message

COLUMNS = ["_row_id", "field", "code", "rule", "value", "detail", "message_th", "message_en"]


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "_row_id" else object) for c in COLUMNS})


def make(
    row_ids: Any,
    code: str,
    rule: str,
    spec_field: dict[str, Any] | None,
    values: Any,
    details: Any = "",
) -> pd.DataFrame:
    """Findings for many rows at once; ``values``/``details`` are scalars or aligned sequences."""
    ids = list(row_ids)
    if not ids:
        return empty()
    values = list(values) if not isinstance(values, str) and hasattr(values, "__iter__") else [values] * len(ids)
    details = list(details) if not isinstance(details, str) else [details] * len(ids)
    name = spec_field["name"] if spec_field else ""
    name_th = spec_field.get("title_th", name) if spec_field else ""
    kind = spec_field.get("type", "string") if spec_field else ""
    th, en = [], []
    for value, detail in zip(values, details, strict=True):
        m_th, m_en = message(
            "rows",
            code,
            field=name,
            field_th=name_th,
            value="" if value is None else value,
            detail=detail,
            type=kind,
            type_th=TYPE_TH.get(kind, kind),
        )
        th.append(m_th)
        en.append(m_en)
    return pd.DataFrame(
        {
            "_row_id": pd.Series(ids, dtype="int64"),
            "field": name,
            "code": code,
            "rule": rule,
            "value": ["" if v is None else str(v) for v in values],
            "detail": [str(d) for d in details],
            "message_th": th,
            "message_en": en,
        }
    )


def concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else empty()
