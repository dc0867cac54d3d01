"""Relations between fields of one row: sums, code suffixes, prefixes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from validation.rules.sql import finding, numeric, text
from validation.schema_sql import ident, lit

if TYPE_CHECKING:
    from validation.rules import RuleContext


def _sum_rule(params: dict[str, Any], ctx: RuleContext, code: str, rule: str, bad: str) -> str:
    """Rows whose parts are all known and whose ``total`` relates badly (``bad``) to their sum."""
    total, parts = params["total"], params["parts"]
    expected = "(" + " + ".join(numeric(p, ctx.fields) for p in parts) + ")"
    detail = (
        " || ' + ' || ".join(f"{lit(p + ' ')} || {text(ident(p))}" for p in parts) + f" || ' = ' || {text(expected)}"
    )
    known = " AND ".join(f"{ident(c)} IS NOT NULL" for c in [total, *parts])
    condition = bad.format(total=numeric(total, ctx.fields), expected=expected)
    columns = finding(total, code, rule, text(ident(total)), detail)
    return f"SELECT {columns} FROM {ctx.typed} WHERE {known} AND {condition}"


def sum_equals(params: dict[str, Any], ctx: RuleContext) -> str:
    """``total`` = the sum of ``parts`` (male + female = total)."""
    return _sum_rule(params, ctx, "sum_mismatch", "sum_equals", "{total} <> {expected}")


def sum_at_most(params: dict[str, Any], ctx: RuleContext) -> str:
    """The sum of ``parts`` is at most ``total`` (children in school <= children)."""
    return _sum_rule(params, ctx, "sum_exceeds", "sum_at_most", "{expected} > {total}")


def code_suffix(params: dict[str, Any], ctx: RuleContext) -> str:
    """``field`` (a number) = the last ``digits`` digits of ``code_field`` (หมู่ที่ = last two digits)."""
    digits = int(params.get("digits", 2))
    number, code = ident(params["field"]), ident(params["code_field"])
    suffix = f"CASE WHEN regexp_full_match({code}, '[0-9]+') THEN CAST(right({code}, {digits}) AS HUGEINT) END"
    return (
        f"SELECT {finding(params['field'], 'code_suffix_mismatch', 'code_suffix', text(number), text(code))} "
        f"FROM {ctx.typed} WHERE {number} IS NOT NULL AND ({suffix}) IS NOT NULL AND {number} <> ({suffix})"
    )


def starts_with(params: dict[str, Any], ctx: RuleContext) -> str:
    """``field`` starts with the value of ``prefix_field`` (a household id starts with its village code)."""
    value, prefix = ident(params["field"]), ident(params["prefix_field"])
    return (
        f"SELECT {finding(params['field'], 'prefix_mismatch', 'starts_with', text(value), text(prefix))} "
        f"FROM {ctx.typed} WHERE {value} IS NOT NULL AND {prefix} IS NOT NULL "
        f"AND NOT starts_with(CAST({value} AS VARCHAR), CAST({prefix} AS VARCHAR))"
    )
