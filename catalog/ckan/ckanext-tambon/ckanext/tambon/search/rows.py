"""One dataset's index row, from the document CKAN's indexer would send to Solr.

Words carry a weight, so that a match in the title ranks above one in the description:

* A: title, ``title_en``, name
* B: tags (vocabulary tags too), groups and organisation (names and titles), coverage
  (``coverage_*``: the provinces and rounds a dataset covers)
* C: description (``notes``, ``notes_en``), author, maintainer, version, url, every other extra field
* D: resource names and formats (staged resources are already gone), the data dictionary's column
  titles (``column_titles``), so that a dataset is found by what it measures

``fields`` holds every field's values as text arrays (facets, ``fq``), ``numbers`` and ``dates`` the
same values where they are numbers or ISO dates (ranges compare as numbers and as dates), ``facets``
the usual facet fields again (``facet_values``).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from sqlalchemy import cast, func, literal, literal_column
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.sql.elements import ColumnElement

from . import words
from .table import ROW_VERSION, TEXT_CONFIG

#: fields kept out of ``fields`` (stored apart or meaningless for filters)
STORED_APART = frozenset({"data_dict", "validated_data_dict", "permission_labels"})
WEIGHT_A = ("title", "title_en", "name")
WEIGHT_C = ("notes", "notes_en", "author", "maintainer", "version", "url")
WEIGHT_D_FIELDS = ("column_titles",)
COVERAGE_PREFIX = "coverage_"
_NUMBER = re.compile(r"^-?\d{1,15}(\.\d{1,15})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")
_EPOCH = dt.datetime(1970, 1, 1)
ENGLISH = literal_column(f"'{TEXT_CONFIG}'::regconfig")


def _values(value: Any) -> list[Any]:
    """A field's value as a list of scalars: lists as they are, JSON lists (how extras hold
    ckanext-scheming's multiple choices) parsed, dictionaries left out."""
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        try:
            loaded = json.loads(value)
        except ValueError:
            loaded = None
        if isinstance(loaded, list):
            value = loaded
    items = value if isinstance(value, (list, tuple)) else [value]
    return [v for v in items if v is not None and v != "" and not isinstance(v, (dict, list, tuple))]


def as_text(value: Any) -> str:
    """A scalar as Solr would hold it (booleans as ``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _NUMBER.match(value.strip()):
        return float(value)
    return None


def as_epoch(value: Any) -> float | None:
    """An ISO date (naive means UTC, as CKAN stores its dates) as seconds since 1970."""
    if not isinstance(value, str) or not _DATE.match(value.strip()):
        return None
    try:
        when = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return (when - _EPOCH).total_seconds()


def field_values(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Every field of the document as distinct text values (a dataset counts once per facet value)."""
    out: dict[str, list[str]] = {}
    for key, value in doc.items():
        if key in STORED_APART:
            continue
        values = list(dict.fromkeys(as_text(v) for v in _values(value)))
        if values:
            out[key] = values
    return out


#: fields kept again in ``facets``: CKAN's default facets, the type, and our coverage and vocabulary fields
FACET_FIELDS = frozenset({"organization", "groups", "tags", "res_format", "license_id", "type"})
FACET_PREFIXES = ("coverage_", "vocab_")


def facet_values(fields: dict[str, list[str]]) -> dict[str, list[str]]:
    """The fields usually asked for as facets, again, each present (``[]`` when the dataset has none).

    Why: ``fields`` of a dataset with a few resources is several kilobytes, which PostgreSQL compresses and
    moves out of the row (TOAST); counting five facets over 5,000 matches decompressed it 25,000 times
    (most of a search's time at 10,000 datasets). These few fields stay small, in the row.
    ``facets.facet_counts`` reads a field from here when the row has it, else from ``fields``: so the
    counts are exact for any field, and for rows indexed before this column existed."""
    wanted = set(FACET_FIELDS) | {key for key in fields if key.startswith(FACET_PREFIXES)}
    return {key: fields.get(key, []) for key in sorted(wanted)}


def typed_values(fields: dict[str, list[str]]) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    numbers: dict[str, list[float]] = {}
    dates: dict[str, list[float]] = {}
    for key, values in fields.items():
        as_numbers = [n for n in map(as_number, values) if n is not None]
        if as_numbers:
            numbers[key] = as_numbers
        as_dates = [d for d in map(as_epoch, values) if d is not None]
        if as_dates:
            dates[key] = as_dates
    return numbers, dates


