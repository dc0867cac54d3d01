"""The Solr query syntax our search accepts (ckanext-tambon ``search/parser.py``, no CKAN needed):
field names with ``-``, fuzzy terms, boosts and prefixes, which CKAN's own search tests send."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SEARCH = Path(__file__).resolve().parents[2] / "catalog/ckan/ckanext-tambon/ckanext/tambon/search"
spec = importlib.util.spec_from_file_location("tambon_search_parser", SEARCH / "parser.py")
qp = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = qp
spec.loader.exec_module(qp)


def test_field_names_may_hold_a_dash():
    assert qp.parse("vocab_my-vocab:tag1") == qp.Field("vocab_my-vocab", "tag1")
    assert qp.parse("-vocab_my-vocab:tag1") == qp.Not(qp.Field("vocab_my-vocab", "tag1"))


def test_fuzzy_terms():
    assert qp.parse("villag~") == qp.Text("villag", fuzzy=True)
    assert qp.parse("villag~2") == qp.Text("villag", fuzzy=True)
    assert qp.parse("villag") == qp.Text("villag")


def test_boosts_are_kept_on_free_text():
    assert qp.parse("village^4") == qp.Text("village", boost=4.0)
    assert qp.parse('"basic data"^2') == qp.Text("basic data", phrase=True, boost=2.0)
    assert qp.parse("village^0") == qp.Text("village")  # not a positive factor: ignored


def test_prefix_terms():
    assert qp.parse("vill*") == qp.Text("vill", prefix=True)
    assert qp.parse("v*ll") == qp.Text("vll")  # inner wildcards are dropped, as before


def test_numeric_ranges_keep_their_ends():
    assert qp.parse("num_resources:[5 TO 10]") == qp.Range("num_resources", "5", "10")
    assert qp.parse("num_resources:{5 TO *]") == qp.Range("num_resources", "5", None, False, True)
