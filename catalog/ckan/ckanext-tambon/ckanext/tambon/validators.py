"""Validators for the Thai GDC dataset schema.

CKAN's own ``tag_name_validator`` only accepts ``\\w``, space, ``-``, ``_``
and ``.``; Thai vowel and tone marks (Unicode category Mn, e.g. the marks in
``หมู่บ้าน``) are not ``\\w``, so almost any Thai keyword is rejected. The
``tag_name_validator`` here replaces CKAN's (plugins may override validators
by name) and also accepts combining marks; ``tambon_tag_string_convert`` is
``tag_string_convert`` using it.
"""

from __future__ import annotations

import unicodedata
from itertools import count
from typing import Any

from ckan.lib.navl.dictization_functions import Invalid, Missing, StopOnError
from ckan.logic.validators import tag_length_validator
from ckan.plugins.toolkit import _

_TAG_PUNCTUATION = frozenset(" -_.")


def tag_name_validator(value: Any, context: Any) -> Any:
    """Letters, digits, combining marks, space, ``-``, ``_`` and ``.``."""
    for char in value:
        if char.isalnum() or char in _TAG_PUNCTUATION:
            continue
        if unicodedata.category(char).startswith("M"):
            continue
        raise Invalid(
            _(
                'Tag "%s" can only contain alphanumeric characters, spaces (" "), '
                'hyphens ("-"), underscores ("_") or dots (".")'
            )
            % value
        )
    return value


def tambon_tag_string_convert(key: Any, data: dict, errors: dict, context: Any) -> None:
    """Split a comma-separated ``tag_string`` into ``tags`` entries."""
    value = data[key]
    items = value.split(",") if isinstance(value, str) else value
    tags = [tag.strip() for tag in items if tag.strip()]
    last = max([int(k[1]) for k in data if len(k) == 3 and k[0] == "tags"] + [-1])
    for num, tag in zip(count(last + 1), tags):
        data[("tags", num, "name")] = tag
    for tag in tags:
        tag_length_validator(tag, context)
        tag_name_validator(tag, context)


def tambon_tags_required(key: Any, data: dict, errors: dict, context: Any) -> None:
    """Keywords (คำสำคัญ) are required: either ``tag_string`` or a ``tags``
    list must name at least one tag. Both API styles keep working, including
    ``package_patch`` (whose merged dict carries ``tags`` but no
    ``tag_string``). Without a ``tag_string`` the validators after this one
    are skipped."""
    value = data.get(key)
    if not isinstance(value, Missing) and value is not None and str(value).strip(" ,"):
        return
    has_tags = any(
        len(flat_key) == 3
        and flat_key[0] == "tags"
        and flat_key[2] == "name"
        and not isinstance(flat_value, Missing)
        and flat_value
        for flat_key, flat_value in data.items()
    )
    if not has_tags:
        errors[key].append(_("Missing value"))
    raise StopOnError


def tambon_be_year(value: Any, context: Any) -> Any:
    """A year in the Buddhist era as the Thai GDC resource fields hold it (``2563``): four digits from 2400,
    kept as text (an integer would come back from ``package_show`` as a number, unlike what was sent)."""
    if value in (None, "") or isinstance(value, Missing):
        return value
    text = str(value).strip()
    if not (len(text) == 4 and text.isdigit() and text >= "2400"):
        raise Invalid(_("A year in the Buddhist era (B.E.), e.g. 2563"))
    return text


VALIDATORS = {
    "tambon_be_year": tambon_be_year,
    "tag_name_validator": tag_name_validator,
    "tambon_tag_string_convert": tambon_tag_string_convert,
    "tambon_tags_required": tambon_tags_required,
}
