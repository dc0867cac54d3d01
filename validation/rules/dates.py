"""A survey date must fall inside its round's month."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from validation.rules.sql import finding
from validation.schema_sql import ident, lit

if TYPE_CHECKING:
    from validation.rules import RuleContext


def date_in_round(params: dict[str, Any], ctx: RuleContext) -> str:
    name = ident(params["field"])
    first, last = ctx.round.first_day, ctx.round.last_day
    detail = lit(f"{first.isoformat()} – {last.isoformat()}")
    value = f"strftime({name}, '%Y-%m-%d')"
    return (
        f"SELECT {finding(params['field'], 'date_outside_round', 'date_in_round', value, detail)} FROM {ctx.typed} "
        f"WHERE {name} IS NOT NULL AND NOT ({name} BETWEEN DATE '{first.isoformat()}' AND DATE '{last.isoformat()}')"
    )
