"""The CSV a person gets from a download button: it opens in Excel, in Thai, and reads like the page.

Two kinds of CSV sit behind the buttons of a dataset's pages:

* **the published files** (each round's revision, and the stable "latest" links to them). Their
  bytes are the record: hashed, verified after upload, named in DCAT; analysts and harvesters
  fetch them by their URL, with the column codes the Table Schema names. A person pressing a
  button gets the same file with one change: the header row reads in Thai (the column's Thai
  title), from ``/dataset/<id>/resource/<rid>/th/<file name>``. Its rows are the file's own
  bytes: UTF-8 with BOM, มี/ไม่มี, ``x`` for a suppressed count, formula-guarded text.
* **the DataStore table** (every round's current revision, for the Data API and the table
  previews). CKAN's dump writes it with column codes, ``true``/``false``, blanks for suppressed
  counts and the resource id as the file name. Every way a page reaches it (the resource's
  Download button, its CSV/TSV menu, the table preview's filtered download) ends at CKAN's
  ``datastore.dump`` endpoint, so this module answers that endpoint's CSV and TSV for tables of
  ours (those whose data dictionary has a Thai title) before CKAN's view does, the way the
  published file writes them: BOM, Thai titles, the form's words for booleans, the marker for a
  suppressed count, and a file name with the dataset, rounds and revisions. The same search
  parameters as CKAN's dump are honoured, read by CKAN's own schema, and every read goes through
  ``datastore_search`` as the requesting user, so nothing private is reachable that CKAN's dump
  would not give. JSON and XML stay CKAN's: they are for programs.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import ckan.lib.navl.dictization_functions as dict_fns
import ckan.plugins.toolkit as tk
from ckan.common import g, request
from ckan.lib.uploader import get_resource_uploader
from ckanext.datastore.blueprint import dump_schema
from flask import Response, abort, stream_with_context

from .dictionary import thai_title, thai_titles

BOM = "\ufeff"
#: rows read per ``datastore_search`` call (CKAN's dump pages by 32,000; a smaller page keeps memory flat)
PAGE_ROWS = 10_000
#: the published files' header row is short; anything longer than this is not one of ours
MAX_HEADER_BYTES = 64 * 1024
_CHUNK = 1 << 16
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _context() -> dict[str, Any]:
    return {"user": g.user}


def _as_text(value: Any, info: dict[str, Any], kind: str) -> str:
    """One DataStore value the way the published CSV file writes it."""
    if value is None:
        return info.get("suppressed_text", "")
    if isinstance(value, bool):
        return info.get("true_text", "true") if value else info.get("false_text", "false")
    if kind == "date" and isinstance(value, str):
        return value.split("T", 1)[0]
    if kind == "float8":  # a whole number comes back from JSON as an int; the file writes 131300.0
        return str(float(value))
    return str(value)


def _csv_line(values: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(values)
    return out.getvalue()


def _dump_file_name(package: dict[str, Any], table: dict[str, Any], filters: dict[str, Any], ext: str) -> str:
    """``<dataset>_<round B.E.>_r<revision>``, or the first and last rounds when the download holds several."""
    loaded = json.loads(table.get("loaded_versions") or "{}")  # round -> "<B.E.>_<round>_r<revision>"
    wanted = filters.get("round")
    if wanted:
        wanted = [wanted] if isinstance(wanted, str) else list(wanted)
        loaded = {k: v for k, v in loaded.items() if k in wanted}
    versions = [loaded[k] for k in sorted(loaded)]
    if len(versions) == 1:
        be, _, revision = versions[0].split("_")
        label = f"{be}_{revision}"
    elif versions:
        label = f"{versions[0].split('_')[0]}_to_{versions[-1].split('_')[0]}_current"
    else:
        label = "current"
    return _SAFE_NAME.sub("-", f"{package['name'].replace('-', '_')}_{label}") + f".{ext}"


def people_dump() -> Response | None:
    """CKAN's ``datastore.dump`` CSV/TSV, for a table of ours, as people read it (see the module's note).

    Runs before every request. Anything it does not own (another endpoint, JSON/XML, a table of
    someone else's, a table the user may not read) is left to CKAN, which answers as it always
    does; except a search CKAN's dump would let fail as a 500 (its view calls ``datastore_search``
    without catching a refused parameter, ``limit=-1`` for one): that is answered 400 here, for
    every format.
    """
    if request.endpoint != "datastore.dump" or request.method not in ("GET", "HEAD"):
        return None
    resource_id = (request.view_args or {}).get("resource_id", "")
    data, errors = dict_fns.validate(request.args.to_dict(), dump_schema())
    if errors:
        return None  # CKAN's own 400
    people = data["format"] in ("csv", "tsv")
    search = {k: v for k, v in data.items() if k in ("filters", "q", "distinct", "plain", "language", "fields")}
    limit = data.get("limit")
    try:
        first = tk.get_action("datastore_search")(
            _context(),
            {
                "resource_id": resource_id,
                # for CKAN's own formats one row is enough to learn whether CKAN's search accepts the request
                "limit": min(PAGE_ROWS if people else 1, PAGE_ROWS if limit is None else limit),
                "offset": data["offset"],
                "sort": data["sort"],
                "records_format": "lists",
                "include_total": False,
                **search,
            },
        )
        resource = tk.get_action("resource_show")(_context(), {"id": resource_id})
        package = tk.get_action("package_show")(_context(), {"id": resource["package_id"]})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        return None  # CKAN's own 404
    except tk.ValidationError as error:
        return refused(error)
    if not people:
        return None
    # CKAN's row id (``_id``) means nothing to a reader; every other column is written, in the table's order
    shown = [i for i, f in enumerate(first["fields"]) if not f["id"].startswith("_")]
    fields = [first["fields"][i] for i in shown]
    infos = {f["id"]: (f.get("info") or {}) for f in fields}
    if not any(thai_title(info) for info in infos.values()):
        return None
    delimiter = "\t" if data.get("format") == "tsv" else ","
    name = _dump_file_name(package, resource, search.get("filters") or {}, data.get("format", "csv"))

    def rows() -> Iterator[str]:
        yield BOM + _csv_line([thai_title(infos[f["id"]]) or f["id"] for f in fields], delimiter)
        page, offset, left = first, data["offset"], data.get("limit")
        while True:
            records = page["records"]
            yield "".join(
                _csv_line(
                    [_as_text(r[i], infos[f["id"]], f["type"]) for i, f in zip(shown, fields, strict=True)], delimiter
                )
                for r in records
            )
            offset += len(records)
            if left is not None:
                left -= len(records)
            if len(records) < page["limit"] or (left is not None and left <= 0):
                return
            page = tk.get_action("datastore_search")(
                _context(),
                {
                    "resource_id": resource_id,
                    "limit": min(PAGE_ROWS, left) if left is not None else PAGE_ROWS,
                    "offset": offset,
                    "sort": data["sort"],
                    "records_format": "lists",
                    "include_total": False,
                    **search,
                },
            )

    kind = "text/tab-separated-values" if delimiter == "\t" else "text/csv"
    return Response(
        stream_with_context(line.encode("utf-8") for line in rows()),
        headers={"Content-Type": f"{kind}; charset=utf-8", "Content-Disposition": f'attachment; filename="{name}"'},
    )


def refused(error: Any) -> Response:
    """A download request whose search the DataStore refuses: 400 with the reasons, Thai first."""
    reasons = "; ".join(f"{key}: {' '.join(map(str, value))}" for key, value in (error.error_dict or {}).items())
    text = f"คำขอดาวน์โหลดไม่ถูกต้อง / Invalid download request: {reasons or error}\n"
    return Response(text, status=400, headers={"Content-Type": "text/plain; charset=utf-8"})


# -- the published CSV files, with a Thai header row ----------------------------------------------------------------
def file_resource(package: dict[str, Any], resource: dict[str, Any]) -> dict[str, Any] | None:
    """The uploaded revision file a CSV resource serves: itself, or the revision a "latest" link points at."""
    if resource.get("url_type") == "upload":
        return resource
    if resource.get("role") == "latest":
        return next(
            (
                r
                for r in package.get("resources", [])
                if r.get("role") == "revision" and r.get("url") == resource.get("url") and r.get("url_type") == "upload"
            ),
            None,
        )
    return None


def is_people_csv(package: dict[str, Any], resource: dict[str, Any]) -> bool:
    """A published CSV file of ours: a CSV revision, or a "latest" link to one."""
    return (
        resource.get("file_format") == "csv"
        and resource.get("role") in ("revision", "latest")
        and file_resource(package, resource) is not None
    )


def people_csv_url(package: dict[str, Any], resource: dict[str, Any]) -> str:
    """Where a page's download button sends a person for this resource (see the module's note)."""
    if resource.get("datastore_active") and resource.get("role") == "datastore":
        return tk.h.url_for("datastore.dump", resource_id=resource["id"], bom=True)
    if is_people_csv(package, resource):
        target = file_resource(package, resource)
        name = target["url"].rsplit("/", 1)[-1] if target else "data.csv"
        return tk.h.url_for("tambon_portal.people_csv", id=package["name"], resource_id=resource["id"], filename=name)
    return resource.get("url", "")


def _open_upload(package_id: str, resource_id: str) -> tuple[dict[str, Any], dict[str, Any], Any]:
    """The package, the file resource and its open file, as the requesting user may read them; 404 otherwise."""
    try:
        resource = tk.get_action("resource_show")(_context(), {"id": resource_id})
        package = tk.get_action("package_show")(_context(), {"id": resource["package_id"]})
    except (tk.ObjectNotFound, tk.NotAuthorized):
        abort(404)
    if package_id not in (package["id"], package["name"]) or not is_people_csv(package, resource):
        abort(404)
    target = file_resource(package, resource)
    path = get_resource_uploader(target).get_path(target["id"])
    try:
        handle = open(path, "rb")  # noqa: SIM115 - closed by the response's generator
    except OSError:
        abort(404)
    return package, target, handle


class NotOurCsv(ValueError):
    """A file whose first line is not a CSV header row of ours (too long, or not UTF-8)."""


def read_header(handle: Any) -> list[str]:
    """The file's header row (codes), BOM off; the handle is left at the first data row."""
    line = handle.readline(MAX_HEADER_BYTES)
    if not line.endswith(b"\n"):
        raise NotOurCsv("no header row within the first 64 KB")
    try:
        return next(csv.reader([line.decode("utf-8-sig")]))
    except UnicodeDecodeError as error:
        raise NotOurCsv(str(error)) from None


