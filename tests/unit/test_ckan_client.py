"""The CKAN client against a tiny local HTTP server: retries 5xx with backoff, clear errors, no token leaks."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from catalog.ckan_client import CkanClient, CkanError, token_from_environment

TOKEN = "secret-token-123456"


class FlakyCkan(BaseHTTPRequestHandler):
    """Answers 503 to the first `failures` calls, then success; 403 for action `forbidden`."""

    failures = 0
    seen: ClassVar[list[str]] = []

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        FlakyCkan.seen.append(self.headers.get("Authorization", ""))
        if self.path.endswith("/forbidden"):
            body = {"success": False, "error": {"__type": "Authorization Error", "message": f"bad key {TOKEN}"}}
            return self._send(403, body)
        if FlakyCkan.failures > 0:
            FlakyCkan.failures -= 1
            return self._send(503, {"success": False})
        self._send(200, {"success": True, "result": {"ok": 1}})

    do_GET = do_POST

    def _send(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), FlakyCkan)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    FlakyCkan.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_retries_server_errors_with_backoff_then_succeeds(server):
    FlakyCkan.failures = 2
    calls = []
    client = CkanClient(server, TOKEN, retries=3, backoff=0.01, on_call=calls.append)
    assert client.call("status_show") == {"ok": 1}
    assert calls == ["status_show"] * 3
    assert FlakyCkan.seen == [TOKEN] * 3  # the token travels in the header only


def test_gives_up_after_the_retries_with_a_bilingual_error(server):
    FlakyCkan.failures = 10
    with pytest.raises(CkanError) as error:
        CkanClient(server, TOKEN, retries=1, backoff=0.01).call("status_show")
    assert "CKAN refused status_show" in str(error.value) and "CKAN ปฏิเสธ" in str(error.value)


def test_refusal_is_clear_and_never_shows_the_token(server):
    client = CkanClient(server, TOKEN, retries=0)
    with pytest.raises(CkanError) as error:
        client.call("forbidden")
    assert "not authorised" in str(error.value) and "ไม่มีสิทธิ์" in str(error.value)
    assert TOKEN not in str(error.value) and TOKEN not in repr(client)


def test_token_from_environment_or_secrets_file(tmp_path, monkeypatch):
    monkeypatch.delenv("CKAN_API_TOKEN", raising=False)
    secrets = tmp_path / "secrets.env"
    secrets.write_text("# local\nCKAN_API_TOKEN='abc'\n")
    assert token_from_environment(secrets) == "abc"
    monkeypatch.setenv("CKAN_API_TOKEN", "xyz")
    assert token_from_environment(secrets) == "xyz"
