"""Asset checks, generated from each dataset's declaration (its quality targets), PUDL-style.

Each function turns a stage's figures into a check result the Dagster UI shows
next to the asset: balance of rows (an error), quarantine rate and completeness
against the declared targets (warnings: a late district should not stop a round).

The two reporting checks (``completeness``, ``reported_by_deadline``) put first the
tambons missing in provinces that did send data (grouped by province and amphoe: the
ones someone can chase), then the provinces that sent nothing as counts, then the
paths of the full list and the quality page. A table that is shortened says how many
more there are and where: with five provinces reporting, the eleven tambons to chase
must not disappear under seven thousand silent ones.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from domain.declarations import DatasetSpec
from pipelines.deadlines import NotReported


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


#: Most tambons a Markdown table of a check lists before it says how many more and where they are.
MARKDOWN_TAMBONS = 200


def _tambon_cell(row: Any) -> str:
    return f"{row.tambon_code} {row.tambon_name_th} ({row.tambon_name_en})"


def chase_markdown(missing: NotReported, limit: int = MARKDOWN_TAMBONS, where: str = "") -> str:
    """Tambons missing in provinces that sent data: one row per amphoe, grouped by province, codes and names.

    At most ``limit`` tambons are named; the rest are counted with ``where`` the full list is.
    """
    if missing.chase.empty:
        return "ไม่มี: ทุกตำบลของจังหวัดที่ส่งข้อมูลรายงานแล้ว / none: every tambon of the provinces that sent data reported"
    lines = [
        "| จังหวัด / province | อำเภอ / amphoe | ขาด / missing | ตำบลที่ยังไม่รายงาน / tambons not reported |",
        "|---|---|---:|---|",
    ]
    shown, last_province = 0, None
    for (province, amphoe), group in missing.chase.groupby(["province_code", "amphoe_code"], sort=True):
        if shown >= limit:
            break
        first = group.iloc[0]
        named = group.head(limit - shown)
        province_cell = (
            f"{first.province_name_th} {first.province_name_en} ({province})" if province != last_province else ""
        )
        cells = ", ".join(_tambon_cell(r) for r in named.itertuples())
        if len(named) < len(group):
            cells += f", … +{len(group) - len(named)}"
        lines.append(
            f"| {province_cell} | {first.amphoe_name_th} {first.amphoe_name_en} ({amphoe}) | {len(group)} | {cells} |"
        )
        shown += len(named)
        last_province = province
    rest = len(missing.chase) - shown
    if rest:
        lines.append(
            f"\n**อีก {rest:,} ตำบลไม่ได้แสดงในตารางนี้ / {rest:,} more tambons not shown here**: "
            f"รายชื่อทั้งหมด / full list: {where}"
        )
    return "\n".join(lines)


def silent_markdown(missing: NotReported) -> str:
    """Provinces that sent nothing this round: one row each with how many tambons and villages (no tambon list)."""
    if missing.silent.empty:
        return "ไม่มี: ทุกจังหวัดส่งข้อมูลแล้ว / none: every province sent data"
    lines = [
        "| รหัส / code | จังหวัด / province | ตำบล / tambons | หมู่บ้าน / villages |",
        "|---|---|---:|---:|",
    ]
    lines += [
        f"| {r.province_code} | {r.province_name_th} {r.province_name_en} | {r.tambons:,} | {r.villages_expected:,} |"
        for r in missing.silent.itertuples()
    ]
    lines.append(
        f"| | รวม {len(missing.silent):,} จังหวัด / {len(missing.silent):,} provinces | "
        f"{missing.silent_tambons:,} | {int(missing.silent['villages_expected'].sum()):,} |"
    )
    return "\n".join(lines)


def not_reported_metadata(missing: NotReported, links: dict[str, Path]) -> dict[str, Any]:
    """The check metadata both reporting checks share: who to chase first, then the silent provinces, then links.

    Nothing is cut silently: a shortened table names how many more and the full list's paths.
    """
    where = " · ".join(str(path) for path in links.values()) or "tambons_not_reported.csv"
    return {
        "tambons_to_chase": dg.MetadataValue.md(chase_markdown(missing, where=where)),
        "tambons_to_chase_count": len(missing.chase),
        "provinces_sent_nothing": dg.MetadataValue.md(silent_markdown(missing)),
        "provinces_sent_nothing_count": len(missing.silent),
        "tambons_in_provinces_sent_nothing": missing.silent_tambons,
        **{name: dg.MetadataValue.path(str(path)) for name, path in links.items()},
    }


def completeness(
    spec: DatasetSpec, figures: dict[str, Any], missing: NotReported, links: dict[str, Path] | None = None
) -> dg.AssetCheckResult:
    """Villages accepted against the declared target; which tambons sent nothing, the chaseable ones first."""
    target = float(spec.quality_targets.get("completeness_pct", 0))
    shared = not_reported_metadata(missing, links or {})
    return dg.AssetCheckResult(
        check_name="completeness",
        passed=figures["completeness_pct"] >= target,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "tambons_to_chase": shared.pop("tambons_to_chase"),  # first: what someone can act on
            "completeness_pct": figures["completeness_pct"],
            "accuracy_pct": figures["accuracy_pct"],
            "target_pct": target,
            "tambons_not_reported": missing.tambons,
            **shared,
        },
    )


def reported_by_deadline(
    deadline: dt.date,
    judged_on: dt.date,
    late: NotReported,
    not_reported_so_far: int,
    links: dict[str, Path] | None = None,
) -> dg.AssetCheckResult:
    """After the deadline, every tambon has reported; the ones that have not, chaseable ones first.

    Before the deadline nobody is late yet (the check passes) and says how many have not
    reported so far, so a passing check is never mistaken for a complete round.
    """
    shared = not_reported_metadata(late, links or {})
    metadata: dict[str, Any] = {
        "tambons_to_chase": shared.pop("tambons_to_chase"),  # first: what someone can act on
        "deadline": deadline.isoformat(),
        "judged_on": judged_on.isoformat(),
        "tambons_late_or_missing": late.tambons,
    }
    if judged_on <= deadline:
        metadata["before_deadline"] = dg.MetadataValue.md(
            f"ยังไม่ถึงกำหนดส่ง ({deadline.isoformat()}) จึงยังไม่มีตำบลใดล่าช้า ขณะนี้ยังไม่รายงาน "
            f"{not_reported_so_far:,} ตำบล / before the deadline ({deadline.isoformat()}) nobody is late yet; "
            f"{not_reported_so_far:,} tambons have not reported so far (see the completeness check)."
        )
    return dg.AssetCheckResult(
        check_name="reported_by_deadline",
        passed=late.tambons == 0,
        severity=dg.AssetCheckSeverity.WARN,
        metadata=metadata | shared,
    )
