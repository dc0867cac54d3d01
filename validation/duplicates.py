"""The same unit sent more than once in a round: keep one row, quarantine the rest.

Only rows that passed every other check compete, so a broken copy never wins
over a good one. Preference: the declared ``prefer`` order (for villages, the
latest survey date), then the row with more filled fields, then the file whose
SHA-256 sorts first and the earlier row in it: content-based, so a re-run picks
the same row whatever order the files arrived in.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from validation import findings


def duplicate_findings(
    frame: pd.DataFrame,
    typed: pd.DataFrame,
    policy: dict[str, Any],
    field_names: list[str],
    file_names: dict[str, str],
    fields: dict[str, dict[str, Any]],
) -> pd.DataFrame:
    key = policy.get("key", [])
    if not key or frame.empty:
        return findings.empty()
    order = pd.DataFrame(index=frame.index)
    by, ascending = [], []
    for i, item in enumerate(policy.get("prefer", [])):
        order[f"p{i}"] = typed[item["field"]]
        by.append(f"p{i}")
        ascending.append(item.get("order", "asc") == "asc")
    order["filled"] = frame[field_names].notna().sum(axis=1)
    order["_file"], order["_row"] = frame["_file"], frame["_row"]
    for column in key:
        order[f"k_{column}"] = frame[column]
    keys = [f"k_{c}" for c in key]
    order = order.sort_values(
        [*keys, *by, "filled", "_file", "_row"],
        ascending=[True] * len(keys) + ascending + [False, True, True],
        na_position="last",
        kind="mergesort",
    )
    losers = order[order.duplicated(keys, keep="first")]
    if losers.empty:
        return findings.empty()
    winners = order.drop_duplicates(keys, keep="first").set_index(keys)
    kept = winners.loc[[tuple(r) if len(keys) > 1 else r[0] for r in losers[keys].values]]
    details = [f"{file_names.get(f, f)} #{r}" for f, r in zip(kept["_file"], kept["_row"], strict=True)]
    return findings.make(losers.index, "duplicate_row", "duplicates", fields[key[0]], losers[keys[0]], details)
