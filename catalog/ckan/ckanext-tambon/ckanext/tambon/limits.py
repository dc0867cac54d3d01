"""Caps on what one search request may ask for, checked before anything reaches the database.

Why: our ``package_search`` is SQL built from the query. Without caps a
``q`` of a few hundred words made PostgreSQL plan a statement so large that
it used 16 GB and was killed, 100–200 words overflowed Python's stack while
the SQL was built (HTTP 500), and 400 words ran for minutes. Solr has its
own limits (``maxBooleanClauses``); these are ours. Every cap is far above
what a person types, is set in ckan.ini (``ckanext.tambon.search.*``), and
when passed answers HTTP 400 with a Thai and English message (CKAN turns
``SearchQueryError`` into 400, on the API and on the search page).

The checks are linear scans of the raw text: nothing here recurses, so the
nesting cap is enforced before the (recursive) parser ever sees the query.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import ckan.plugins.toolkit as toolkit
from ckan.common import config
from ckan.lib.search.common import SearchQueryError

from .search import parser

#: (config key under ``ckanext.tambon.search.``, default, meaning)
SEARCH_CAPS: tuple[tuple[str, int, str], ...] = (
    ("max_length", 1000, "longest q, fq (each), sort or autocomplete q, in characters"),
    ("max_terms", 32, "most terms (words, phrases, field:value, ranges) in q, and in fq and fq_list together"),
    ("max_depth", 8, "deepest nesting of parentheses and NOT/-/+ prefixes"),
    ("max_rows", 1000, "most results per page (rows; resource_search limit)"),
    ("max_start", 100000, "largest offset (start; resource_search offset)"),
    ("max_fields", 50, "most entries in facet.field, fl, fq_list and sort"),
)
#: (config key under ``ckanext.tambon.``, default, meaning) for request bodies and the DataStore.
OTHER_CAPS: tuple[tuple[str, int, str], ...] = (
    ("api.max_body_bytes", 1024 * 1024, "largest request body, except uploads and DataStore writes"),
    ("api.datastore_max_body_bytes", 64 * 1024 * 1024, "largest body of datastore_create/upsert (with a token)"),
    ("datastore.search_timeout_ms", 5000, "statement timeout of datastore_search, in milliseconds"),
    # under gunicorn's 60 s worker timeout, so a load that cannot finish is rolled back, not killed
    ("datastore.load_timeout_ms", 55000, "statement timeout of the publisher's round load (tambon_datastore_load)"),
)

# Solr local parameters ({!func}...) and magic fields (_query_:, _val_:), which
# CKAN refuses; backslashes are ignored so that \_query\_: is caught too.
_LOCAL_PARAMS = "{!"
_MAGIC_FIELD = re.compile(r"(?<![\w])_(?:query|val)_\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class SearchCaps:
    max_length: int
    max_terms: int
    max_depth: int
    max_rows: int
    max_start: int
    max_fields: int


def search_caps() -> SearchCaps:
    """The caps in force (ckan.ini, else the defaults above)."""
    values = {}
    for name, default, _meaning in SEARCH_CAPS:
        values[name] = _positive_int(config.get(f"ckanext.tambon.search.{name}"), default)
    return SearchCaps(**values)


def other_cap(name: str) -> int:
    default = next(d for n, d, _m in OTHER_CAPS if n == name)
    return _positive_int(config.get(f"ckanext.tambon.{name}"), default)


def _positive_int(value: Any, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def refuse(thai: str, english: str) -> SearchQueryError:
    """The error CKAN answers with HTTP 400: Thai first, English beside it."""
    return SearchQueryError(f"{thai} / {english}")


# ------------------------------------------------------------------ text --


def _as_text(value: Any) -> str:
    """A parameter as CKAN's ``unicode_safe`` would make it a string."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def check_text(param: str, value: Any, caps: SearchCaps) -> str:
    """Length, NUL bytes and Solr local parameters: the checks every query string gets."""
    text = _as_text(value)
    if len(text) > caps.max_length:
        raise refuse(
            f"{param} ยาวเกินไป: {len(text):,} ตัวอักษร (ไม่เกิน {caps.max_length:,})",
            f"{param} is too long: {len(text):,} characters (at most {caps.max_length:,})",
        )
    if "\x00" in text:
        raise refuse(f"{param} มีอักขระ NUL ซึ่งใช้ไม่ได้", f"{param} contains a NUL character, which is not allowed")
    unescaped = text.replace("\\", "")
    if _LOCAL_PARAMS in text or _MAGIC_FIELD.search(unescaped):
        raise refuse(
            f"ไม่รองรับพารามิเตอร์เฉพาะของ Solr ({{!...}}, _query_:, _val_:) ใน {param}",
            f"Solr local parameters and magic fields ({{!...}}, _query_:, _val_:) are not supported in {param}",
        )
    return text


