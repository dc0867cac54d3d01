"""Relations between fields of one row: sums and code suffixes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from validation import findings

if TYPE_CHECKING:
    from validation.rules import RuleContext


def sum_equals(frame: pd.DataFrame, params: dict[str, Any], ctx: RuleContext) -> pd.DataFrame:
    total, parts = frame[params["total"]], frame[params["parts"]]
    known = total.notna() & parts.notna().all(axis=1)
    expected = parts.sum(axis=1)
    bad = known & (total != expected)
    bad = bad.fillna(False).astype(bool)
    details = [
        " + ".join(f"{p} {frame.at[i, p]}" for p in params["parts"]) + f" = {expected[i]}" for i in frame.index[bad]
    ]
    return findings.make(
        frame.index[bad], "sum_mismatch", "sum_equals", ctx.fields[params["total"]], total[bad], details
    )


def code_suffix(frame: pd.DataFrame, params: dict[str, Any], ctx: RuleContext) -> pd.DataFrame:
    digits = int(params.get("digits", 2))
    number, code = frame[params["field"]], frame[params["code_field"]].astype("string")
    suffix = pd.to_numeric(code.str[-digits:].where(code.str.fullmatch(r"\d+").fillna(False)), errors="coerce")
    bad = (number.notna() & suffix.notna() & (number != suffix)).fillna(False).astype(bool)
    return findings.make(
        frame.index[bad],
        "code_suffix_mismatch",
        "code_suffix",
        ctx.fields[params["field"]],
        number[bad],
        code[bad],
    )