def _texts(value: Any) -> list[str]:
    return [as_text(v) for v in _values(value)]


def weighted_texts(doc: dict[str, Any]) -> dict[str, list[str]]:
    """The texts of each weight (see the module's docstring)."""
    data = _loads(doc.get("data_dict"))
    extras = {e.get("key"): e.get("value") for e in data.get("extras") or [] if isinstance(e, dict)}
    # what plugins add in before_dataset_index (``extras_<key>``) is searchable, as Solr copies extras_* to text
    extras.update({key[len("extras_") :]: value for key, value in doc.items() if key.startswith("extras_")})
    named = {**extras, **{k: v for k, v in doc.items() if not k.startswith("extras_")}}
    a = [t for key in WEIGHT_A for t in _texts(named.get(key))]
    b = _texts(doc.get("tags"))
    b += [t for key, value in doc.items() if key.startswith("vocab_") for t in _texts(value)]
    for group in data.get("groups") or []:
        b += [t for t in (group.get("name"), group.get("title")) if t]
    organization = data.get("organization") or {}
    b += [t for t in (organization.get("name"), organization.get("title")) if t]
    b += [t for key, value in named.items() if key.startswith(COVERAGE_PREFIX) for t in _texts(value)]
    c = [t for key in WEIGHT_C for t in _texts(named.get(key))]
    taken = {*WEIGHT_A, *WEIGHT_C, *WEIGHT_D_FIELDS}
    c += [t for key, value in extras.items() if key not in taken and not key.startswith(COVERAGE_PREFIX)
          for t in _texts(value)]  # fmt: skip
    d = _texts(doc.get("res_name")) + _texts(doc.get("res_format"))
    d += [t for key in WEIGHT_D_FIELDS for t in _texts(named.get(key))]
    return {"A": a, "B": b, "C": c, "D": d}


def _loads(text: Any) -> dict[str, Any]:
    if not isinstance(text, str):
        return {}
    try:
        loaded = json.loads(text)
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _timestamp(value: Any) -> dt.datetime | None:
    epoch = as_epoch(value) if isinstance(value, str) else None
    return None if epoch is None else _EPOCH + dt.timedelta(seconds=epoch)


def build(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, words.Split]]:
    """(column values of the row, the texts of each weight split into Thai words and the rest)."""
    fields = field_values(doc)
    numbers, dates = typed_values(fields)
    title = doc.get("title") or doc.get("name") or ""
    document = {k: v for k, v in doc.items() if k not in ("data_dict", "validated_data_dict")}
    row = {
        "id": doc["id"],
        "name": doc.get("name"),
        "state": doc.get("state"),
        "private": bool(doc.get("private")),
        "type": doc.get("type"),
        "owner_org": doc.get("owner_org"),
        "title_sort": str(title).lstrip().lower(),
        "metadata_created": _timestamp(doc.get("metadata_created")),
        "metadata_modified": _timestamp(doc.get("metadata_modified")),
        "permission_labels": list(doc.get("permission_labels") or []),
        "fields": fields,
        "facets": facet_values(fields),
        "numbers": numbers,
        "dates": dates,
        "document": json.loads(json.dumps(document, default=str)),
        "data_dict": doc.get("data_dict"),
        "validated_data_dict": doc.get("validated_data_dict"),
        "row_version": ROW_VERSION,
    }
    weights = {weight: words.split_all(texts) for weight, texts in weighted_texts(doc).items()}
    return row, weights


def vector_expression(weights: dict[str, words.Split]) -> ColumnElement:
    """``setweight(to_tsvector('tambon_english', latin), W) || 'thai words':W ...`` for each weight."""
    parts: list[ColumnElement] = []
    for weight, split in sorted(weights.items()):
        if split.latin:
            parts.append(func.setweight(func.to_tsvector(ENGLISH, literal(split.latin)), weight))
        if split.thai:
            parts.append(cast(literal(words.tsvector_literal(split.thai, weight, split.also)), TSVECTOR))
    if not parts:
        return cast(literal(""), TSVECTOR)
    vector = parts[0]
    for part in parts[1:]:
        vector = vector.op("||")(part)
    return vector
