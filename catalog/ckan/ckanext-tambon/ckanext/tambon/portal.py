"""The catalog's front page and its Thai-first labels: what the ``tambon_portal`` plugin serves.

Why the figures are read from CKAN and not from the pipeline's files: the front page is a
page of the single opened-data system, so it shows what that system publishes, and nothing
else. The publisher (catalog/ckan_publish.py) applies the latest rule (catalog/latest.py)
when it switches a dataset: ``latest_revision`` names the round the stable "latest" links
serve, and the quality dataset's DataStore table holds the current revision of every
round, one row per area. The headline figures are that table's nation row for that round,
so they always agree with the latest CSV a visitor downloads next.

Why a redirect for ``/dataset/village_profile``: the pipeline, its files and the README
name outputs with underscores, CKAN names datasets with hyphens; a person typing what the
README says should land on the dataset, not on a 404.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import Any

import ckan.model as model
import ckan.plugins.toolkit as tk
from flask import Blueprint, redirect, request

log = logging.getLogger(__name__)

#: the quality datasets whose nation row gives the headline figures (villages; households)
VILLAGE_QUALITY = "village-profile-quality"
HOUSEHOLD_QUALITY = "household-survey-quality"
#: datasets shown first on the front page, in this order, when published
FEATURED = (
    "village-profile",
    "village-profile-province",
    "household-survey-village",
    "village-profile-quality",
    "role-model-district",
)

THAI_MONTHS = (
    "มกราคม",
    "กุมภาพันธ์",
    "มีนาคม",
    "เมษายน",
    "พฤษภาคม",
    "มิถุนายน",
    "กรกฎาคม",
    "สิงหาคม",
    "กันยายน",
    "ตุลาคม",
    "พฤศจิกายน",
    "ธันวาคม",
)
ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
BE_OFFSET = 543
#: ``latest_revision`` as the publisher writes it: ``<B.E. round>_<Gregorian round>_r<revision>``
_VERSION = re.compile(r"^(?P<be>\d{4}-\d{2})_(?P<round>\d{4}-\d{2})_r(?P<revision>\d+)$")
#: what a failed read of a published dataset can raise: the page then says "not published yet"
_READ_ERRORS = (tk.ObjectNotFound, tk.NotAuthorized, tk.ValidationError, KeyError, ValueError, TypeError)


def _lang() -> str:
    return "en" if (tk.h.lang() or "th").startswith("en") else "th"


# -- dates: B.E. years and Thai month names -------------------------------------------------------------------------
def month_label(round_key: str, lang: str | None = None) -> str:
    """``2020-10`` -> ``ตุลาคม 2563`` (th) or ``October 2020 (B.E. 2563)`` (en)."""
    year, month = (int(part) for part in round_key.split("-"))
    if (lang or _lang()) == "en":
        return f"{ENGLISH_MONTHS[month - 1]} {year} (B.E. {year + BE_OFFSET})"
    return f"{THAI_MONTHS[month - 1]} {year + BE_OFFSET}"


def date_label(value: str | dt.date | None, lang: str | None = None) -> str:
    """An ISO date (or timestamp) as people write it: ``5 ธันวาคม 2569`` / ``5 December 2026 (B.E. 2569)``."""
    if not value:
        return ""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
    if (lang or _lang()) == "en":
        return f"{day.day} {ENGLISH_MONTHS[day.month - 1]} {day.year} (B.E. {day.year + BE_OFFSET})"
    return f"{day.day} {THAI_MONTHS[day.month - 1]} {day.year + BE_OFFSET}"


def number(value: Any, digits: int = 0) -> str:
    """Thousands separators as Thai offices print them (``1,012,542``); ``–`` when unknown."""
    if value in (None, ""):
        return "–"
    return f"{float(value):,.{digits}f}" if digits else f"{int(value):,}"


# -- reads from CKAN -------------------------------------------------------------------------------------------------
def _action(name: str, **data: Any) -> Any:
    """An action as the visitor (their permissions: a pending resource or a private dataset stays hidden)."""
    return tk.get_action(name)({}, data)


def _dataset(name: str) -> dict[str, Any] | None:
    try:
        return _action("package_show", id=name)
    except _READ_ERRORS:
        return None


def latest_round(package: dict[str, Any]) -> tuple[str, int] | None:
    """(Gregorian round, revision) the dataset's latest links serve, from the publisher's ``latest_revision``."""
    found = _VERSION.match(str(package.get("latest_revision") or ""))
    return (found["round"], int(found["revision"])) if found else None


def nation_row(package: dict[str, Any], round_key: str) -> dict[str, Any] | None:
    """The quality table's nation row of ``round_key`` from the dataset's DataStore table (Data API)."""
    table = next((r for r in package.get("resources", []) if r.get("role") == "datastore"), None)
    if table is None:
        return None
    try:
        got = _action(
            "datastore_search", resource_id=table["id"], filters={"level": "nation", "round": round_key}, limit=1
        )
    except _READ_ERRORS as error:
        log.warning("front page: no nation row in %s for %s: %s", package.get("name"), round_key, error)
        return None
    return got["records"][0] if got.get("records") else None


def _latest_note(package: dict[str, Any], lang: str) -> str:
    """Why this round is the latest, and the rule, as the publisher put them on the stable CSV link."""
    link = next(
        (r for r in package.get("resources", []) if r.get("role") == "latest" and r.get("file_format") == "csv"), None
    )
    return str((link or {}).get(f"latest_reason_{'en' if lang == 'en' else 'th'}") or "")


def headline_figures(package: dict[str, Any] | None, lang: str | None = None) -> dict[str, Any] | None:
    """The latest round's headline figures from the village quality dataset ``package``, or None when it is
    not published (yet)."""
    lang = lang or _lang()
    picked = latest_round(package) if package else None
    row = nation_row(package, picked[0]) if package and picked else None
    if row is None or picked is None:
        return None
    expected, reported = int(row["tambons_expected"] or 0), int(row["tambons_reported"] or 0)
    figures = {
        "round": picked[0],
        "revision": picked[1],
        "round_label": month_label(picked[0], lang),
        "updated": date_label(package.get("last_updated_date"), lang),
        "villages_reported": number(row["villages_reported"]),
        "villages_expected": number(row["villages_expected"]),
        "completeness_pct": number(row["completeness_pct"], 2),
        "accuracy_pct": number(row.get("accuracy_pct"), 2),
        "tambons_missing": number(max(expected - reported, 0)),
        "tambons_expected": number(expected),
        "note": _latest_note(package, lang),
        "dataset": package["name"],
        "households": None,
    }
    households = _dataset(HOUSEHOLD_QUALITY)
    picked_households = latest_round(households) if households else None
    if households and picked_households and (found := nation_row(households, picked_households[0])):
        figures["households"] = number(found["rows_received"])
        figures["households_accepted"] = number(found["rows_accepted"])
        figures["households_round_label"] = month_label(picked_households[0], lang)
        figures["households_dataset"] = households["name"]
    return figures


def newest_report(package: dict[str, Any] | None, lang: str | None = None) -> dict[str, Any] | None:
    """The newest round's quality report (the newest revision of it) in the village quality dataset ``package``."""
    reports = [r for r in (package or {}).get("resources", []) if r.get("role") == "report"]
    if not package or not reports:
        return None
    report = max(reports, key=lambda r: (str(r.get("round", "")), int(r.get("revision") or 0)))
    return {
        "url": tk.h.url_for("resource.read", id=package["name"], resource_id=report["id"]),
        "round_label": month_label(report["round"], lang or _lang()),
        "revision": report.get("revision"),
        "issued": date_label(report.get("issued"), lang or _lang()),
    }


