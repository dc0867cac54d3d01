"""Result documents in the shape CKAN expects from its Solr index, read from the index rows.

The row keeps what Solr stores: ``validated_data_dict`` and ``data_dict`` (the JSON that
``package_search`` returns, staged resources already left out at index time) and the flattened
fields (``tags`` as names, ``organization`` as name, ``res_format`` lists, ``extras_<key>``...) for
``fl``. So a page of results is the one query that found it: no ``package_show`` per hit.
"""

from __future__ import annotations

from typing import Any

FULL_DICT_FIELDS = ("validated_data_dict", "data_dict")


def parse_fl(fl: Any) -> list[str]:
    """``fl`` as Solr takes it: names separated by spaces or commas."""
    if not fl:
        return ["name"]
    if isinstance(fl, (list, tuple)):
        fl = " ".join(fl)
    return [f for f in fl.replace(",", " ").split() if f]


def result(row: Any, fl: list[str]) -> dict[str, Any]:
    """One result with the fields asked for (``*``: all of them)."""
    want_all = "*" in fl
    document = getattr(row, "document", None) or {}
    out: dict[str, Any] = dict(document) if want_all else {n: document[n] for n in fl if n in document}
    out.pop("text", None)
    for name in FULL_DICT_FIELDS:
        if want_all or name in fl:
            out[name] = getattr(row, name, None)
    if want_all or "id" in fl:
        out["id"] = row.id
    if want_all or "score" in fl:
        out["score"] = float(row.score or 0)
    return out
