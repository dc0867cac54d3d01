"""Validate one round of received rows: schema, declared rules, duplicates; split the rows.

Nothing is dropped: every received row ends up in exactly one of ``accepted``
or ``quarantine``, and ``findings`` says why for each quarantined row.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from pipelines.declarations import DatasetSpec
from pipelines.rounds import Round
from validation import findings
from validation.duplicates import duplicate_findings
from validation.rules import RULES, RuleContext
from validation.schema_check import schema_findings
from validation.typed import typed_frame

LINEAGE = ["_file", "_sheet", "_row"]


@dataclass
class Validated:
    accepted: pd.DataFrame  # typed, schema fields + lineage
    quarantine: pd.DataFrame  # text as received (normalised) + lineage + codes and reasons
    findings: pd.DataFrame  # one row per finding


def validate_round(
    received: pd.DataFrame,
    spec: DatasetSpec,
    round_: Round,
    villages: pd.DataFrame,
    file_names: dict[str, str],
) -> Validated:
    frame = received.reset_index(drop=True)
    fields = {f["name"]: f for f in spec.fields}
    typed = typed_frame(frame, spec.fields)
    context = RuleContext(round=round_, villages=villages, fields=fields)
    parts = [schema_findings(frame, spec.schema)]
    for declared in spec.rules:
        params = {k: v for k, v in declared.items() if k != "rule"}
        parts.append(RULES[declared["rule"]](typed, params, context))
    found = findings.concat(parts)
    clean = ~frame.index.isin(found["_row_id"])
    parts.append(duplicate_findings(frame[clean], typed[clean], spec.duplicates, spec.field_names, file_names, fields))
    found = findings.concat(parts).sort_values(["_row_id", "rule", "field"], kind="mergesort")
    found = found.reset_index(drop=True)
    rejected = frame.index.isin(found["_row_id"])
    return Validated(
        accepted=typed[~rejected].reset_index(drop=True),
        quarantine=_quarantine(frame[rejected], found),
        findings=found,
    )


def _quarantine(rows: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    grouped = found.groupby("_row_id", sort=True).agg(
        codes=("code", lambda s: ",".join(dict.fromkeys(s))),
        reasons_th=("message_th", " | ".join),
        reasons_en=("message_en", " | ".join),
    )
    out = rows.join(grouped, how="left")
    out.insert(0, "_row_id", out.index.astype("int64"))
    return out.reset_index(drop=True)
