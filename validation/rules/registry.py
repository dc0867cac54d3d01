"""Codes must name a real unit of the registry, at the level the collection reports.

Village collections check village codes (the default); district-level
collections name ``level: tambon | amphoe | province``. Each level has its own
code so the message names the right registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from validation.rules.sql import finding, text
from validation.schema_sql import ident

if TYPE_CHECKING:
    from validation.rules import RuleContext

#: level -> (registry relation as Geography.register names it, code column, finding code)
LEVELS = {
    "village": ("_villages", "village_code", "unknown_code"),
    "tambon": ("_tambons", "tambon_code", "unknown_tambon_code"),
    "amphoe": ("_amphoes", "amphoe_code", "unknown_amphoe_code"),
    "province": ("_provinces", "province_code", "unknown_province_code"),
}


def registry_member(params: dict[str, Any], ctx: RuleContext) -> str:
    level = params.get("level", "village")
    if level not in LEVELS:
        raise ValueError(f"registry_member: unknown level {level!r} (known: {sorted(LEVELS)})")
    relation, column, code = LEVELS[level]
    relation = (ctx.registry or {}).get(level, relation)
    name = ident(params["field"])
    return (
        f"SELECT {finding(params['field'], code, 'registry_member', text(name))} FROM {ctx.typed} t "
        f"WHERE {name} IS NOT NULL AND NOT EXISTS "
        f"(SELECT 1 FROM {relation} r WHERE CAST(r.{column} AS VARCHAR) = CAST(t.{name} AS VARCHAR))"
    )