def people_csv(id: str, resource_id: str, filename: str) -> Response:
    """A published CSV file with its header row in Thai; the rows are the file's own bytes."""
    package, target, handle = _open_upload(id, resource_id)
    try:
        codes = read_header(handle)
    except NotOurCsv:
        handle.close()
        abort(404)
    titles = thai_titles(package)

    def body() -> Iterator[bytes]:
        try:
            yield (BOM + _csv_line([titles.get(c, c) for c in codes], ",")).encode("utf-8")
            while chunk := handle.read(_CHUNK):
                yield chunk
        finally:
            handle.close()

    name = target["url"].rsplit("/", 1)[-1]
    return Response(
        body(),
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{_SAFE_NAME.sub("-", name)}"',
        },
    )


def preview_rows(package: dict[str, Any], resource: dict[str, Any], limit: int) -> dict[str, Any]:
    """The first ``limit`` rows of a published CSV for the table preview: Thai headings, values as the file has them."""
    target = file_resource(package, resource)
    if target is None:
        return {"columns": [], "rows": [], "more": False}
    path = get_resource_uploader(target).get_path(target["id"])
    titles = thai_titles(package)
    with open(path, "rb") as handle:
        codes = read_header(handle)
        text = io.TextIOWrapper(handle, encoding="utf-8", newline="")
        reader = csv.reader(text)
        rows = []
        for row in reader:
            if len(rows) == limit:
                return _preview(codes, titles, rows, more=True)
            rows.append(row)
    return _preview(codes, titles, rows, more=False)


def _preview(codes: list[str], titles: dict[str, str], rows: list[list[str]], more: bool) -> dict[str, Any]:
    columns = [{"code": c, "title": titles.get(c, c)} for c in codes]
    return {"columns": columns, "rows": rows, "more": more}