def featured_datasets(lang: str | None = None) -> list[dict[str, Any]]:
    """The programme's main datasets (when published), else the most recently changed ones."""
    lang = lang or _lang()
    packages = [p for p in (_dataset(name) for name in FEATURED) if p]
    if not packages:
        try:
            packages = _action("package_search", rows=4, sort="metadata_modified desc")["results"]
        except _READ_ERRORS:
            packages = []
    return [
        {
            "name": p["name"],
            "title": (p.get("title_en") or p["title"]) if lang == "en" else p["title"],
            "subtitle": "" if lang == "en" else (p.get("title_en") or ""),
            "url": tk.h.url_for("dataset.read", id=p["name"]),
            "updated": date_label(p.get("last_updated_date") or p.get("metadata_modified"), lang),
        }
        for p in packages
    ]


def theme_groups(lang: str | None = None) -> list[dict[str, Any]]:
    """The theme groups (made by the publisher from catalog/themes.py) in their order, with dataset counts."""
    lang = lang or _lang()
    try:
        groups = _action("group_list", all_fields=True, include_extras=True, include_dataset_count=True)
    except _READ_ERRORS:
        return []

    def extra(group: dict[str, Any], key: str) -> str:
        return next((e["value"] for e in group.get("extras", []) if e.get("key") == key), "")

    def order(group: dict[str, Any]) -> tuple[int, str]:
        value = extra(group, "order")
        return (int(value) if value.isdigit() else 99, group["name"])

    return [
        {
            "name": g["name"],
            "title": (extra(g, "title_en") or g["title"]) if lang == "en" else g["title"],
            "subtitle": "" if lang == "en" else extra(g, "title_en"),
            "description": extra(g, "description_en") if lang == "en" else str(g.get("description", "")).split("\n")[0],
            "count": g.get("package_count", 0),
            "url": tk.h.url_for("group.read", id=g["name"]),
        }
        for g in sorted(groups, key=order)
    ]


def front_page() -> dict[str, Any]:
    """Everything the front page shows, read once per page view."""
    lang = _lang()
    quality = _dataset(VILLAGE_QUALITY)
    return {
        "lang": lang,
        "figures": headline_figures(quality, lang),
        "report": newest_report(quality, lang),
        "featured": featured_datasets(lang),
        "themes": theme_groups(lang),
    }


HELPERS = {
    "tambon_front_page": front_page,
    "tambon_month_label": month_label,
    "tambon_date_label": date_label,
}


# -- /dataset/village_profile -> /dataset/village-profile ------------------------------------------------------------
_DATASET_PATH = re.compile(r"^/dataset/(?P<name>[A-Za-z0-9-]*_[A-Za-z0-9_-]*)(?P<rest>/.*)?$")


def redirect_underscore_name() -> Any:
    """301 from an output's name (underscores) to its dataset (hyphens), only when that dataset is public.

    A dataset really named with underscores is left alone; a private or deleted one gets CKAN's own 404,
    so the redirect tells nobody that it exists.
    """
    if request.method not in ("GET", "HEAD"):
        return None
    found = _DATASET_PATH.match(request.path)
    if not found or model.Package.get(found["name"]) is not None:
        return None
    target = model.Package.get(found["name"].replace("_", "-"))
    if target is None or target.private or target.state != "active":
        return None
    url = tk.h.url_for("dataset.read", id=target.name) + (found["rest"] or "")
    if request.query_string:
        url += "?" + request.query_string.decode("latin-1")
    return redirect(url, code=301)


def blueprint() -> Blueprint:
    portal = Blueprint("tambon_portal", __name__)
    portal.before_app_request(redirect_underscore_name)
    return portal
