"""Failure notifications reach a webhook (a local receiver on 127.0.0.1) with ids, what failed, Thai and English."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

import samples.village_profile as generator
from domain.layout import Layout
from domain.rounds import parse_round
from pipelines import alerts, stages
from tests.dagster_round import run_in_process

ROUND = parse_round("2563-10")


class Receiver(BaseHTTPRequestHandler):
    received: list = []  # noqa: RUF012 - the test's inbox

    def do_POST(self):
        Receiver.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook(monkeypatch):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Receiver.received = []
    monkeypatch.setenv(alerts.WEBHOOK_ENV, f"http://127.0.0.1:{httpd.server_address[1]}/hook")
    yield Receiver.received
    httpd.shutdown()


@pytest.fixture
def landed(tmp_path, monkeypatch):
    monkeypatch.setenv("TAMBON_DATA_DIR", str(tmp_path))
    generator.generate(ROUND, Layout(tmp_path).landing_dir("village_profile", ROUND), provinces=["21"])
    return tmp_path


def _run(instance):
    """The round's national run (after its landing and province runs)."""
    from pipelines.definitions import build_definitions

    return run_in_process(build_definitions(), "village_profile", ROUND, instance)[-1]


def test_run_failure_posts_run_id_failed_asset_and_thai_english_message(webhook, landed, monkeypatch):
    def broken(job):
        raise RuntimeError("disk full")

    monkeypatch.setattr(stages, "aggregate", broken)
    instance = dg.DagsterInstance.ephemeral()
    result = _run(instance)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "PIPELINE_FAILURE")
    context = dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=failure,
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    alerts.alert_on_run_failure(context)
    assert len(webhook) == 1
    payload = webhook[0]
    assert payload["kind"] == "run_failure" and payload["run_id"] == result.run_id
    assert payload["failed"] == ["village_profile__aggregates"] and payload["partition"] == ROUND.key
    assert "ล้มเหลว" in payload["message_th"] and "failed" in payload["message_en"]


def test_check_failure_posts_the_failed_check(webhook, landed, tmp_path):
    """On the default instance (SQLite, sharded by run), as `make ui` runs it: the sensor started before the run."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    instance = dg.DagsterInstance.local_temp(str(home))
    assert instance.event_log_storage.is_run_sharded  # the storage the old cross-run query failed on
    started = alerts.alert_on_check_failure.evaluate_tick(dg.build_sensor_context(instance=instance))
    assert started.skip_message and webhook == []
    assert _run(instance).success  # one province of 76: national completeness is far below target
    tick = alerts.alert_on_check_failure.evaluate_tick(
        dg.build_sensor_context(instance=instance, cursor=started.cursor)
    )
    checks = {p["check"]: p for p in webhook}
    assert {"completeness", "reported_by_deadline"} <= set(checks)
    assert checks["completeness"]["asset"] == "village_profile/quality" and checks["completeness"]["run_id"]
    assert checks["completeness"]["partition"] == ROUND.key
    assert "ไม่ผ่าน" in checks["completeness"]["message_th"] and "failed" in checks["completeness"]["message_en"]
    assert "rows_balance" not in checks  # a check that passed is not posted
    posted = len(webhook)
    again = alerts.alert_on_check_failure.evaluate_tick(dg.build_sensor_context(instance=instance, cursor=tick.cursor))
    assert len(webhook) == posted and "no failed checks" in again.skip_message  # each failure is posted once
