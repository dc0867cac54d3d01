"""A small CKAN Action API client on top of ``ckanapi``: retries, clear errors, streaming uploads.

Why not ``ckanapi`` alone: it buffers multipart uploads in memory, retries
nothing, and its errors can carry the request (and so the token) into logs.
Here the token lives only in the session headers and is scrubbed from every
message this module raises.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ckanapi
import requests
from requests_toolbelt.multipart.encoder import MultipartEncoder

RETRY_STATUS = {500, 502, 503, 504}


class CkanError(RuntimeError):
    """CKAN refused or failed; the message is Thai then English, with CKAN's own details."""

    def __init__(self, action: str, detail: Any, token: str | None = None) -> None:
        text = json.dumps(detail, ensure_ascii=False) if not isinstance(detail, str) else detail
        if token:
            text = text.replace(token, "***")
        self.action, self.detail = action, text
        super().__init__(f"CKAN ปฏิเสธคำสั่ง {action}: {text} / CKAN refused {action}: {text}")


def token_from_environment(secrets_file: Path | None = None) -> str | None:
    """``CKAN_API_TOKEN``, else ``CKAN_API_TOKEN=...`` in the secrets file (mode 600 expected)."""
    token = os.environ.get("CKAN_API_TOKEN")
    if token or not secrets_file or not secrets_file.exists():
        return token
    for line in secrets_file.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "CKAN_API_TOKEN":
            return value.strip().strip("'\"")
    return None


class CkanClient:
    def __init__(
        self,
        url: str,
        token: str | None,
        *,
        retries: int = 4,
        backoff: float = 0.5,
        timeout: float = 120.0,
        on_call: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.retries, self.backoff, self.timeout = retries, backoff, timeout
        self.session = requests.Session()
        if token:
            self.session.headers["Authorization"] = token
        self._remote = ckanapi.RemoteCKAN(self.url, session=self.session, user_agent="tambon-opendata/0.1")
        self.on_call = on_call or (lambda action: None)

    def __repr__(self) -> str:  # never show the token
        return f"CkanClient({self.url!r})"

    def _retrying(self, action: str, call: Callable[[], Any]) -> Any:
        for attempt in range(self.retries + 1):
            self.on_call(action)
            try:
                return call()
            except ckanapi.NotFound:
                raise
            except ckanapi.ValidationError as error:
                raise CkanError(action, error.error_dict, self._token) from None
            except ckanapi.NotAuthorized as error:
                raise CkanError(action, f"not authorised / ไม่มีสิทธิ์: {error}", self._token) from None
            except ckanapi.CKANAPIError as error:
                if attempt == self.retries or not _retryable(error):
                    raise CkanError(action, str(error), self._token) from None
            except (requests.ConnectionError, requests.Timeout) as error:
                if attempt == self.retries:
                    raise CkanError(action, type(error).__name__, self._token) from None
            time.sleep(self.backoff * 2**attempt)
        raise AssertionError("unreachable")

    def call(self, action: str, **data: Any) -> Any:
        return self._retrying(
            action,
            lambda: self._remote.call_action(action, data_dict=data, requests_kwargs={"timeout": self.timeout}),
        )

    def upload(
        self, action: str, fields: dict[str, Any], file_field: str, path: Path, filename: str | None = None
    ) -> Any:
        """Multipart POST streamed from disk (the file is never held in memory).

        ``filename`` is the name CKAN keeps and serves the file under (default: the file's own); CKAN
        guesses the served ``Content-Type`` from it.
        """

        def post() -> Any:
            with path.open("rb") as handle:
                encoder = MultipartEncoder(
                    fields={
                        **{
                            k: v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for k, v in fields.items()
                        },
                        file_field: (filename or path.name, handle, "application/octet-stream"),
                    }
                )
                response = self.session.post(
                    f"{self.url}/api/3/action/{action}",
                    data=encoder,
                    headers={"Content-Type": encoder.content_type},
                    timeout=self.timeout,
                )
            if response.status_code in RETRY_STATUS:
                raise ckanapi.CKANAPIError(f"HTTP {response.status_code}")
            body = _json(response)
            if not body.get("success"):
                error = body.get("error", {})
                if error.get("__type") == "Validation Error":
                    raise ckanapi.ValidationError(error)
                if error.get("__type") == "Authorization Error":
                    raise ckanapi.NotAuthorized(error.get("message"))
                raise ckanapi.CKANAPIError(json.dumps(error, ensure_ascii=False))
            return body["result"]

        return self._retrying(action, post)

    def holds_token(self, path: Path) -> bool:
        """Whether a file about to be published contains this client's API token (read in chunks)."""
        if not self._token:
            return False
        needle, tail = self._token.encode(), b""
        with path.open("rb") as handle:
            while chunk := handle.read(1 << 20):
                if needle in tail + chunk:
                    return True
                tail = chunk[-len(needle) :]
        return False

    def sha256_of(self, url: str) -> str:
        """Download (streamed, authorised) and hash: the check that an upload arrived intact."""

        def fetch() -> str:
            digest = hashlib.sha256()
            with self.session.get(url, stream=True, timeout=self.timeout) as response:
                if response.status_code in RETRY_STATUS:
                    raise ckanapi.CKANAPIError(f"HTTP {response.status_code}")
                response.raise_for_status()
                for chunk in response.iter_content(1 << 20):
                    digest.update(chunk)
            return digest.hexdigest()

        return self._retrying("download", fetch)


def _retryable(error: ckanapi.CKANAPIError) -> bool:
    return any(str(code) in str(error) for code in RETRY_STATUS)


def _json(response: requests.Response) -> dict[str, Any]:
    try:
        return response.json()
    except ValueError:
        raise ckanapi.CKANAPIError(f"HTTP {response.status_code}: not JSON") from None
