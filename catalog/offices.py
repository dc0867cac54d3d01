"""District offices in CKAN: one organisation and one office user per amphoe, from the registry.

Why an organisation per amphoe (อำเภอ), not per province: in CKAN, being a member of an
organisation, in any role, is what lets a user read that organisation's private datasets (the
dataset's permission label is ``member-<organisation id>``, and every member's labels include
it). If a province office were the organisation and its amphoe offices its members, every
district of the province would read every other district's correction workbook, with the names
and citizen IDs its villages sent. A workbook must reach its own district office alone, so the
district office is the organisation: CKAN's own permission labels then keep search, pages,
downloads, activity and DCAT to that office (and the sysadmins), with no plugin of ours deciding.
The province stays on each organisation (its code and Thai and English names in the title and in
``extras``). Dataset collaborators (``ckan.auth.allow_dataset_collaborators``) could give one
dataset to one user inside a province organisation, but they are off by default and every new
dataset would need its collaborator added; an organisation per district needs no setting.

The office user is an ``editor`` of its organisation: CKAN lets only editors add a resource, and
the office sends its corrected workbook back by adding it to its own correction dataset. An
editor could also make a private dataset public, which would publish the personal data the
workbooks hold: our CKAN extension refuses that, and everything else an editor could do beyond
adding its corrections, to anyone but a sysadmin in an office organisation
(``ckanext/tambon/office_guard.py``).

Names are derived from codes, so they never change with a spelling: organisation
``amphoe-4701``, user ``office-4701``. The data team's organisation (``tambon-data-team``)
holds what no office may see (the unattributed workbook); no office user is ever its member.
"""

from __future__ import annotations

import csv
import os
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import ckanapi

from catalog.ckan_client import CkanClient

DATA_TEAM_ORG = "tambon-data-team"
DATA_TEAM_TITLE = "ทีมข้อมูล กรมการปกครอง (ภายใน) / DOPA data team (internal)"
OFFICE_ROLE = "editor"  # read the organisation's private datasets and add corrections (office_guard.py: no more)
EMAIL_DOMAIN = "offices.tambon-opendata.invalid"  # a placeholder until the office gives its own address
CREDENTIALS_HEADER = ["user", "password", "organization", "amphoe_code", "name_th", "name_en"]


def org_name(amphoe_code: str) -> str:
    """``amphoe-4701``: the district office's organisation, from its code (stable, ASCII, CKAN-valid)."""
    return f"amphoe-{amphoe_code}"


def user_name(amphoe_code: str) -> str:
    """``office-4701``: the district office's user, from its code."""
    return f"office-{amphoe_code}"


@dataclass(frozen=True)
class Office:
    """One district office (ที่ทำการปกครองอำเภอ) as CKAN should hold it."""

    amphoe_code: str
    name_th: str
    name_en: str
    province_code: str
    province_th: str
    province_en: str

    @property
    def org(self) -> str:
        return org_name(self.amphoe_code)

    @property
    def user(self) -> str:
        return user_name(self.amphoe_code)

    @property
    def title(self) -> str:
        return (
            f"ที่ทำการปกครองอำเภอ{self.name_th} จังหวัด{self.province_th} / "
            f"{self.name_en} District Office, {self.province_en}"
        )

    @property
    def description(self) -> str:
        return (
            f"แบบแก้ไขข้อมูลของอำเภอ{self.name_th} (รหัส {self.amphoe_code}) เห็นได้เฉพาะเจ้าหน้าที่ของอำเภอนี้"
            f"และทีมข้อมูลเท่านั้น\n\nCorrection workbooks of {self.name_en} district ({self.amphoe_code}): "
            "visible to this district office and the data team only."
        )

    @property
    def extras(self) -> dict[str, str]:
        return {
            "amphoe_code": self.amphoe_code,
            "province_code": self.province_code,
            "province_th": self.province_th,
            "province_en": self.province_en,
        }


def offices_from_registry(provinces: Iterable[str] | None = None) -> list[Office]:
    """The district offices of ``provinces`` (two-digit codes; None: all 76), sorted by code."""
    import registry

    names = {r.province_code: (r.name_th, r.name_en) for r in registry.provinces().itertuples(index=False)}
    wanted = None if provinces is None else set(provinces)
    return [
        Office(r.amphoe_code, r.name_th, r.name_en, r.province_code, *names[r.province_code])
        for r in registry.amphoes().sort_values("amphoe_code").itertuples(index=False)
        if wanted is None or r.province_code in wanted
    ]


