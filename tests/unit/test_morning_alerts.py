"""Alerts on the project's own instance (dagster.yaml: SQLite, event log sharded by run), as `make ui` ticks them.

The instance is built from the repository's dagster.yaml in a temporary DAGSTER_HOME; the
sensors are evaluated tick after tick with the cursor they returned, exactly as the
daemon does; a local receiver on 127.0.0.1 stands in for the webhook.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest

from pipelines import alerts

REPO = Path(__file__).resolve().parents[2]


class Inbox(BaseHTTPRequestHandler):
    """Records every JSON body; answers 500 while ``refuse`` is above zero (a webhook that is down)."""

    received: list = []  # noqa: RUF012 - the test's inbox
    refuse = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if Inbox.refuse > 0:
            Inbox.refuse -= 1
            self.send_response(500)
        else:
            Inbox.received.append(body)
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def inbox(monkeypatch) -> Iterator[list]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Inbox)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Inbox.received, Inbox.refuse = [], 0
    monkeypatch.setenv(alerts.WEBHOOK_ENV, f"http://127.0.0.1:{server.server_address[1]}/hook")
    yield Inbox.received
    server.shutdown()


@pytest.fixture
def instance(tmp_path, monkeypatch) -> Iterator[dg.DagsterInstance]:
    """The repository's dagster.yaml in a temporary DAGSTER_HOME (its storage paths are relative: run from there)."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.chdir(home)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with dg.DagsterInstance.get() as real:
        assert (
            type(real.event_log_storage).__name__ == "SqliteEventLogStorage" and real.event_log_storage.is_run_sharded
        )
        yield real


@dg.asset(
    key=dg.AssetKey(["demo", "quality"]),
    check_specs=[
        dg.AssetCheckSpec("completeness", asset=dg.AssetKey(["demo", "quality"])),
        dg.AssetCheckSpec("rows_balance", asset=dg.AssetKey(["demo", "quality"])),
    ],
)
def quality() -> Iterator[dg.Output | dg.AssetCheckResult]:
    """A small asset whose completeness check fails (a warning: the run succeeds) and whose balance passes."""
    yield dg.Output(None)
    yield dg.AssetCheckResult(
        check_name="completeness", passed=False, severity=dg.AssetCheckSeverity.WARN, metadata={"completeness_pct": 1.5}
    )
    yield dg.AssetCheckResult(check_name="rows_balance", passed=True)


@dg.asset(
    key=dg.AssetKey(["demo", "validated"]),
    check_specs=[dg.AssetCheckSpec("rows_balance", asset=dg.AssetKey(["demo", "validated"]), blocking=True)],
)
def validated() -> Iterator[dg.Output | dg.AssetCheckResult]:
    """A blocking check that fails: the run fails, and its failed check is alerted all the same."""
    yield dg.Output(None)
    yield dg.AssetCheckResult(check_name="rows_balance", passed=False, severity=dg.AssetCheckSeverity.ERROR)


@dg.asset(key=dg.AssetKey(["demo", "aggregates"]))
def broken() -> None:
    raise RuntimeError("disk full")


def tick(sensor: dg.SensorDefinition, instance: dg.DagsterInstance, cursor: str | None = None):
    return sensor.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=cursor))


def test_failed_check_of_a_real_run_reaches_the_webhook_once(instance, inbox):
    first = tick(alerts.alert_on_check_failure, instance)  # the UI starts: nothing has run yet
    assert "from now on" in first.skip_message and inbox == []
    result = dg.materialize([quality], instance=instance)
    assert result.success
    second = tick(alerts.alert_on_check_failure, instance, first.cursor)
    assert len(inbox) == 1, inbox  # the passing rows_balance is not posted
    payload = inbox[0]
    assert payload["kind"] == "check_failure" and payload["run_id"] == result.run_id
    assert payload["asset"] == "demo/quality" and payload["check"] == "completeness"
    assert payload["severity"] == "WARN" and payload["run_status"] == "SUCCESS"
    assert payload["metadata"]["completeness_pct"] == "1.5"
    assert (
        payload["message_th"].startswith("การตรวจสอบ completeness ของ demo/quality")
        and "ไม่ผ่าน" in payload["message_th"]
    )
    assert payload["message_en"].startswith("Check completeness on demo/quality") and "failed" in payload["message_en"]
    third = tick(alerts.alert_on_check_failure, instance, second.cursor)  # the old sensor raised from here on
    assert len(inbox) == 1 and "no failed checks" in third.skip_message


def test_failed_blocking_check_in_a_failed_run_is_alerted(instance, inbox):
    first = tick(alerts.alert_on_check_failure, instance)
    result = dg.materialize([validated], instance=instance, raise_on_error=False)
    assert not result.success
    tick(alerts.alert_on_check_failure, instance, first.cursor)
    assert [(p["check"], p["severity"], p["run_status"]) for p in inbox] == [("rows_balance", "ERROR", "FAILURE")]
    assert "ข้อผิดพลาด" in inbox[0]["message_th"]


def test_first_tick_does_not_replay_old_runs(instance, inbox):
    dg.materialize([quality], instance=instance)  # e.g. `make demo` before the UI was ever opened
    first = tick(alerts.alert_on_check_failure, instance)
    second = tick(alerts.alert_on_check_failure, instance, first.cursor)
    assert inbox == [] and "no failed checks" in second.skip_message


def test_cursor_of_the_old_sensor_starts_afresh_instead_of_failing(instance, inbox):
    restarted = tick(alerts.alert_on_check_failure, instance, "14")  # what the storage-id sensor stored
    assert "from now on" in restarted.skip_message and set(json.loads(restarted.cursor)) == {
        t.value for t in alerts.FINISHED
    }


def test_webhook_down_keeps_the_alert_for_the_next_tick(instance, inbox):
    first = tick(alerts.alert_on_check_failure, instance)
    dg.materialize([quality], instance=instance)
    Inbox.refuse = 1
    refused = tick(alerts.alert_on_check_failure, instance, first.cursor)
    assert inbox == [] and "webhook" in refused.skip_message
    tick(alerts.alert_on_check_failure, instance, refused.cursor)
    assert [p["check"] for p in inbox] == ["completeness"]


def test_without_a_webhook_the_tick_says_what_was_not_sent(instance, monkeypatch):
    monkeypatch.delenv(alerts.WEBHOOK_ENV, raising=False)
    first = tick(alerts.alert_on_check_failure, instance)
    dg.materialize([quality], instance=instance)
    second = tick(alerts.alert_on_check_failure, instance, first.cursor)
    assert "1 failed checks, not sent" in second.skip_message and alerts.WEBHOOK_ENV in second.skip_message


def test_run_failure_reaches_the_webhook_from_the_sqlite_instance(instance, inbox):
    first = tick(alerts.alert_on_run_failure, instance)  # a run status sensor starts from the newest event
    result = dg.materialize([broken], instance=instance, raise_on_error=False, tags={"dagster/partition": "2020-10"})
    assert not result.success
    tick(alerts.alert_on_run_failure, instance, first.cursor)
    assert len(inbox) == 1
    payload = inbox[0]
    assert payload["kind"] == "run_failure" and payload["run_id"] == result.run_id
    assert payload["failed"] == ["demo__aggregates"] and payload["partition"] == "2020-10"
    assert "ล้มเหลว" in payload["message_th"] and "failed at demo__aggregates" in payload["message_en"]


def test_both_alert_sensors_start_running():
    for sensor in (alerts.alert_on_run_failure, alerts.alert_on_check_failure):
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
