"""Small SQL helpers the rule kinds share."""

from __future__ import annotations

from typing import Any

from validation.schema_sql import ident, lit


def text(expr: str) -> str:
    """A value as the findings' ``value``/``detail`` text (NULL never reaches a message)."""
    return f"coalesce(CAST({expr} AS VARCHAR), '')"


def finding(field: str, code: str, rule: str, value: str, detail: str = "''") -> str:
    """The raw-finding columns, for a SELECT over the typed rows."""
    names = f"{lit(field)} AS field, {lit(code)} AS code, {lit(rule)} AS rule"
    return f"_row_id, {names}, {value} AS value, {detail} AS detail"


def numeric(name: str, fields: dict[str, dict[str, Any]]) -> str:
    """A field as a number that cannot overflow when summed (integers widen to HUGEINT)."""
    kind = fields[name].get("type", "string")
    return f"CAST({ident(name)} AS {'HUGEINT' if kind == 'integer' else 'DOUBLE'})"