@dataclass
class SyncResult:
    """What a sync did (names only: a new user's password goes to ``on_new_user``, never here)."""

    organizations_created: list[str] = field(default_factory=list)
    organizations_updated: list[str] = field(default_factory=list)
    users_created: list[str] = field(default_factory=list)
    memberships_set: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def writes(self) -> int:
        return (
            len(self.organizations_created)
            + len(self.organizations_updated)
            + len(self.users_created)
            + len(self.memberships_set)
        )


def _extras(org: dict) -> dict[str, str]:
    return {e["key"]: e["value"] for e in org.get("extras", []) if e.get("state", "active") == "active"}


def _show(client: CkanClient, action: str, **data: object) -> dict | None:
    try:
        return client.call(action, **data)
    except ckanapi.NotFound:
        return None


def ensure_organization(
    client: CkanClient, name: str, title: str, description: str, extras: dict[str, str], result: SyncResult
) -> dict:
    """The organisation as wanted: created if absent, patched if its title or extras drifted, else untouched."""
    extras_list = [{"key": k, "value": v} for k, v in sorted(extras.items())]
    org = _show(client, "organization_show", id=name, include_users=True, include_datasets=False)
    if org is None:
        org = client.call("organization_create", name=name, title=title, description=description, extras=extras_list)
        result.organizations_created.append(name)
        org.setdefault("users", [])
    elif org.get("title") != title or org.get("description") != description or _extras(org) != extras:
        org = {
            **org,
            **client.call("organization_patch", id=org["id"], title=title, description=description, extras=extras_list),
        }
        result.organizations_updated.append(name)
    return org


def ensure_data_team(client: CkanClient, result: SyncResult | None = None) -> dict:
    """The data team's organisation: private datasets only sysadmins (the data team) read."""
    return ensure_organization(
        client,
        DATA_TEAM_ORG,
        DATA_TEAM_TITLE,
        "ข้อมูลภายในของทีมข้อมูล ไม่มีเจ้าหน้าที่อำเภอเป็นสมาชิก\n\nThe data team's internal data; no district office is a member.",
        {"role": "data_team"},
        result or SyncResult(),
    )


def sync_offices(
    client: CkanClient, offices: list[Office], on_new_user: Callable[[Office, str], None] = lambda o, p: None
) -> SyncResult:
    """Organisations, office users and their memberships for ``offices``; idempotent.

    Reads first and writes only what differs, so a second run makes no write call. A new
    user's password is random (``secrets``) and handed to ``on_new_user`` as soon as the user
    exists, so a sync that fails half-way has kept every password it made; it is never logged,
    and an existing user's password is never touched.
    """
    result = SyncResult()
    ensure_data_team(client, result)
    for office in offices:
        before = result.writes
        org = ensure_organization(client, office.org, office.title, office.description, office.extras, result)
        user = _show(client, "user_show", id=office.user)
        if user is None:
            password = secrets.token_urlsafe(18)
            user = client.call(
                "user_create",
                name=office.user,
                email=f"{office.user}@{EMAIL_DOMAIN}",
                password=password,
                fullname=office.title,
            )
            result.users_created.append(office.user)
            on_new_user(office, password)
        capacity = next((u.get("capacity") for u in org.get("users", []) if u.get("name") == office.user), None)
        if capacity != OFFICE_ROLE:
            client.call("organization_member_create", id=office.org, username=office.user, role=OFFICE_ROLE)
            result.memberships_set.append(office.user)
        result.unchanged += result.writes == before
    return result


def write_credentials(path: Path, office: Office, password: str) -> Path:
    """Append one new user's password to ``path``, readable by its owner only (0600, folder 0700).

    The only copy: hand each office its line, then delete the file.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    new = not path.exists()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(path, 0o600)  # an older file made with a laxer umask
    with os.fdopen(descriptor, "a", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        if new:
            writer.writerow(CREDENTIALS_HEADER)
        writer.writerow([office.user, password, office.org, office.amphoe_code, office.name_th, office.name_en])
    return path
