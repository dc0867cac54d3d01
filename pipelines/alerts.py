"""Notifications to a configurable webhook (``TAMBON_ALERT_WEBHOOK``): failed runs and failed checks.

Payloads carry the run id, what failed and a message in Thai and English, so a
chat bot or mail relay can forward them as they are. No webhook set: no alert.
"""

from __future__ import annotations

import os
from typing import Any

import dagster as dg
import requests

WEBHOOK_ENV = "TAMBON_ALERT_WEBHOOK"


def post(payload: dict[str, Any]) -> bool:
    url = os.environ.get(WEBHOOK_ENV)
    if not url:
        return False
    requests.post(url, json=payload, timeout=10).raise_for_status()
    return True


def run_failure_payload(context: dg.RunFailureSensorContext) -> dict[str, Any]:
    failed = sorted({e.step_key for e in context.get_step_failure_events() if e.step_key})
    run = context.dagster_run
    what = ", ".join(failed) or run.job_name
    return {
        "kind": "run_failure",
        "run_id": run.run_id,
        "job": run.job_name,
        "partition": run.tags.get("dagster/partition"),
        "failed": failed,
        "error": context.failure_event.message,
        "message_th": f"การประมวลผล {run.job_name} รอบ {run.tags.get('dagster/partition')} ล้มเหลวที่ {what}",
        "message_en": f"Run of {run.job_name} for {run.tags.get('dagster/partition')} failed at {what}",
    }


@dg.run_failure_sensor(name="alert_on_run_failure", default_status=dg.DefaultSensorStatus.RUNNING)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    post(run_failure_payload(context))


def check_failure_payloads(instance: dg.DagsterInstance, after: int | None) -> tuple[list[dict[str, Any]], int | None]:
    """Failed asset checks recorded after the storage id ``after``; returns the payloads and the new cursor."""
    records = instance.get_event_records(
        dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION, after_cursor=after),
        ascending=True,
    )
    payloads = []
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        if evaluation.passed:
            continue
        asset = evaluation.asset_key.to_user_string()
        payloads.append(
            {
                "kind": "check_failure",
                "run_id": record.run_id,
                "asset": asset,
                "check": evaluation.check_name,
                "severity": evaluation.severity.value,
                "partition": evaluation.partition,
                "metadata": {k: str(v.value) for k, v in evaluation.metadata.items()},
                "message_th": f"การตรวจสอบ {evaluation.check_name} ของ {asset} ไม่ผ่าน",
                "message_en": f"Check {evaluation.check_name} on {asset} failed",
            }
        )
    return payloads, (records[-1].storage_id if records else after)


@dg.sensor(name="alert_on_check_failure", minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def alert_on_check_failure(context: dg.SensorEvaluationContext) -> dg.SkipReason | None:
    payloads, cursor = check_failure_payloads(context.instance, int(context.cursor) if context.cursor else None)
    for payload in payloads:
        post(payload)
    if cursor is not None:
        context.update_cursor(str(cursor))
    return None if payloads else dg.SkipReason("no failed checks")