def measure(query: str) -> tuple[int, int]:
    """(terms, nesting depth) of a query in our Solr syntax, without recursion.

    A query that does not tokenize (an unbalanced quote or range) counts as
    the words that ``parser.parse_text_fallback`` would search for.
    """
    try:
        tokens = parser._tokenize(query)
    except parser.ParseError:
        words = [w for w in re.split(r'[\s()\[\]{}"]+', query) if w.strip("+-!*?:")]
        return len(words), 0
    terms = depth = deepest = prefixes = 0
    for token in tokens:
        if token.kind in ("WORD", "PHRASE", "RANGE"):
            terms += 1
        if token.kind == "LPAREN":
            depth += 1
        elif token.kind == "RPAREN":
            depth = max(depth - 1, 0)
        # a run of NOT/-/+ prefixes nests like parentheses in the parser
        prefixes = prefixes + 1 if token.kind in ("NOT", "MINUS", "PLUS") else 0
        deepest = max(deepest, depth + prefixes)
    return terms, deepest


def check_query(param: str, value: Any, caps: SearchCaps) -> tuple[int, int]:
    text = check_text(param, value, caps)
    terms, depth = measure(text)
    if depth > caps.max_depth:
        raise refuse(
            f"{param} ซ้อนวงเล็บหรือ NOT ลึกเกินไป: {depth} ชั้น (ไม่เกิน {caps.max_depth})",
            f"{param} is nested too deeply: {depth} levels (at most {caps.max_depth})",
        )
    return terms, depth


def _check_terms(param: str, terms: int, caps: SearchCaps) -> None:
    if terms > caps.max_terms:
        raise refuse(
            f"{param} มีคำค้นมากเกินไป: {terms:,} คำ (ไม่เกิน {caps.max_terms})",
            f"{param} has too many terms: {terms:,} (at most {caps.max_terms})",
        )


def _as_list(value: Any) -> list[Any]:
    """A list parameter as CKAN accepts it: a list, a JSON list, or one string."""
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    if isinstance(value, str) and value.startswith("["):
        try:
            loaded = json.loads(value)
        except ValueError:
            return [value]
        except RecursionError:  # [[[[... thousands deep: not a list of fields
            raise refuse("รายการซ้อนลึกเกินไป", "The list is nested too deeply") from None
        return loaded if isinstance(loaded, list) else [value]
    return [value]


def _check_count(param: str, items: Iterable[Any], caps: SearchCaps) -> None:
    count = len(list(items))
    if count > caps.max_fields:
        raise refuse(
            f"{param} มีรายการมากเกินไป: {count:,} (ไม่เกิน {caps.max_fields})",
            f"{param} has too many entries: {count:,} (at most {caps.max_fields})",
        )


def _check_number(param: str, value: Any, cap: int) -> None:
    """Only the upper bound: CKAN's own validators refuse what is not a natural number."""
    try:
        number = int(_as_text(value).strip())
    except ValueError:
        return
    if number > cap:
        raise refuse(
            f"{param} มากเกินไป: {number:,} (ไม่เกิน {cap:,})",
            f"{param} is too large: {number:,} (at most {cap:,})",
        )


# --------------------------------------------------------------- actions --


def check_package_search(data_dict: dict[str, Any]) -> None:
    """Every cap on a ``package_search`` call, on its parameters as sent."""
    caps = search_caps()
    if data_dict.get("q") not in (None, ""):
        terms, _depth = check_query("q", data_dict["q"], caps)
        _check_terms("q", terms, caps)
    filters = [data_dict.get("fq")] if data_dict.get("fq") not in (None, "") else []
    fq_list = _as_list(data_dict.get("fq_list"))
    _check_count("fq_list", fq_list, caps)
    filter_terms = 0
    for value in filters + fq_list:
        filter_terms += check_query("fq", value, caps)[0]
    _check_terms("fq", filter_terms, caps)
    if data_dict.get("sort") not in (None, ""):
        sort = check_text("sort", data_dict["sort"], caps)
        _check_count("sort", sort.split(","), caps)
        for part in sort.split(","):
            if len(part.split()) == 1:
                raise refuse(
                    f"sort ต้องระบุทิศทาง asc หรือ desc ต่อจากชื่อฟิลด์: {part.strip()!r}",
                    f"sort needs asc or desc after the field name: {part.strip()!r}",
                )
    for param in ("facet.field", "fl"):
        items = _as_list(data_dict.get(param))
        if param == "fl" and len(items) == 1 and isinstance(items[0], str):
            items = items[0].replace(",", " ").split()
        _check_count(param, items, caps)
        for item in items:
            check_text(param, item, caps)
    if data_dict.get("rows") is not None:
        _check_number("rows", data_dict["rows"], caps.max_rows)
    if data_dict.get("start") is not None:
        _check_number("start", data_dict["start"], caps.max_start)
    for param in ("qf", "facet", "facet.limit", "facet.mincount"):
        if data_dict.get(param) is not None:
            check_text(param, data_dict[param], caps)


