"""Findings: one row per problem found in a row, in one shape for every engine and rule.

Engines and rules produce *raw* findings (``RAW_COLUMNS``); the Thai and English
messages are added once, in DuckDB, from templates: one template per (code,
field) is rendered in Python with sentinels where the row's value and detail go,
and SQL fills them in. A bad national round can have half a million findings,
so nothing here loops over findings in Python.
"""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd

from domain.frames import as_frame
from validation.codes import TYPE_TH, catalogue, message

RAW_COLUMNS = ["_row_id", "field", "code", "rule", "value", "detail"]
COLUMNS = [*RAW_COLUMNS, "message_th", "message_en"]

# Private-use characters: never in received text, so they can stand for the row's own value and detail.
_VALUE, _DETAIL = "\ue000", "\ue001"


def empty() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="int64" if c == "_row_id" else object) for c in COLUMNS})


def code_rank() -> dict[str, int]:
    """Codes in the order ``messages.yaml`` lists them: the order of reasons within a row and field."""
    return {code: i for i, code in enumerate(catalogue()["rows"])}


def templates(fields: list[dict[str, Any]], limit: int | None = None) -> pd.DataFrame:
    """One (code, field) -> (Thai, English) template per pair, with sentinels for value and detail;
    ``limit``: the collection's ``max_cell_length``, which ``value_too_long`` names."""
    rows = []
    specs: list[dict[str, Any] | None] = [*fields, None]
    ranks = code_rank()
    for code in catalogue()["rows"]:
        for spec in specs:
            name = spec["name"] if spec else ""
            kind = spec.get("type", "string") if spec else ""
            th, en = message(
                "rows",
                code,
                field=name,
                field_th=spec.get("title_th", name) if spec else "",
                value=_VALUE,
                detail=_DETAIL,
                type=kind,
                type_th=TYPE_TH.get(kind, kind),
                limit=f"{limit:,}" if limit is not None else "",
            )
            rows.append((code, name, ranks[code], th, en))
    return pd.DataFrame(rows, columns=["code", "field", "code_rank", "template_th", "template_en"])


def messages_sql(raw: str, templates_table: str) -> str:
    """SELECT over relation ``raw`` adding ``code_rank``, ``message_th``, ``message_en`` from the templates."""
    fill = (
        "replace(replace(t.template_{lang}, '{v}', coalesce(r.value, '')), '{d}', coalesce(r.detail, ''))"
        " AS message_{lang}"
    )
    return f"""
        SELECT r._row_id, r.field, r.code, r.rule, r.value, r.detail,
               {fill.format(lang="th", v=_VALUE, d=_DETAIL)},
               {fill.format(lang="en", v=_VALUE, d=_DETAIL)},
               coalesce(t.code_rank, 1000) AS code_rank
        FROM {raw} r LEFT JOIN {templates_table} t ON t.code = r.code AND t.field = r.field
    """


def with_messages(raw: pd.DataFrame, fields: list[dict[str, Any]], limit: int | None = None) -> pd.DataFrame:
    """Messages for a (small) frame of raw findings, by the same SQL the DuckDB path runs."""
    if raw.empty:
        return empty()
    con = duckdb.connect()
    try:
        con.register("raw_findings", raw[RAW_COLUMNS])
        con.register("message_templates", templates(fields, limit))
        out = as_frame(
            con.execute(
                f"SELECT * EXCLUDE (code_rank) FROM ({messages_sql('raw_findings', 'message_templates')}) "
                "ORDER BY _row_id, rule, field, code_rank"
            )
        )
    finally:
        con.close()
    return out.astype({"_row_id": "int64"})[COLUMNS]
