"""Deliver each district office's correction workbooks to it alone, as private CKAN datasets.

A correction workbook holds the rows an office sent as they were sent, names and citizen IDs
included (pipelines/report/corrections/). It goes to one place: a **private** dataset of that
office's own organisation (catalog/offices.py says why an organisation per district), one dataset
per office and collection (``corrections-village-profile-4701``), one resource per round. CKAN's
own permission labels then keep it from everyone but that office's user and the sysadmins (the
data team): search, pages, downloads, activity and DCAT alike. The unattributed workbook goes
to a private dataset of the data team's organisation, of which no office is a member.

Before each write, the privacy gate (:func:`catalog.privacy.refuse_public_delivery`) checks that
the dataset is private and owned by the office's organisation; a workbook dataset found public
is made private again and the delivery refused, loudly.

Idempotent: a workbook whose content is already there is not sent again. The content is
compared, not the file's bytes: openpyxl stamps the save time into ``docProps/core.xml``, so a
rewrite of the same rows has other bytes but the same content digest.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ckanapi

from catalog.ckan_client import CkanClient
from catalog.files import sha256
from catalog.offices import DATA_TEAM_ORG, Office, ensure_data_team, offices_from_registry, org_name
from catalog.privacy import PrivacyError, refuse_public_delivery
from domain.declarations import DatasetSpec
from domain.layout import DATA_TEAM_FILE, OFFICES_FOLDER
from domain.rounds import Round

ROLE = "correction_workbook"
#: parts of an XLSX that change on every save without any cell changing
VOLATILE_PARTS = {"docProps/core.xml", "docProps/app.xml"}


def content_digest(path: Path) -> str:
    """SHA-256 of the workbook's parts (names and uncompressed bytes), the save-time stamps left out."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(path) as archive:
        for name in sorted(archive.namelist()):
            if name in VOLATILE_PARTS:
                continue
            digest.update(name.encode() + b"\0" + archive.read(name) + b"\0")
    return digest.hexdigest()


def dataset_name(collection: str, amphoe_code: str | None) -> str:
    """``corrections-village-profile-4701``, or ``corrections-village-profile-unattributed`` (data team)."""
    return f"corrections-{collection.replace('_', '-')}-{amphoe_code or 'unattributed'}"


@dataclass
class Delivery:
    """What :func:`deliver_round` did: uploads, untouched workbooks, and offices CKAN does not know yet."""

    uploaded: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    not_synced: list[str] = field(default_factory=list)  # amphoe codes without an organisation: run offices sync
    urls: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Collection:
    """The collection the workbooks are for, as its declaration names it."""

    name: str
    title_th: str
    title_en: str
    maintainer: str = "ศูนย์สารสนเทศเพื่อการบริหารงานปกครอง กรมการปกครอง"
    maintainer_email: str = "opendata@dopa.go.th"

    @classmethod
    def of(cls, spec: DatasetSpec) -> Collection:
        """From the declaration: its Thai and English titles, and its catalog contact when it names one."""
        common = spec.raw.get("catalog", {}).get("common", {})
        contact = {k: common[k] for k in ("maintainer", "maintainer_email") if common.get(k)}
        return cls(spec.name, spec.title["th"], spec.title["en"], **contact)


def _dataset_fields(collection: Collection, office: Office | None) -> dict[str, Any]:
    """The private dataset's Thai GDC fields (the catalog's schema requires them of every dataset)."""
    if office is None:
        where_th, where_en = "ที่ระบุอำเภอไม่ได้ (ทีมข้อมูล)", "not attributable to a district (data team)"
        owner, geo = DATA_TEAM_ORG, "ประเทศ"
    else:
        where_th = f"อำเภอ{office.name_th} จังหวัด{office.province_th}"
        where_en = f"{office.name_en} district, {office.province_en}"
        owner, geo = office.org, "อำเภอ"
    return {
        "name": dataset_name(collection.name, office.amphoe_code if office else None),
        "title": f"แบบแก้ไขข้อมูล {collection.title_th} {where_th}",
        "title_en": f"Correction workbooks: {collection.title_en}, {where_en}",
        "notes": f"แถวที่ถูกกักไว้ของ{where_th} พร้อมเหตุผล ให้แก้ไขแล้วส่งกลับก่อนกำหนด หนึ่งไฟล์ต่อรอบ "
        "มีข้อมูลส่วนบุคคลตามที่ส่งมา เห็นได้เฉพาะหน่วยงานนี้และทีมข้อมูล ห้ามเผยแพร่\n\n"
        f"The held-back rows of {where_en}, with the reasons, to correct and send back before the "
        "deadline; one file per round. Holds personal data as sent: visible to this office and the data "
        "team only, never to be published.",
        "notes_en": f"The held-back rows of {where_en}, with the reasons, to correct and send back before the "
        "deadline; one file per round. Holds personal data as sent: never to be published.",
        "owner_org": owner,
        "private": True,
        "data_type": "ข้อมูลระเบียน",
        "maintainer": collection.maintainer,
        "maintainer_email": collection.maintainer_email,
        "tag_string": "แบบแก้ไขข้อมูล,corrections",
        "objective": ["พันธกิจหน่วยงาน"],
        "update_frequency_unit": "เดือน",
        "update_frequency_interval": "1",
        "geo_coverage": geo,
        "data_source": "ไฟล์ที่อำเภอส่งมา (โครงการพัฒนาตำบลแบบบูรณาการ) / the files the district office sent",
        "data_format": ["XLS"],
        "data_category": "ข้อมูลส่วนบุคคล",
        "license_id": "License not specified",
        "accessible_condition": "เฉพาะหน่วยงานเจ้าของข้อมูลและทีมข้อมูล / the owning office and the data team only",
    }