def check_autocomplete(data_dict: dict[str, Any]) -> None:
    """``*_autocomplete``: q is matched with LIKE, so only its length and bytes matter."""
    caps = search_caps()
    for param in ("q", "incomplete"):
        if data_dict.get(param) is not None:
            check_text(param, data_dict[param], caps)
    if data_dict.get("limit") is not None:
        _check_number("limit", data_dict["limit"], caps.max_rows)


def check_resource_search(data_dict: dict[str, Any]) -> dict[str, Any]:
    """``resource_search``: each ``field:value`` is a LIKE; at most max_terms of them, and a page
    of at most max_rows (CKAN's default is every match: here it becomes max_rows)."""
    caps = search_caps()
    queries = data_dict.get("query")
    items = queries if isinstance(queries, (list, tuple)) else ([] if queries is None else [queries])
    _check_terms("query", len(items), caps)
    for item in items:
        check_text("query", item, caps)
    if data_dict.get("order_by") is not None:
        check_text("order_by", data_dict["order_by"], caps)
    if data_dict.get("offset") is not None:
        _check_number("offset", data_dict["offset"], caps.max_start)
    if data_dict.get("limit") in (None, ""):
        data_dict = {**data_dict, "limit": caps.max_rows}
    else:
        _check_number("limit", data_dict["limit"], caps.max_rows)
    return data_dict


def refused_search_page(error: SearchQueryError) -> tuple[str, int, dict[str, str]]:
    """Flask error handler: a refused search on a page that does not catch it is a 400 with the reason."""
    reason = " ".join(str(arg) for arg in error.args)
    text = f"คำค้นไม่ถูกต้อง / Invalid search query: {reason}\n"
    return text, 400, {"Content-Type": "text/plain; charset=utf-8"}


# ------------------------------------------------------- chained actions --
# (CKAN resolves chains after every plugin's own actions, so the DataStore's
# and the activity plugin's actions can be chained from here.)

AUTOCOMPLETE_ACTIONS = (
    "package_autocomplete",
    "format_autocomplete",
    "tag_autocomplete",
    "user_autocomplete",
    "group_autocomplete",
    "organization_autocomplete",
)


@toolkit.chained_action
@toolkit.side_effect_free
def package_search(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    """``package_search`` with the caps checked on the parameters as sent (before CKAN's defaults
    and the permission filters are added, and before the database is touched)."""
    check_package_search(data_dict)
    return original(context, data_dict)


@toolkit.chained_action
@toolkit.side_effect_free
def resource_search(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
    return original(context, check_resource_search(data_dict))


def _chained_autocomplete(name: str) -> Callable[..., Any]:
    def action(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
        check_autocomplete(data_dict)
        return original(context, data_dict)

    action.__name__ = name
    action.__doc__ = f"``{name}`` with the length of q capped."
    return toolkit.chained_action(toolkit.side_effect_free(action))


def _chained_datastore_search(name: str) -> Callable[..., Any]:
    def action(original: Callable[..., Any], context: dict[str, Any], data_dict: dict[str, Any]) -> Any:
        # CKAN's DataStore runs its searches with SET LOCAL statement_timeout = context["query_timeout"]
        # (60 s unless given): a few seconds are enough for any page of a table here.
        context.setdefault("query_timeout", other_cap("datastore.search_timeout_ms"))
        return original(context, data_dict)

    action.__name__ = name
    action.__doc__ = f"``{name}`` with a statement timeout of ckanext.tambon.datastore.search_timeout_ms."
    return toolkit.chained_action(toolkit.side_effect_free(action))


def chained_actions(datastore: bool) -> dict[str, Callable[..., Any]]:
    actions: dict[str, Callable[..., Any]] = {"package_search": package_search, "resource_search": resource_search}
    actions.update({name: _chained_autocomplete(name) for name in AUTOCOMPLETE_ACTIONS})
    if datastore:
        # (datastore_search_sql exists only when ckan.datastore.sqlsearch.enabled, off here)
        actions["datastore_search"] = _chained_datastore_search("datastore_search")
    return actions
