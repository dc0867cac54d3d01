"""Hostile uploads from an office's correction dataset: what the office-uploads sensor refuses to read or land.

A small HTTP server on 127.0.0.1 plays the catalog's file downloads; the resources are what CKAN's
``package_show`` returns for files an office added. Against a real CKAN: tests/integration/test_ckan_correction_loop.py.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from catalog.ckan_client import CkanClient
from catalog.office_uploads import Upload, UploadRefused, fetch
from domain.declarations import load_datasets
from domain.layout import Layout
from pipelines.ingest.corrections import land_returned, read_origin
from pipelines.office_returns import round_of

SPEC = load_datasets()["village_profile"]
BIG = 3 * 1024 * 1024


class _Files(BaseHTTPRequestHandler):
    requests: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Files.requests.append(self.path)
        body = b"x" * BIG if self.path.endswith("big.xlsx") else b"small workbook"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def catalog():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Files)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield CkanClient(f"http://127.0.0.1:{server.server_port}", "secret-token-of-the-data-team")
    finally:
        server.shutdown()


def _upload(url: str, name: str = "แก้ไขแล้ว.xlsx", url_type: str = "upload") -> Upload:
    resource = {"id": "r1", "name": name, "url": url, "url_type": url_type, "created": "2020-10-30T09:00:00"}
    return Upload("village_profile", "8401", "corrections-village-profile-8401", resource, ("2020-10",))


def test_a_link_to_anywhere_else_is_refused_and_never_followed(catalog):
    _Files.requests.clear()
    for upload in (
        _upload("http://127.0.0.2:9/x.xlsx", url_type=""),  # a link the office typed (elsewhere; nothing listens)
        _upload("http://127.0.0.2:9/x.xlsx"),  # marked an upload, but elsewhere
        _upload(catalog.url.replace("127.0.0.1", "localhost") + "/x.xlsx"),  # another host name
        _upload(catalog.url + "/dataset/d/resource/r1/download/x.xlsx", url_type=""),  # ours, but a link
    ):
        with pytest.raises(UploadRefused, match="not a file uploaded to the catalog"):
            fetch(catalog, upload, max_bytes=1024 * 1024)
    assert _Files.requests == []


def test_a_file_larger_than_the_limit_is_refused_without_reading_it_all(catalog):
    with pytest.raises(UploadRefused, match="larger than 1,048,576 bytes"):
        fetch(catalog, _upload(catalog.url + "/dataset/d/resource/r1/download/big.xlsx"), max_bytes=1024 * 1024)
    assert fetch(catalog, _upload(catalog.url + "/d/small.xlsx"), max_bytes=1024 * 1024) == b"small workbook"


def test_a_damaged_file_still_lands_in_the_newest_round_and_a_name_cannot_leave_its_folder(catalog, tmp_path):
    upload = _upload(catalog.url + "/d/x.xlsx", name="../../../etc/แก้ไข.xlsx")
    damaged = b"PK\x03\x04 not really a workbook"
    round_ = round_of(damaged, SPEC, upload)
    assert round_ is not None and round_.key == "2020-10"  # the newest round the office was sent
    layout = Layout(tmp_path)
    landed = land_returned(layout, SPEC, round_, "8401", upload.filename, damaged, upload.origin(catalog.url))
    assert landed.parent == layout.corrections_dir(SPEC.name, round_, "8401") and landed.name == "แก้ไข.xlsx"
    origin = read_origin(landed)
    assert origin["uploaded_at"] == "2020-10-30T09:00:00+00:00" and origin["resource_id"] == "r1"
    assert "secret-token" not in json.dumps(origin)
