"""A cap on request bodies, applied before CKAN (or Flask) reads a byte of them.

Why: CKAN reads a JSON body whole into memory and parses it before any
check; a 50 MB POST held a gunicorn worker (of two) for over a minute.
Here a body is refused with HTTP 413 from its ``Content-Length`` alone, or,
for a chunked body, as soon as more than the cap has arrived.

The caps (bytes):

* everything by default: ``ckanext.tambon.api.max_body_bytes`` (1 MB);
* multipart uploads to ``resource_create``/``resource_update``/``resource_patch``
  (and the web forms that upload files): ``ckan.max_resource_size`` MB, plus
  1 MB for the form fields;
* multipart to the group, organization and user actions (their images):
  ``ckan.max_image_size`` MB plus 1 MB;
* ``datastore_create``/``datastore_upsert`` (the publisher's bulk loads):
  ``ckanext.tambon.api.datastore_max_body_bytes`` (64 MB).

The larger caps need credentials on the request (an API token header, or a
session cookie for the web forms): anonymous callers may not create resources
or write the DataStore anyway, so for them the default cap stands.

Two more inputs are refused with 400 here because CKAN would answer them
with a 500: a NUL in the URL (path or query), which PostgreSQL's driver
cannot send, and JSON nested deeper than ``MAX_NESTING`` (``[[[[...``), which
overflows Python's stack in ``json.loads`` (CKAN parses bodies and list
parameters such as ``facet.field`` as JSON). Bodies under the default cap are
scanned for that (a bracket count first, in C; the scan only when there are
many brackets); uploads and DataStore loads are not.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote_to_bytes

from werkzeug.exceptions import RequestEntityTooLarge

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WsgiApp = Callable[[Environ, StartResponse], Iterable[bytes]]

UPLOAD_ACTIONS = frozenset({"resource_create", "resource_update", "resource_patch"})
IMAGE_ACTIONS = frozenset(
    {
        "group_create",
        "group_update",
        "group_patch",
        "organization_create",
        "organization_update",
        "organization_patch",
        "user_create",
        "user_update",
        "user_patch",
    }
)
DATASTORE_WRITE_ACTIONS = frozenset({"datastore_create", "datastore_upsert"})
FORM_SLACK = 1024 * 1024  # form fields that come with an uploaded file
_API_ACTION = re.compile(r"^/api/(?:\d+/)?action/([A-Za-z0-9_]+)/?$")
MAX_NESTING = 100  # CKAN's own data nests a handful of levels
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_OPENING = frozenset(b"[{")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nesting(data: bytes, json_strings: bool = True) -> int:
    """The deepest ``[``/``{`` nesting in ``data``; brackets inside JSON strings do not count."""
    if data.count(b"[") + data.count(b"{") <= MAX_NESTING:
        return 0
    if json_strings:
        data = _JSON_STRING.sub(b"", data)
    depth = deepest = 0
    for bracket in data.translate(None, _NOT_BRACKETS):
        depth += 1 if bracket in _OPENING else -1
        if depth > deepest:
            deepest = depth
            if deepest > MAX_NESTING:  # enough to refuse: stop early
                break
    return deepest


@dataclass(frozen=True)
class BodyCaps:
    default: int
    upload: int
    image: int
    datastore: int


def _mb(value: Any, default: int) -> int:
    try:
        return int(float(value) * 1024 * 1024)
    except (TypeError, ValueError):
        return default * 1024 * 1024


def caps_from_config(config: Any, default: int, datastore: int) -> BodyCaps:
    """The caps from CKAN's config (``ckan.max_resource_size`` and ``ckan.max_image_size`` are in MB)."""
    return BodyCaps(
        default=default,
        upload=_mb(config.get("ckan.max_resource_size"), 10) + FORM_SLACK,
        image=max(_mb(config.get("ckan.max_image_size"), 2) + FORM_SLACK, default),
        datastore=max(datastore, default),
    )


def _respond(
    start_response: StartResponse, status: str, api: bool, thai: str, english: str, error_type: str
) -> list[bytes]:
    if api:
        body = json.dumps(
            {"success": False, "error": {"__type": error_type, "message": f"{thai} / {english}"}},
            ensure_ascii=False,
        ).encode("utf-8")
        content_type = "application/json;charset=utf-8"
    else:
        body = f"{thai}\n{english}\n".encode()
        content_type = "text/plain; charset=utf-8"
    # Connection: close, since the unread body is still on the wire
    start_response(
        status, [("Content-Type", content_type), ("Content-Length", str(len(body))), ("Connection", "close")]
    )
    return [body]


def _is_multipart(environ: Environ) -> bool:
    return environ.get("CONTENT_TYPE", "").lower().startswith("multipart/form-data")


def _body_nesting(environ: Environ, body: bytes) -> int:
    if environ.get("CONTENT_TYPE", "").lower().startswith("application/x-www-form-urlencoded"):
        return nesting(unquote_to_bytes(body.replace(b"+", b" ")), json_strings=False)
    return nesting(body)


class _CappedStream:
    """A chunked upload's input that stops with 413 once more than ``cap`` bytes were read."""

    def __init__(self, stream: Any, cap: int) -> None:
        self._stream = stream
        self._left = cap

    def _count(self, data: bytes) -> bytes:
        self._left -= len(data)
        if self._left < 0:
            raise RequestEntityTooLarge()
        return data

    def read(self, size: int = -1) -> bytes:
        return self._count(self._stream.read(size))

    def readline(self, size: int = -1) -> bytes:
        return self._count(self._stream.readline(size))

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


class BodyLimit:
    """WSGI middleware: the caps above, in front of the Flask app."""

    def __init__(self, app: WsgiApp, caps: BodyCaps) -> None:
        self.app = app
        self.caps = caps

    def cap_for(self, environ: Environ) -> int:
        path = environ.get("PATH_INFO", "")
        multipart = _is_multipart(environ)
        action = _API_ACTION.match(path)
        if action:
            name = action.group(1)
            token = bool(environ.get("HTTP_AUTHORIZATION") or environ.get("HTTP_X_CKAN_API_KEY"))
            if not token:
                return self.caps.default
            if name in UPLOAD_ACTIONS and multipart:
                return self.caps.upload
            if name in IMAGE_ACTIONS and multipart:
                return self.caps.image
            if name in DATASTORE_WRITE_ACTIONS:
                return self.caps.datastore
            return self.caps.default
        if multipart and environ.get("HTTP_COOKIE") and not path.startswith("/api/"):
            return self.caps.upload  # web forms: new resource, organization logo...
        return self.caps.default

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        api = path.startswith("/api/")
        query = environ.get("QUERY_STRING", "")
        if "\x00" in path or "%00" in query:
            return _respond(
                start_response,
                "400 Bad Request",
                api,
                "ที่อยู่ (URL) มีอักขระ NUL ซึ่งใช้ไม่ได้",
                "The URL contains a NUL character, which is not allowed",
                "Bad Request",
            )
        if nesting(unquote_to_bytes(query.replace("+", " ")), json_strings=False) > MAX_NESTING:
            return self._too_deep(start_response, api)
        cap = self.cap_for(environ)
        length_header = environ.get("CONTENT_LENGTH") or ""
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if length_header.strip():
            try:
                length = int(length_header)
            except ValueError:
                length = -1
            if length < 0:
                return _respond(
                    start_response,
                    "400 Bad Request",
                    api,
                    "Content-Length ไม่ถูกต้อง",
                    "Invalid Content-Length",
                    "Bad Request",
                )
            if length > cap:
                return self._too_large(start_response, api, cap, length)
            if cap == self.caps.default and length and not _is_multipart(environ):
                body = environ["wsgi.input"].read(length)
                environ["wsgi.input"] = io.BytesIO(body)
                if _body_nesting(environ, body) > MAX_NESTING:
                    return self._too_deep(start_response, api)
        elif chunked:
            if cap > self.caps.default:
                # an upload or bulk load: stream it, stop when the cap is passed
                environ["wsgi.input"] = _CappedStream(environ["wsgi.input"], cap)
            else:
                body = environ["wsgi.input"].read(cap + 1)
                if len(body) > cap:
                    return self._too_large(start_response, api, cap, None)
                environ["wsgi.input"] = io.BytesIO(body)
                environ["CONTENT_LENGTH"] = str(len(body))
                if not _is_multipart(environ) and _body_nesting(environ, body) > MAX_NESTING:
                    return self._too_deep(start_response, api)
        return self.app(environ, start_response)

    @staticmethod
    def _too_deep(start_response: StartResponse, api: bool) -> list[bytes]:
        return _respond(
            start_response,
            "400 Bad Request",
            api,
            f"ข้อมูลซ้อนวงเล็บลึกเกินไป (ไม่เกิน {MAX_NESTING} ชั้น)",
            f"The request nests brackets too deeply (at most {MAX_NESTING} levels)",
            "Bad Request",
        )

    @staticmethod
    def _too_large(start_response: StartResponse, api: bool, cap: int, length: int | None) -> list[bytes]:
        size = f"{length:,} ไบต์" if length is not None else "เกินขนาด"
        size_en = f"{length:,} bytes" if length is not None else "over the limit"
        return _respond(
            start_response,
            "413 Request Entity Too Large",
            api,
            f"เนื้อหาคำขอใหญ่เกินไป ({size}; รับได้ไม่เกิน {cap:,} ไบต์)",
            f"Request body too large ({size_en}; at most {cap:,} bytes)",
            "Request Entity Too Large",
        )
