"""What a district office's user may do in its own organisation: send its corrections back, nothing that publishes.

An office sends its corrected workbook back by adding it to its own private correction dataset
(catalog/office_delivery.py), through CKAN's own resource form or API. CKAN lets only an
organisation's editors add a resource, so the office user is an ``editor`` of its organisation
(catalog/offices.py). An editor could also do what must never happen to a dataset holding the
names and citizen IDs the office sent: make it public (a dataset update, the organisation's bulk
"make public"), create a public dataset in the organisation, move a dataset to another
organisation, delete the dataset or a file in it (CKAN checks a file's deletion as the
dataset's: what an office sent stays sent, a later upload supersedes it), or replace the
workbook the data team delivered.
Each of those is refused here, in an office organisation (one whose extras carry an
``amphoe_code``) and for anyone but a sysadmin (the data team), by chaining CKAN's own auth
functions: the API, the web forms and the bulk actions are refused alike.

CKAN checks a resource's creation and change by the dataset's own ``package_update`` auth with the
dataset's id alone, so those checks pass here untouched (a delivered workbook is guarded by its
own function below); a dataset update that
sets ``private`` to anything but true, or names another organisation, is refused. An update that
leaves ``private`` out leaves the flag as it is (CKAN saves only the keys it is given).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ckan.authz as authz
import ckan.model as model
import ckan.plugins.toolkit as tk

#: the role our publisher gives the workbooks it delivers (catalog/office_delivery.py ROLE)
DELIVERED_ROLE = "correction_workbook"
REFUSED = (
    "หน่วยงานอำเภอส่งไฟล์แก้ไขกลับได้อย่างเดียว ชุดข้อมูลนี้ต้องเป็นส่วนตัวเสมอ / "
    "A district office may only send its corrections back; this dataset stays private."
)


def _refused() -> dict[str, Any]:
    return {"success": False, "msg": REFUSED}


def _is_sysadmin(context: dict[str, Any]) -> bool:
    return bool(context.get("ignore_auth")) or authz.is_sysadmin(context.get("user"))


def is_office_org(org_id_or_name: str | None) -> bool:
    """An office organisation: ``tambon offices sync`` puts the district's code in its extras."""
    if not org_id_or_name:
        return False
    group = model.Group.get(org_id_or_name)
    return bool(group is not None and group.is_organization and group.extras.get("amphoe_code"))


def _package(data_dict: dict[str, Any]) -> model.Package | None:
    key = data_dict.get("id") or data_dict.get("name")
    return model.Package.get(key) if key else None


def _in_office_org(package: model.Package | None) -> bool:
    return package is not None and is_office_org(package.owner_org)


@tk.chained_auth_function
def package_create(next_auth: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    if not _is_sysadmin(context) and is_office_org((data_dict or {}).get("owner_org")):
        return _refused()
    return next_auth(context, data_dict)


@tk.chained_auth_function
def package_update(next_auth: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    package = _package(data_dict or {})
    if not _is_sysadmin(context) and _in_office_org(package):
        goes_public = "private" in data_dict and not tk.asbool(data_dict["private"])
        owner = model.Group.get(data_dict.get("owner_org") or "")
        moves = owner is not None and owner.id != package.owner_org
        if goes_public or moves:
            return _refused()
    return next_auth(context, data_dict)


def _refuse_in_office_org(name: str) -> Callable[..., Any]:
    """CKAN's ``name`` auth, refused for non-sysadmins on a dataset of an office organisation."""

    def auth(next_auth: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
        if not _is_sysadmin(context) and _in_office_org(_package(data_dict or {})):
            return _refused()
        return next_auth(context, data_dict)

    auth.__name__ = name
    return tk.chained_auth_function(auth)


def _refuse_bulk(name: str) -> Callable[..., Any]:
    """The organisation page's bulk actions (make public, make private, delete): not for an office's user."""

    def auth(next_auth: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
        if not _is_sysadmin(context) and is_office_org((data_dict or {}).get("org_id")):
            return _refused()
        return next_auth(context, data_dict)

    auth.__name__ = name
    return tk.chained_auth_function(auth)


def _refuse_delivered(name: str) -> Callable[..., Any]:
    """Replacing a workbook the data team delivered: not for an office's user (its own uploads it may rename)."""

    def auth(next_auth: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
        resource = model.Resource.get((data_dict or {}).get("id") or "")
        if (
            resource is not None
            and not _is_sysadmin(context)
            and _in_office_org(resource.package)
            and (resource.extras or {}).get("role") == DELIVERED_ROLE
        ):
            return _refused()
        return next_auth(context, data_dict)

    auth.__name__ = name
    return tk.chained_auth_function(auth)


def auth_functions() -> dict[str, Callable[..., Any]]:
    return {
        "package_create": package_create,
        "package_update": package_update,
        "package_delete": _refuse_in_office_org("package_delete"),
        "package_owner_org_update": _refuse_in_office_org("package_owner_org_update"),
        "bulk_update_public": _refuse_bulk("bulk_update_public"),
        "bulk_update_private": _refuse_bulk("bulk_update_private"),
        "bulk_update_delete": _refuse_bulk("bulk_update_delete"),
        "resource_update": _refuse_delivered("resource_update"),
    }
