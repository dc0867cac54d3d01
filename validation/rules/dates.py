"""A survey date must fall inside its round's month."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from validation import findings

if TYPE_CHECKING:
    from validation.rules import RuleContext


def date_in_round(frame: pd.DataFrame, params: dict[str, Any], ctx: RuleContext) -> pd.DataFrame:
    name = params["field"]
    dates = frame[name]
    first, last = ctx.round.first_day, ctx.round.last_day
    bad = dates.notna() & ~dates.between(pd.Timestamp(first), pd.Timestamp(last))
    return findings.make(
        frame.index[bad],
        "date_outside_round",
        "date_in_round",
        ctx.fields[name],
        dates[bad].dt.strftime("%Y-%m-%d"),
        f"{first.isoformat()} – {last.isoformat()}",
    )
