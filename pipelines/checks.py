"""Asset checks, generated from each dataset's declaration (its quality targets), PUDL-style.

Each function turns a stage's figures into a check result the Dagster UI shows
next to the asset: balance of rows (an error), quarantine rate and completeness
against the declared targets (warnings: a late district should not stop a round).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import dagster as dg
import pandas as pd

from pipelines.declarations import DatasetSpec


def specs(
    spec: DatasetSpec, validated: dg.AssetKey, quality: dg.AssetKey, published: dg.AssetKey
) -> dict[str, dg.AssetCheckSpec]:
    return {
        "rows_balance": dg.AssetCheckSpec(
            "rows_balance",
            asset=validated,
            blocking=True,
            description="Every file: rows received = accepted + quarantined / ทุกไฟล์: แถวที่ได้รับ = ผ่าน + กักไว้",
        ),
        "quarantine_rate": dg.AssetCheckSpec(
            "quarantine_rate",
            asset=validated,
            description=f"Rows quarantined ≤ {spec.quality_targets.get('quarantine_pct', 100)}% of rows received",
        ),
        "completeness": dg.AssetCheckSpec(
            "completeness",
            asset=quality,
            description=f"Villages accepted ≥ {spec.quality_targets.get('completeness_pct', 0)}% of the registry",
        ),
        "reported_by_deadline": dg.AssetCheckSpec(
            "reported_by_deadline",
            asset=quality,
            description="After the reporting deadline, every tambon has reported / ทุกตำบลรายงานภายในกำหนด",
        ),
        "no_personal_data": dg.AssetCheckSpec(
            "no_personal_data",
            asset=published,
            description="No personal field, name, phone number or citizen ID in any published file",
        ),
    }


def rows_balance(balance: pd.DataFrame, asset_key: dg.AssetKey | None = None) -> dg.AssetCheckResult:
    off = balance[balance["rows_received"] != balance["rows_accepted"] + balance["rows_quarantined"]]
    return dg.AssetCheckResult(
        check_name="rows_balance",
        asset_key=asset_key,
        passed=off.empty,
        metadata={
            "files": len(balance),
            "rows_received": int(balance["rows_received"].sum()),
            "rows_accepted": int(balance["rows_accepted"].sum()),
            "rows_quarantined": int(balance["rows_quarantined"].sum()),
            "files_out_of_balance": off["name"].tolist(),
        },
    )


def quarantine_rate(
    spec: DatasetSpec, figures: dict[str, Any], asset_key: dg.AssetKey | None = None
) -> dg.AssetCheckResult:
    received = figures["rows_received"] or 1
    rate = round(100 * figures["rows_quarantined"] / received, 2)
    target = float(spec.quality_targets.get("quarantine_pct", 100))
    return dg.AssetCheckResult(
        check_name="quarantine_rate",
        asset_key=asset_key,
        passed=rate <= target,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "quarantine_pct": rate,
            "target_pct": target,
            **{f"rows:{k}": v for k, v in figures["rows_by_code"].items()},
        },
    )


def completeness(spec: DatasetSpec, figures: dict[str, Any]) -> dg.AssetCheckResult:
    target = float(spec.quality_targets.get("completeness_pct", 0))
    return dg.AssetCheckResult(
        check_name="completeness",
        passed=figures["completeness_pct"] >= target,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "completeness_pct": figures["completeness_pct"],
            "accuracy_pct": figures["accuracy_pct"],
            "target_pct": target,
            "tambons_not_reported": len(figures["tambons_not_reported"]),
            "tambons_not_reported_codes": dg.MetadataValue.json(figures["tambons_not_reported"][:500]),
        },
    )


def reported_by_deadline(deadline: dt.date, late: pd.DataFrame) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name="reported_by_deadline",
        passed=late.empty,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "deadline": deadline.isoformat(),
            "tambons_late_or_missing": len(late),
            "late_or_missing": dg.MetadataValue.md(
                "\n".join(
                    ["| tambon | ชื่อ | name |", "|---|---|---|"]
                    + [f"| {r.area_code} | {r.area_name_th} | {r.area_name_en} |" for r in late.head(500).itertuples()]
                )
            ),
        },
    )
