"""Result documents in the shape CKAN expects from its Solr index.

Solr keeps, per dataset, ``validated_data_dict`` and ``data_dict`` (JSON of
``package_show`` with and without validation) and flattened fields (``tags``
as names, ``organization`` as name, ``res_format`` lists, ``extras_<key>``,
``capacity``...). Here they are made on demand from the database through
``package_show``, only for the page of results and only the fields asked
for in ``fl``.
"""

from __future__ import annotations

import json
from typing import Any

import ckan.model as model
from ckan.common import config
from ckan.lib.navl.dictization_functions import MissingNullEncoder
from ckan.logic import get_action

from ..publishing import hide_pending

FULL_DICT_FIELDS = ("validated_data_dict", "data_dict")


def parse_fl(fl: Any) -> list[str]:
    """``fl`` as Solr takes it: names separated by spaces or commas."""
    if not fl:
        return ["name"]
    if isinstance(fl, (list, tuple)):
        fl = " ".join(fl)
    return [f for f in fl.replace(",", " ").split() if f]


def _package_show(package_id: str, validate: bool) -> dict[str, Any]:
    """The dataset as a search result shows it to everyone: staged resources left out (the result
    documents, ``data_dict`` and ``validated_data_dict`` included, are the same for every viewer)."""
    context = {
        "model": model,
        "session": model.Session,
        "ignore_auth": True,
        "use_cache": False,
        "validate": validate,
    }
    return hide_pending(get_action("package_show")(context, {"id": package_id}))


def flatten(pkg: dict[str, Any]) -> dict[str, Any]:
    """The index fields of an (unvalidated) package dict, as CKAN's
    ``PackageSearchIndex.index_package`` would store them."""
    doc = {k: v for k, v in pkg.items() if k not in ("extras", "tags", "groups", "resources", "organization")}
    for extra in pkg.get("extras") or []:
        key, value = extra["key"], extra["value"]
        if isinstance(value, (list, tuple)):
            value = " ".join(map(str, value))
        doc["extras_" + key] = value
        doc.setdefault(key, value)
    doc["tags"] = [t["name"] for t in pkg.get("tags") or [] if not t.get("vocabulary_id")]
    doc["groups"] = [g["name"] for g in pkg.get("groups") or []]
    org = pkg.get("organization")
    doc["organization"] = org["name"] if org else None
    doc["capacity"] = "private" if pkg.get("private") else "public"
    for source, target in (
        ("name", "res_name"),
        ("description", "res_description"),
        ("format", "res_format"),
        ("url", "res_url"),
        ("resource_type", "res_type"),
    ):
        doc[target] = [r.get(source) or "" for r in pkg.get("resources") or []]
    doc["dataset_type"] = pkg.get("type")
    if pkg.get("title"):
        doc["title_string"] = pkg["title"]
    for key in ("metadata_created", "metadata_modified"):
        if doc.get(key) and not str(doc[key]).endswith("Z"):
            doc[key] = f"{doc[key]}Z"
    doc["site_id"] = config.get("ckan.site_id")
    doc["entity_type"] = "package"
    return doc


class LazyDocument:
    """Builds a result document's fields, calling package_show at most twice."""

    def __init__(self, package_id: str):
        self.package_id = package_id
        self._raw: dict[str, Any] | None = None
        self._validated: dict[str, Any] | None = None

    @property
    def raw(self) -> dict[str, Any]:
        if self._raw is None:
            self._raw = _package_show(self.package_id, validate=False)
        return self._raw

    @property
    def validated(self) -> dict[str, Any]:
        if self._validated is None:
            self._validated = _package_show(self.package_id, validate=True)
        return self._validated

    def fields(self, names: list[str], score: float) -> dict[str, Any]:
        want_all = "*" in names
        out: dict[str, Any] = {}
        if want_all or any(n not in ("id", "score", *FULL_DICT_FIELDS) for n in names):
            flat = flatten(self.raw)
            if want_all:
                out.update(flat)
            else:
                out.update({n: flat[n] for n in names if n in flat})
        if want_all or "id" in names:
            out["id"] = self.package_id
        if want_all or "validated_data_dict" in names:
            out["validated_data_dict"] = json.dumps(self.validated, cls=MissingNullEncoder)
        if want_all or "data_dict" in names:
            out["data_dict"] = json.dumps(self.raw)
        if "score" in names or want_all:
            out["score"] = score
        return out


def build(ids_scores: list[tuple[str, float]], fl: list[str]) -> list[Any]:
    """Documents for the page of results, in order."""
    if fl == ["id"]:
        return [{"id": package_id} for package_id, _ in ids_scores]
    if fl == ["name"]:
        names = dict(
            model.Session.query(model.Package.id, model.Package.name).filter(
                model.Package.id.in_([i for i, _ in ids_scores])
            )
        )
        return [{"name": names.get(package_id)} for package_id, _ in ids_scores]
    return [LazyDocument(package_id).fields(fl, score) for package_id, score in ids_scores]
