"""Corrections the district offices send back, found in their own private datasets through the CKAN API.

An office sends its corrections by adding a file (its corrected workbook, or a fixed file of its
own) to its correction dataset (``corrections-<collection>-<amphoe>``, catalog/office_delivery.py):
CKAN's resource form or API, as the office's user, which our extension lets do that and nothing
more (ckanext/tambon/office_guard.py). Here, as the data team (a sysadmin token):

* :func:`find_uploads` lists, for one collection, every file in the offices' correction datasets
  that the data team did not deliver itself (its role is not ``correction_workbook``), with where
  it came from (:meth:`Upload.origin`); a dataset found public or outside its office's
  organisation is skipped, loudly: nothing is read from a dataset that is not as delivered;
* :func:`fetch` downloads one: only a file uploaded to this CKAN (a link to anywhere else is
  refused, never followed) and no larger than the collection's file limit.

Landing it in the round and re-running the round is the pipeline's (pipelines/office_returns.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import ckanapi

from catalog.ckan_client import CkanClient
from catalog.office_delivery import ROLE, dataset_name
from catalog.offices import org_name

log = logging.getLogger(__name__)
#: what an office sends: a workbook or a table file (the name it gives is kept when it says which)
FILE_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".csv", ".txt"}


class UploadRefused(ValueError):
    """A file an office added that is not read (a link elsewhere, too large): the reason, Thai and English."""


@dataclass(frozen=True)
class Upload:
    """One file an office added to its correction dataset."""

    collection: str
    amphoe_code: str
    dataset: str
    resource: dict[str, Any]
    #: rounds of the workbooks delivered to this dataset, oldest first (the newest is the one being answered)
    rounds_delivered: tuple[str, ...]

    @property
    def key(self) -> str:
        """The file as sent: a resource whose file is replaced is a new upload."""
        return f"{self.resource['id']}@{self.resource.get('last_modified') or self.resource.get('created')}"

    @property
    def filename(self) -> str:
        """The name the office gave it (CKAN strips Thai from the stored file's name), else the stored name."""
        name = str(self.resource.get("name") or "")
        if PurePosixPath(name).suffix.lower() in FILE_SUFFIXES:
            return name
        return urlsplit(str(self.resource.get("url") or "")).path.rsplit("/", 1)[-1] or name

    def origin(self, ckan_url: str) -> dict[str, Any]:
        """Where it came from, for the sidecar beside the landed file (no token, no personal field)."""
        stamp = str(self.resource.get("last_modified") or self.resource.get("created") or "")
        return {
            "source": "ckan",
            "ckan_url": ckan_url,
            "dataset": self.dataset,
            "resource_id": self.resource["id"],
            "resource_name": self.resource.get("name"),
            "resource_url": self.resource.get("url"),
            # CKAN keeps UTC without a zone
            "uploaded_at": f"{stamp}+00:00" if stamp and "+" not in stamp and not stamp.endswith("Z") else stamp,
        }


def find_uploads(client: CkanClient, collection: str, amphoe_codes: list[str]) -> list[Upload]:
    """Every file the offices ``amphoe_codes`` added to their correction datasets of ``collection``."""
    found: list[Upload] = []
    for code in amphoe_codes:
        name = dataset_name(collection, code)
        try:
            package = client.call("package_show", id=name)
        except ckanapi.NotFound:
            continue  # no workbook delivered to this office yet
        owner = (package.get("organization") or {}).get("name")
        if not package.get("private") or owner != org_name(code):
            log.error("%s is not a private dataset of %s: nothing read from it", name, org_name(code))
            continue
        delivered = sorted(
            {str(r["round"]) for r in package.get("resources", []) if r.get("role") == ROLE and r.get("round")}
        )
        for resource in package.get("resources", []):
            if resource.get("role") != ROLE:
                found.append(Upload(collection, code, name, resource, tuple(delivered)))
    return found


def fetch(client: CkanClient, upload: Upload, max_bytes: int) -> bytes:
    """The uploaded file's bytes, read as the data team; refused when it is not a file of this CKAN or too large."""
    resource = upload.resource
    url = str(resource.get("url") or "")
    own = urlsplit(client.url)
    where = urlsplit(url)
    if resource.get("url_type") != "upload" or (where.scheme, where.netloc) != (own.scheme, own.netloc):
        raise UploadRefused(
            f"ไม่ใช่ไฟล์ที่อัปโหลดไว้ในแคตตาล็อก (ลิงก์ไปที่อื่น): {url} / not a file uploaded to the catalog "
            f"(a link elsewhere, not followed): {url}"
        )
    with client.session.get(url, stream=True, timeout=client.timeout) as response:  # the data team's token
        response.raise_for_status()
        data = bytearray()
        for chunk in response.iter_content(1 << 16):
            data += chunk
            if len(data) > max_bytes:
                raise UploadRefused(
                    f"ไฟล์ใหญ่เกิน {max_bytes:,} ไบต์ / the file is larger than {max_bytes:,} bytes: {upload.filename}"
                )
    return bytes(data)
