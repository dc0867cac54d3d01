"""Staged resources stay invisible until the publisher switches them on.

The pipeline uploads a new revision's files as resources marked
``publish_state = pending``, verifies them, then flips them to ``published``
together with the dataset's version and "latest" links in one update. Until
then only people who may edit the dataset see them: everyone else sees the
previous complete revision, wherever they look:

* ``package_show`` (so the dataset page, DCAT's ``/dataset/<name>.ttl``) and
  ``package_search`` results (so DCAT's ``/catalog.ttl``): ``hide_pending``;
  the search index is written without staged resources, so they make no dataset
  match through free text or ``res_*`` fields (``search/index.py``);
* ``resource_show`` and the download: refused (``resource_show`` auth);
* ``resource_search``: the staged resources are filtered out in SQL, so the
  count and the pages stay right;
* activity streams: every activity records the whole dataset as it was, so
  the staged resources are taken out of each activity's copy, and activities
  that only staged files (nothing the public could see changed) are left out;
  ``activity_show``, ``activity_data_show``, ``activity_diff`` and the
  resource history page get the same treatment.

After the switch the resources are ``published`` and appear everywhere. In an
activity recorded before the switch they stay hidden: it shows the dataset as
the public saw it then.
"""

from __future__ import annotations

import contextvars
import difflib
import json
import re
from collections.abc import Callable
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as toolkit
from sqlalchemy import event
from sqlalchemy.orm import with_loader_criteria

PENDING = "pending"
PENDING_LIKE = '%"publish_state": "pending"%'  # how CKAN stores resource extras (json.dumps)
# activity fields that change with any update, so do not count as "something changed"
_VOLATILE_PACKAGE_KEYS = frozenset({"metadata_modified", "num_resources"})
_VOLATILE_RESOURCE_KEYS = frozenset({"position", "metadata_modified"})  # every update touches them


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


def editor_check(context: dict[str, Any]) -> Callable[[str], bool]:
    """``can_edit`` for one viewer, remembered per dataset (an activity list names many)."""
    seen: dict[str, bool] = {}

    def check(package_id: str) -> bool:
        if package_id not in seen:
            seen[package_id] = can_edit(context, package_id)
        return seen[package_id]

    return check


def hide_pending(package: dict[str, Any]) -> dict[str, Any]:
    resources = package.get("resources") or []
    visible = [r for r in resources if not (isinstance(r, dict) and is_pending(r))]
    if len(visible) != len(resources):
        package["resources"] = visible
        package["num_resources"] = len(visible)
    return package


def has_pending(package: Any) -> bool:
    return isinstance(package, dict) and any(
        isinstance(r, dict) and is_pending(r) for r in package.get("resources") or []
    )


@toolkit.chained_auth_function
@toolkit.auth_allow_anonymous_access
def resource_show(next_auth: Any, context: dict[str, Any], data_dict: dict[str, Any]) -> dict[str, Any]:
    """A pending resource (and so its download) exists only for those who may edit its dataset."""
    result = next_auth(context, data_dict)
    resource = context.get("resource")
    if resource is None and data_dict.get("id"):
        resource = model.Resource.get(data_dict["id"])
    if resource is not None:
        extras = getattr(resource, "extras", None) or {}
        if extras.get("publish_state") == PENDING and not can_edit(context, resource.package_id):
            return {"success": False, "msg": "ยังไม่เผยแพร่ / This resource is not published yet"}
    return result


# ------------------------------------------------------------ resource_search --

# ids of the resources the current resource_search must not return (None: no filtering)
_hidden_resources: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "tambon_hidden_resources", default=None
)


def _filter_hidden_resources(state: Any) -> None:
    """SQLAlchemy ``do_orm_execute`` hook: while a resource_search runs, add ``id NOT IN hidden`` to
    every query of resources (its count and its page alike)."""
    hidden = _hidden_resources.get()
    if hidden and state.is_select:
        state.statement = state.statement.options(
            with_loader_criteria(model.Resource, model.Resource.id.notin_(sorted(hidden)), include_aliases=True)
        )


