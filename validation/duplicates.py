"""The same unit sent more than once in a round: keep one row, quarantine the rest.

Only rows that passed every other check compete, so a broken copy never wins
over a good one. Preference: a district office's correction first (the typed rows'
``_correction``: its place in the order corrections landed, the latest first, so an
office's corrected row supersedes what was sent before, whatever its survey date),
then the declared ``prefer`` order (for villages, the latest survey date), then the
row with more filled fields, then the file whose SHA-256 sorts first and the earlier
row in it: content-based, so a re-run picks the same row whatever order the files
arrived in. Keys are compared as received (text); a missing preferred value sorts
last whichever the order.

SQL over the typed rows, which carry each key's received text as ``key:<field>``
and the count of filled fields as ``_filled`` (see ``key_columns``); only keys
seen more than once are ranked, so a national round sorts a few rows, not all.
"""

from __future__ import annotations

from typing import Any

from domain.work import ROW_ID_STRIDE
from validation.schema_sql import ident, lit

PART_KEY = "key:_part"


def key_columns(policy: dict[str, Any], field_names: list[str]) -> dict[str, str]:
    """Extra columns the typed rows must carry for this rule: name -> SQL over the received text."""
    if not policy.get("key"):
        return {}
    filled = " + ".join(f"({ident(n)} IS NOT NULL)::INTEGER" for n in field_names)
    # a key is a duplicate within its province's part: validated part by part or all at once, the same rows
    part = {PART_KEY: f"_row_id // {ROW_ID_STRIDE}"}
    return {"_filled": filled, **{f"key:{k}": ident(k) for k in policy["key"]}, **part}


def duplicate_findings(
    policy: dict[str, Any], typed: str, found: str, file_names: str, superseding: str | None = None
) -> str | None:
    """SQL of raw ``duplicate_row`` findings; ``found`` holds the findings so far, ``file_names`` (sha256, name).

    ``superseding``: a column of ``typed`` ranked before everything else, highest first, NULL last
    (the order in which an office's corrections landed).
    """
    key = policy.get("key", [])
    if not key:
        return None
    keys = [ident(f"key:{k}") for k in key] + [ident(PART_KEY)]
    order = [f"{ident(superseding)} DESC NULLS LAST"] if superseding else []
    order += [
        f"{ident(item['field'])} {'ASC' if item.get('order', 'asc') == 'asc' else 'DESC'} NULLS LAST"
        for item in policy.get("prefer", [])
    ]
    window = f"PARTITION BY {', '.join(keys)} ORDER BY {', '.join([*order, '_filled DESC', '_file', '_row'])}"
    return f"""
        WITH candidates AS (
            SELECT * FROM {typed} t WHERE NOT EXISTS (SELECT 1 FROM {found} f WHERE f._row_id = t._row_id)
        ), repeated AS (
            SELECT c.* FROM candidates c
            SEMI JOIN (SELECT {", ".join(keys)} FROM candidates GROUP BY ALL HAVING count(*) > 1) d
            USING ({", ".join(keys)})
        ), ranked AS (
            SELECT _row_id, {keys[0]} AS value, row_number() OVER w AS place,
                   first_value(_file) OVER w AS kept_file, first_value(_row) OVER w AS kept_row
            FROM repeated WINDOW w AS ({window})
        )
        SELECT _row_id, {lit(key[0])} AS field, 'duplicate_row' AS code, 'duplicates' AS rule,
               coalesce(value, '') AS value, coalesce(CAST(n.name AS VARCHAR), kept_file) || ' #' || kept_row AS detail
        FROM ranked LEFT JOIN {file_names} n ON CAST(n.sha256 AS VARCHAR) = kept_file
        WHERE place > 1
    """
