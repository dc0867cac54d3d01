"""Staged resources stay invisible until the publisher switches them on.

The pipeline uploads a new revision's files as resources marked
``publish_state = pending``, verifies them, then flips them to ``published``
together with the dataset's version and "latest" links in one update. Until
then only people who may edit the dataset see them: everyone else (the public,
the DCAT feed, search results) sees the previous complete revision.
"""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as toolkit

PENDING = "pending"


def is_pending(resource: dict[str, Any]) -> bool:
    return resource.get("publish_state") == PENDING


def can_edit(context: dict[str, Any], package_id: str) -> bool:
    if context.get("ignore_auth"):
        return True
    try:
        toolkit.check_access("package_update", {"user": context.get("user")}, {"id": package_id})
    except (toolkit.NotAuthorized, toolkit.ObjectNotFound):
        return False
    return True


def hide_pending(package: dict[str, Any]) -> dict[str, Any]:
    resources = package.get("resources") or []
    visible = [r for r in resources if not is_pending(r)]
    if len(visible) != len(resources):
        package["resources"] = visible
        package["num_resources"] = len(visible)
    return package


@toolkit.chained_auth_function
@toolkit.auth_allow_anonymous_access
def resource_show(next_auth: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> dict[str, Any]:
    """A pending resource (and so its download) exists only for those who may edit its dataset."""
    result = next_auth(context, data_dict)
    resource = context.get("resource")
    if resource is None and data_dict.get("id"):
        import ckan.model as model

        resource = model.Resource.get(data_dict["id"])
    if resource is not None:
        extras = getattr(resource, "extras", None) or {}
        if extras.get("publish_state") == PENDING and not can_edit(context, resource.package_id):
            return {"success": False, "msg": "This resource is not published yet / ยังไม่เผยแพร่"}
    return result
