"""People looking at the catalog over HTTP, as the integration tests of the offices' loop see it."""

from __future__ import annotations

import requests


class Viewer:
    """Someone looking at the catalog over HTTP: anonymous (no token) or with an API token."""

    def __init__(self, url: str, token: str | None, label: str) -> None:
        self.url, self.label = url, label
        self.headers = {"Authorization": token} if token else {}

    def post(self, name: str, /, **params: object) -> requests.Response:
        return requests.post(f"{self.url}/api/3/action/{name}", json=params, headers=self.headers, timeout=30)

    def action(self, name: str, /, **params: object) -> object:
        response = self.post(name, **params)
        body = response.json()
        assert response.status_code == 200 and body["success"], (self.label, name, response.status_code, body)
        return body["result"]

    def get(self, path: str) -> requests.Response:
        return requests.get(self.url + path if path.startswith("/") else path, headers=self.headers, timeout=30)


def add_file(viewer: Viewer, package_id: str, name: str, data: bytes) -> requests.Response:
    """A file added to a dataset as ``viewer`` would through CKAN's resource form (multipart ``resource_create``)."""
    return requests.post(
        f"{viewer.url}/api/3/action/resource_create",
        data={"package_id": package_id, "name": name, "format": "XLSX"},
        files={"upload": (name, data)},
        headers=viewer.headers,
        timeout=60,
    )