def install_resource_filter() -> None:
    """Register the hook once (on CKAN's scoped session)."""
    if not event.contains(model.Session, "do_orm_execute", _filter_hidden_resources):
        event.listen(model.Session, "do_orm_execute", _filter_hidden_resources)


def hidden_resource_ids(context: dict[str, Any]) -> frozenset[str]:
    """Staged resources of public active datasets that this viewer may not edit (usually none or a few)."""
    rows = (
        model.Session.query(model.Resource.id, model.Resource.package_id, model.Resource.extras)
        .join(model.Package, model.Package.id == model.Resource.package_id)
        .filter(model.Resource.state == "active", model.Package.state == "active")
        .filter(model.Resource.extras.like(PENDING_LIKE))
        .all()
    )
    check = editor_check(context)
    return frozenset(
        rid
        for rid, package_id, extras in rows
        if (extras or {}).get("publish_state") == PENDING and not check(package_id)
    )


@toolkit.chained_action
@toolkit.side_effect_free
def resource_search(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    hidden = hidden_resource_ids(context)
    if not hidden:
        return original(context, data_dict)
    token = _hidden_resources.set(hidden)
    try:
        return original(context, data_dict)
    finally:
        _hidden_resources.reset(token)


# ------------------------------------------------------------------ activities --


def _comparable(package: dict[str, Any]) -> dict[str, Any]:
    """A dataset as the public sees it, without what changes on every update."""
    visible = {k: v for k, v in package.items() if k not in _VOLATILE_PACKAGE_KEYS and k != "resources"}
    visible["resources"] = [
        {k: v for k, v in r.items() if k not in _VOLATILE_RESOURCE_KEYS}
        for r in package.get("resources") or []
        if isinstance(r, dict) and not is_pending(r)
    ]
    return visible


def _previous_package(activity: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset as recorded by the activity before this one, if any."""
    from ckanext.activity.model import Activity

    when = model.Session.query(Activity.timestamp).filter(Activity.id == activity["id"]).scalar_subquery()
    previous = (
        model.Session.query(Activity.data)
        .filter(Activity.object_id == activity["object_id"], Activity.timestamp < when)
        .order_by(Activity.timestamp.desc())
        .first()
    )
    if previous is None or not isinstance(previous[0], dict):
        return None
    package = previous[0].get("package")
    return package if isinstance(package, dict) else None


def _staging_only(activity: dict[str, Any]) -> bool:
    """A 'changed package' activity whose only change was staging (or dropping) pending resources."""
    package = (activity.get("data") or {}).get("package")
    if activity.get("activity_type") != "changed package" or not has_pending(package):
        return False
    previous = _previous_package(activity)
    return previous is not None and _comparable(previous) == _comparable(package)


def _hidden_copy(activity: dict[str, Any]) -> dict[str, Any]:
    """The activity with its dataset copy stripped of pending resources (the original is not touched:
    it may be the ORM object's own JSON)."""
    data = activity.get("data")
    if not isinstance(data, dict) or not has_pending(data.get("package")):
        return activity
    return {**activity, "data": {**data, "package": hide_pending(dict(data["package"]))}}


def _is_package_activity(activity: Any) -> bool:
    return isinstance(activity, dict) and isinstance((activity.get("data") or {}).get("package"), dict)


def filter_activities(context: dict[str, Any], activities: list[Any]) -> list[Any]:
    """An activity list as a viewer who cannot edit a dataset may see it."""
    check = editor_check(context)
    shown = []
    for activity in activities:
        if _is_package_activity(activity) and not check(activity["object_id"]):
            if _staging_only(activity):
                continue
            activity = _hidden_copy(activity)
        shown.append(activity)
    return shown


def _activity_list(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    return filter_activities(context, original(context, data_dict))


def _chained_list(name: str) -> Callable[..., Any]:
    def action(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
        return _activity_list(original, context, data_dict)

    action.__name__ = name
    action.__doc__ = f"``{name}`` without staged resources for those who cannot edit the dataset."
    return toolkit.chained_action(toolkit.side_effect_free(action))


ACTIVITY_LISTS = (
    "package_activity_list",
    "organization_activity_list",
    "group_activity_list",
    "recently_changed_packages_activity_list",
    "dashboard_activity_list",
    "user_activity_list",
)


def _activity_object_id(activity_id: Any) -> str | None:
    from ckanext.activity.model import Activity

    row = model.Session.query(Activity.object_id).filter(Activity.id == activity_id).first()
    return row[0] if row else None


@toolkit.chained_action
@toolkit.side_effect_free
def activity_show(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    activity = original(context, data_dict)
    if _is_package_activity(activity) and not can_edit(context, activity["object_id"]):
        activity = _hidden_copy(activity)
    return activity


@toolkit.chained_action
@toolkit.side_effect_free
def activity_data_show(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    data = original(context, data_dict)
    if not isinstance(data, dict):
        return data
    object_id = _activity_object_id(data_dict.get("id"))
    if object_id is None or can_edit(context, object_id):
        return data
    if has_pending(data):  # object_type=package: the dataset itself
        return hide_pending(dict(data))
    if has_pending(data.get("package")):
        return {**data, "package": hide_pending(dict(data["package"]))}
    return data


def _diff(old: dict[str, Any], new: dict[str, Any], diff_type: str) -> str:
    """The diff ``activity_diff`` gives, of the two datasets as the public saw them."""
    old_lines, new_lines = (json.dumps(obj, indent=2, sort_keys=True).split("\n") for obj in (old, new))
    if diff_type == "unified":
        return "\n".join(difflib.unified_diff(old_lines, new_lines))
    if diff_type == "context":
        return "\n".join(difflib.context_diff(old_lines, new_lines))

    def wrapped(lines: list[str]) -> list[str]:  # html: long lines wrapped at about 70 characters
        return [piece for line in lines for piece in re.findall(r".{1,70}(?:\s+|$)", line)]

    return difflib.HtmlDiff().make_table(wrapped(old_lines), wrapped(new_lines))


@toolkit.chained_action
@toolkit.side_effect_free
def activity_diff(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    result = original(context, data_dict)
    activities = result.get("activities") or []
    object_type = data_dict.get("object_type")
    if object_type != "package" or len(activities) != 2 or not all(map(_is_package_activity, activities)):
        return result
    if can_edit(context, activities[1]["object_id"]):
        return result
    if not any(has_pending(a["data"]["package"]) for a in activities):
        return result
    hidden = [_hidden_copy(a) for a in activities]
    diff = _diff(hidden[0]["data"]["package"], hidden[1]["data"]["package"], data_dict.get("diff_type", "unified"))
    return {**result, "diff": diff, "activities": hidden}


def chained_actions() -> dict[str, Callable[..., Any]]:
    actions: dict[str, Callable[..., Any]] = {name: _chained_list(name) for name in ACTIVITY_LISTS}
    actions.update(
        resource_search=resource_search,
        activity_show=activity_show,
        activity_data_show=activity_data_show,
        activity_diff=activity_diff,
    )
    return actions


# ----------------------------------------------------------- resource history --


def guard_resource_history() -> None:
    """Flask ``before_app_request``: ``/dataset/<id>/resources/<rid>/history/<activity_id>`` reads the
    activity straight from the database (no action to chain): refuse a staged resource there."""
    from flask import request

    if request.endpoint != "activity.resource_history" or not request.view_args:
        return
    from ckanext.activity.model import Activity

    activity = Activity.get(request.view_args.get("activity_id", ""))
    data = getattr(activity, "data", None)
    package = data.get("package") if isinstance(data, dict) else None
    if not isinstance(package, dict):
        return
    for resource in package.get("resources") or []:
        if isinstance(resource, dict) and resource.get("id") == request.view_args.get("resource_id"):
            viewer = {"user": getattr(toolkit.current_user, "name", "")}
            if is_pending(resource) and not can_edit(viewer, activity.object_id):
                toolkit.abort(404, toolkit._("Resource not found"))
            return
