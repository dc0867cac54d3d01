"""Codes must name a real unit of the registry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from validation import findings

if TYPE_CHECKING:
    from validation.rules import RuleContext


def registry_member(frame: pd.DataFrame, params: dict[str, Any], ctx: RuleContext) -> pd.DataFrame:
    name = params["field"]
    codes = frame[name]
    bad = codes.notna() & ~codes.isin(ctx.villages["village_code"])
    return findings.make(frame.index[bad], "unknown_code", "registry_member", ctx.fields[name], codes[bad])
