"""`make ui` loads the CKAN settings as `make demo` does and says whether CKAN publishing is on; a run that has
CKAN configured somewhere but not in its own process says so (pipelines/ckan_notice.py).

The Makefile target is run for real with ``BIN`` pointing at a folder whose ``dagster`` only
prints what it was given (and whose ``python`` is the project's), so nothing is served,
installed or started; the local CKAN's env file is a temporary one (``TAMBON_CKAN_RUN``).
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines import ckan_notice

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-do-not-print-0123456789"


class StatusShow(BaseHTTPRequestHandler):
    """A CKAN as far as ``status_show`` goes."""

    def do_GET(self) -> None:
        body = json.dumps({"success": True, "result": {"ckan_version": "2.11.6"}}).encode()
        self.send_response(200 if self.path.startswith("/api/3/action/status_show") else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ckan_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StatusShow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def closed_port_url() -> str:
    server = ThreadingHTTPServer(("127.0.0.1", 0), StatusShow)
    port = server.server_address[1]
    server.server_close()
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def env_file(tmp_path) -> Path:
    """The local CKAN's env file as ``ckan.sh start`` writes it (URL and token), in a temporary run folder."""
    run = tmp_path / "ckan-run"
    run.mkdir()
    (run / "env").write_text(f"CKAN_URL=http://127.0.0.1:5000\nCKAN_API_TOKEN={TOKEN}\n", encoding="utf-8")
    return run / "env"


def make_ui(tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    """``make ui`` with a stand-in ``dagster`` that prints its arguments and the CKAN variables it received."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    python = bin_dir / "python"
    if not python.exists():
        python.symlink_to(REPO / ".venv" / "bin" / "python")
    dagster = bin_dir / "dagster"
    dagster.write_text('#!/bin/sh\necho "DAGSTER $* CKAN_URL=[$CKAN_URL] TOKEN=[${CKAN_API_TOKEN:+set}]"\n')
    dagster.chmod(0o755)
    base = {k: v for k, v in os.environ.items() if not k.startswith(("CKAN_", "TAMBON_CKAN_", "MAKE"))}
    return subprocess.run(
        ["make", "-s", "-o", "install", "ui", f"BIN={bin_dir}"],
        cwd=REPO,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_local_env_file_is_where_ckan_sh_says(tmp_path):
    for env in (
        {},
        {"TAMBON_CKAN_PORT": "5999"},
        {"TAMBON_CKAN_HOME": str(tmp_path / "home")},
        {"TAMBON_CKAN_RUN": str(tmp_path)},
    ):
        clean = {k: v for k, v in os.environ.items() if not k.startswith("TAMBON_CKAN_")} | env
        printed = subprocess.run(
            ["bash", "catalog/ckan/ckan.sh", "env-file"],
            cwd=REPO,
            env=clean,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert str(ckan_notice.local_env_file(clean)) == printed, env


def test_ui_loads_the_local_ckan_settings_and_says_publishing_is_on(tmp_path, env_file, ckan_url):
    env_file.write_text(f"CKAN_URL={ckan_url}\nCKAN_API_TOKEN={TOKEN}\n", encoding="utf-8")
    run = make_ui(tmp_path, TAMBON_CKAN_RUN=str(env_file.parent))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"การเผยแพร่ไปยัง CKAN: เปิด ({ckan_url}) / CKAN publishing: on ({ckan_url})"
    assert "ไม่ตอบ" not in run.stdout
    assert f"DAGSTER dev -m pipelines.definitions -h 127.0.0.1 -p 3000 CKAN_URL=[{ckan_url}] TOKEN=[set]" in lines
    assert TOKEN not in run.stdout + run.stderr


def test_ui_says_when_the_configured_ckan_does_not_answer(tmp_path, env_file):
    url = closed_port_url()
    env_file.write_text(f"CKAN_URL={url}\nCKAN_API_TOKEN={TOKEN}\n", encoding="utf-8")
    run = make_ui(tmp_path, TAMBON_CKAN_RUN=str(env_file.parent))
    assert f"เปิด ({url})" in run.stdout and f"CKAN at {url} does not answer" in run.stdout
    assert "ckan.sh start" in run.stdout and f"CKAN_URL=[{url}]" in run.stdout


def test_ui_keeps_a_ckan_url_already_set(tmp_path, env_file, ckan_url):
    run = make_ui(tmp_path, TAMBON_CKAN_RUN=str(env_file.parent), CKAN_URL=ckan_url)
    assert f"CKAN_URL=[{ckan_url}] TOKEN=[]" in run.stdout  # the env file was not read over it


def test_ui_without_ckan_says_publishing_is_off_and_how_to_turn_it_on(tmp_path):
    run = make_ui(tmp_path, TAMBON_CKAN_RUN=str(tmp_path / "no-ckan-here"))
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("การเผยแพร่ไปยัง CKAN: ปิด")
    assert "CKAN publishing: off, local catalog only" in run.stdout and "make demo" in run.stdout
    assert "CKAN_URL=[]" in run.stdout
    assert not (tmp_path / "no-ckan-here").exists()  # nothing installed or started


def test_notice_when_ckan_is_configured_on_the_machine_but_not_in_the_process(tmp_path, env_file):
    nowhere = tmp_path / "no-secrets.env"
    env = {"TAMBON_CKAN_RUN": str(env_file.parent)}
    text = ckan_notice.notice(env, secrets_file=nowhere)
    assert text is not None and str(env_file) in text and TOKEN not in text
    th, en = text.split(" / ", 1)
    assert "ไม่ได้ส่งขึ้น CKAN" in th and "make ui" in th
    assert "publishes to the local catalog (data/catalog) only, not to CKAN" in en
    assert ckan_notice.notice(env | {"CKAN_URL": "http://x"}, secrets_file=nowhere) is None  # configured here
    assert ckan_notice.notice({"TAMBON_CKAN_RUN": str(tmp_path / "none")}, secrets_file=nowhere) is None


def test_a_secrets_file_alone_also_counts_as_configured_elsewhere(tmp_path):
    secrets = tmp_path / "ckan-secrets.env"
    secrets.write_text(f"CKAN_API_TOKEN={TOKEN}\n", encoding="utf-8")
    env = {"TAMBON_CKAN_RUN": str(tmp_path / "none")}
    assert ckan_notice.configured_elsewhere(env, secrets_file=secrets) == [secrets]
    status = ckan_notice.status(env, probe=False, secrets_file=secrets)
    assert "CKAN publishing: off" in status and str(secrets) in status and TOKEN not in status