def _resource_fields(round_: Round, path: Path, digest: str) -> dict[str, str]:
    return {
        "name": f"แบบแก้ไข รอบ {round_.be_key} ({round_.key}) / corrections, round {round_.key}",
        "format": "XLSX",
        "role": ROLE,
        "round": round_.key,
        "round_be": round_.be_key,
        "content_sha256": digest,
        "hash": sha256(path.read_bytes()),
        "size": str(path.stat().st_size),
        "description": f"รอบ {round_.be_key} ({round_.label_th}) แก้ไขในไฟล์นี้แล้วส่งกลับ / round {round_.key} "
        f"({round_.label_en}): correct in this file and send it back",
    }


class OfficeDelivery:
    """Sends one round's workbooks of one collection to their offices' private datasets."""

    def __init__(self, client: CkanClient, collection: Collection) -> None:
        self.client = client
        self.collection = collection

    def _package(self, name: str) -> dict[str, Any] | None:
        try:
            return self.client.call("package_show", id=name)
        except ckanapi.NotFound:
            return None

    def _organization_exists(self, name: str) -> bool:
        try:
            self.client.call("organization_show", id=name, include_users=False, include_datasets=False)
        except ckanapi.NotFound:
            return False
        return True

    def deliver_file(self, path: Path, round_: Round, office: Office | None, outcome: Delivery) -> None:
        """One workbook into its office's (or the data team's) private dataset: created, updated or left."""
        fields = _dataset_fields(self.collection, office)
        owner = fields["owner_org"]
        package = self._package(fields["name"])
        if package is None:
            if office is not None and not self._organization_exists(owner):
                outcome.not_synced.append(office.amphoe_code)
                return
            refuse_public_delivery(fields["name"], fields, owner)
            package = self.client.call("package_create", **fields)
        try:
            refuse_public_delivery(fields["name"], package, owner)
        except PrivacyError:
            if (package.get("organization") or {}).get("name") == owner and not package.get("private"):
                self.client.call("package_patch", id=package["id"], private=True)  # contain it, then say so
            raise
        digest = content_digest(path)
        existing = next(
            (r for r in package.get("resources", []) if r.get("role") == ROLE and r.get("round") == round_.key), None
        )
        outcome.urls[fields["name"]] = f"{self.client.url}/dataset/{fields['name']}"
        if existing and existing.get("content_sha256") == digest:
            outcome.unchanged.append(fields["name"])
            return
        resource = _resource_fields(round_, path, digest)
        if existing:
            created = self.client.upload("resource_patch", {"id": existing["id"], **resource}, "upload", path)
        else:
            created = self.client.upload("resource_create", {"package_id": package["id"], **resource}, "upload", path)
        if self.client.sha256_of(created["url"]) != resource["hash"]:
            raise RuntimeError(
                f"ไฟล์ที่อัปโหลดไม่ตรงกับต้นฉบับ {path.name} / upload of {path.name} arrived corrupted ({fields['name']})"
            )
        outcome.uploaded.append(fields["name"])

    def deliver_round(self, reports_dir: Path, round_: Round) -> Delivery:
        """Every office workbook under ``reports_dir/offices/`` and the data team's, for ``round_``.

        An office whose organisation does not exist yet (``tambon offices sync`` not run for its
        province) is listed in ``not_synced`` and skipped: the others are still delivered.
        """
        outcome = Delivery()
        offices = {o.amphoe_code: o for o in offices_from_registry()}
        for path in sorted((reports_dir / OFFICES_FOLDER).glob("*.xlsx")):
            code = path.name.split("_", 1)[0].removesuffix(".xlsx")
            office = offices.get(code)
            if office is None or office.org != org_name(code):
                raise ValueError(f"{path.name}: ไม่รู้จักอำเภอรหัส {code} / no district office {code} in the registry")
            self.deliver_file(path, round_, office, outcome)
        data_team = reports_dir / DATA_TEAM_FILE
        if data_team.exists():
            ensure_data_team(self.client)
            self.deliver_file(data_team, round_, None, outcome)
        return outcome
