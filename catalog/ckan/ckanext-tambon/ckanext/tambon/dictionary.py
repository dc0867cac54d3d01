"""A dataset's data dictionary as pages and downloads read it: CKAN's DataStore dictionary of its table.

The publisher (catalog/ckan_publish.py ``datastore_fields``) writes each column's Thai and English
title and description into the DataStore table's data dictionary, CKAN's own place for it: the
resource page shows it, the Data API returns it, and the portal reads it here for the dataset
page's column list and the Thai headings of every CSV a person downloads.
"""

from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.common import g


def _context() -> dict[str, Any]:
    return {"user": g.user}


def datastore_dictionary(resource_id: str) -> list[dict[str, Any]]:
    """The DataStore table's columns with their data dictionary, as the requesting user may read it."""
    info = tk.get_action("datastore_info")(_context(), {"id": resource_id})
    return [f for f in info.get("fields", []) if not f["id"].startswith("_")]


def dataset_table(package: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset's DataStore resource (our publisher marks it ``role = datastore``)."""
    return next((r for r in package.get("resources", []) if r.get("role") == "datastore"), None)


def thai_titles(package: dict[str, Any]) -> dict[str, str]:
    """Column code -> Thai title, from the dataset's DataStore data dictionary (empty without one)."""
    table = dataset_table(package)
    if table is None or not table.get("datastore_active"):
        return {}
    try:
        fields = datastore_dictionary(table["id"])
    except (tk.ObjectNotFound, tk.NotAuthorized):
        return {}
    return {f["id"]: title for f in fields if (title := thai_title(f.get("info") or {}))}


def thai_title(info: dict[str, Any]) -> str:
    """A column's Thai title from its data dictionary entry ("" for a table that is not ours)."""
    return (info.get("label_translated") or {}).get("th", "")


def dataset_dictionary(package: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset page's column list: each column's titles, code, type, description; and what ``x`` means."""
    table = dataset_table(package)
    if table is None or not table.get("datastore_active"):
        return None
    try:
        fields = datastore_dictionary(table["id"])
    except (tk.ObjectNotFound, tk.NotAuthorized):
        return None
    columns = []
    for f in fields:
        info = f.get("info") or {}
        titles, notes = info.get("label_translated") or {}, info.get("notes_translated") or {}
        columns.append(
            {
                "code": f["id"],
                "type": f.get("type", ""),
                "title_th": titles.get("th", f["id"]),
                "title_en": titles.get("en", f["id"]),
                "notes_th": notes.get("th", ""),
                "notes_en": notes.get("en", ""),
                "suppressed_text": info.get("suppressed_text", ""),
                "values": [info["true_text"], info["false_text"]] if "true_text" in info else [],
            }
        )
    return {
        "columns": columns,
        "suppression": {"th": table.get("suppression_th", ""), "en": table.get("suppression_en", "")},
        "table_url": tk.h.url_for(
            f"{package.get('type', 'dataset')}_resource.read", id=package["name"], resource_id=table["id"]
        ),
    }
