"""Notifications to a configurable webhook (``TAMBON_ALERT_WEBHOOK``): failed runs and failed checks.

Payloads carry the run id, what failed and a message in Thai and English, so a
chat bot or mail relay can forward them as they are. No webhook set: no alert.

Both sensors are RUNNING by default and work on the default instance (SQLite,
``dagster.yaml``), whose event log is sharded by run: a cross-run query of check
evaluations with a storage-id cursor (``get_event_records`` with an
``EventRecordsFilter`` on ``ASSET_CHECK_EVALUATION``) raises there after the first tick
("a cursor that is not run-aware"), so failed checks used to be never alerted.
Instead, the check sensor follows finished runs, which every storage indexes across
runs (``fetch_run_status_changes``, the query Dagster's own run status sensors use),
and reads each run's own check evaluations from that run's log
(``get_records_for_run``). Runs started by ``tambon run`` count too: they are in the
same instance, only without a code location, which is why the run failure sensor
monitors all code locations.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import dagster as dg
import requests

WEBHOOK_ENV = "TAMBON_ALERT_WEBHOOK"

#: Finished runs whose checks the check sensor reads: a check can fail in a run that succeeds (a warning)
#: or in one that fails (a blocking check stops the run).
FINISHED = (dg.DagsterEventType.RUN_SUCCESS, dg.DagsterEventType.RUN_FAILURE)
RUNS_PER_TICK = 100

SEVERITY_TH = {"WARN": "คำเตือน", "ERROR": "ข้อผิดพลาด"}


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


@dg.run_failure_sensor(
    name="alert_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    monitor_all_code_locations=True,  # runs of `tambon run` have no code location, and are ours too
    description="Posts each failed run to TAMBON_ALERT_WEBHOOK / แจ้งการประมวลผลที่ล้มเหลว",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    post(run_failure_payload(context))


def check_failure_payloads_for_run(instance: dg.DagsterInstance, run_id: str) -> list[dict[str, Any]]:
    """One payload per failed check evaluation in the run ``run_id``, read from that run's own event log."""
    run = instance.get_run_by_id(run_id)
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION).records
    payloads = []
    for record in records:
        event = record.event_log_entry.dagster_event
        evaluation = event.event_specific_data if event else None
        if evaluation is None or evaluation.passed:
            continue
        asset = evaluation.asset_key.to_user_string()
        partition = evaluation.partition or (run.tags.get("dagster/partition") if run else None)
        severity = evaluation.severity.value
        payloads.append(
            {
                "kind": "check_failure",
                "run_id": run_id,
                "run_status": run.status.value if run else None,
                "asset": asset,
                "check": evaluation.check_name,
                "severity": severity,
                "partition": partition,
                "metadata": {k: str(v.value) for k, v in evaluation.metadata.items()},
                "message_th": f"การตรวจสอบ {evaluation.check_name} ของ {asset} รอบ {partition} ไม่ผ่าน "
                f"({SEVERITY_TH.get(severity, severity)})",
                "message_en": f"Check {evaluation.check_name} on {asset} for {partition} failed ({severity})",
            }
        )
    return payloads


def latest_run_status_ids(instance: dg.DagsterInstance) -> dict[str, int]:
    """The newest storage id of each finished-run event type (-1 when none): where a new sensor starts."""
    latest = {}
    for event_type in FINISHED:
        records = instance.fetch_run_status_changes(event_type, limit=1, ascending=False).records
        latest[event_type.value] = records[0].storage_id if records else -1
    return latest


def finished_runs_after(
    instance: dg.DagsterInstance, after: dict[str, int], limit: int = RUNS_PER_TICK
) -> Iterator[tuple[str, int, str]]:
    """(event type, storage id, run id) of the runs that finished after ``after``, oldest first per type."""
    for event_type in FINISHED:
        records = instance.fetch_run_status_changes(
            dg.RunStatusChangeRecordsFilter(event_type=event_type, after_storage_id=after[event_type.value]),
            limit=limit,
            ascending=True,
        ).records
        for record in records:
            yield event_type.value, record.storage_id, record.run_id


@dg.sensor(
    name="alert_on_check_failure",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Posts each failed asset check of a finished run to TAMBON_ALERT_WEBHOOK / แจ้งการตรวจสอบที่ไม่ผ่าน",
)
def alert_on_check_failure(context: dg.SensorEvaluationContext) -> dg.SkipReason | None:
    """Each tick: the runs finished since the cursor, their failed checks posted, the cursor moved past them.

    The first tick only records where the event log stands (like Dagster's run status
    sensors), so starting the UI does not replay every failed check ever recorded. If
    the webhook refuses a payload, the cursor stays before that run and the next tick
    tries it again (a run's earlier payloads may then arrive twice, never none).
    """
    instance = context.instance
    after = _cursor(context.cursor)
    if after is None:  # first tick, or a cursor of the old storage-id sensor
        context.update_cursor(json.dumps(latest_run_status_ids(instance)))
        return dg.SkipReason("เริ่มติดตามการตรวจสอบจากตอนนี้ / watching checks of runs that finish from now on")
    found = posted = 0
    try:
        for event_type, storage_id, run_id in finished_runs_after(instance, after):
            for payload in check_failure_payloads_for_run(instance, run_id):
                found += 1
                posted += post(payload)
            after[event_type] = storage_id
    except requests.RequestException as error:
        context.log.error(f"ส่งการแจ้งเตือนไม่สำเร็จ จะลองใหม่รอบหน้า / alert not delivered, retried next tick: {error}")
        context.update_cursor(json.dumps(after))
        return dg.SkipReason(f"webhook ไม่รับการแจ้งเตือน / webhook refused the alert: {error}")
    context.update_cursor(json.dumps(after))
    if posted:
        return None
    if found:
        return dg.SkipReason(
            f"การตรวจสอบไม่ผ่าน {found} รายการ แต่ไม่ได้ตั้ง {WEBHOOK_ENV} จึงไม่ได้ส่ง / "
            f"{found} failed checks, not sent: {WEBHOOK_ENV} is not set"
        )
    return dg.SkipReason("ไม่มีการตรวจสอบที่ไม่ผ่าน / no failed checks")


def _cursor(text: str | None) -> dict[str, int] | None:
    """The sensor's cursor (newest storage id seen per finished-run event type), or None to start afresh."""
    try:
        value = json.loads(text) if text else None
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict) or set(value) != {t.value for t in FINISHED}:
        return None
    return {k: int(v) for k, v in value.items()}
