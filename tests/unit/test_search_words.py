"""The search index's word handling (ckanext-tambon ``search/words.py``), without CKAN or PyThaiNLP:
a stand-in segmenter and dictionary play newmm's part (the real tokenizer is exercised against the
real CKAN in tests/integration/test_ckan_search_words.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

SEARCH = Path(__file__).resolve().parents[2] / "catalog/ckan/ckanext-tambon/ckanext/tambon/search"


def load(name: str) -> ModuleType:
    """One module of the extension's search package by its path (the package itself imports CKAN)."""
    spec = importlib.util.spec_from_file_location(f"tambon_search_{name}", SEARCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


words = load("words")
DICTIONARY = ["ข้อมูล", "พื้นฐาน", "หมู่บ้าน", "การพัฒนา", "พัฒนา", "ชุมชน", "นา", "ความจำเป็น", "จำเป็น", "ทุ่ง"]


def segment(run: str) -> list[str]:
    """Longest dictionary word first, else one character (a crude newmm, enough for these texts)."""
    out, i = [], 0
    while i < len(run):
        match = max((w for w in DICTIONARY if run.startswith(w, i)), key=len, default=run[i])
        out.append(match)
        i += len(match)
    return out


def known(word: str) -> bool:
    return word in DICTIONARY


def test_thai_runs_are_cut_into_words_and_the_rest_is_left_to_postgresql():
    split = words.split("ข้อมูลพื้นฐานหมู่บ้าน Village profile, 2563-10", segment)
    assert split.thai == ("ข้อมูล", "พื้นฐาน", "หมู่บ้าน")
    assert split.latin == "Village profile, 2563-10"


def test_thai_digits_become_ascii_and_marks_alone_are_dropped():
    split = words.split("จังหวัด ๔๗ ๆ", lambda run: [run])
    assert split.latin == "47"
    assert split.thai == ("จังหวัด",)  # "ๆ" alone holds no Thai letter


def test_a_word_inside_another_is_not_a_match():
    # substring matching found นา inside พัฒนา; as words, พัฒนา is one word and นา another
    assert "นา" not in words.split("การพัฒนาชุมชน", segment).thai
    assert "นา" in words.split("ทุ่งนา", segment).thai


def test_noun_prefix_words_also_index_their_stem_at_the_same_position():
    split = words.split_all(["ข้อมูลการพัฒนา", "ความจำเป็นพื้นฐาน"], segment, known)
    assert split.thai == ("ข้อมูล", "การพัฒนา", "ความจำเป็น", "พื้นฐาน")
    assert split.also == ((1, "พัฒนา"), (2, "จำเป็น"))
    literal = words.tsvector_literal(split.thai, "A", split.also)
    assert "'การพัฒนา':2A" in literal and "'พัฒนา':2A" in literal and "'จำเป็น':3A" in literal


def test_stems_need_a_dictionary_word_of_two_characters():
    assert words.stems("การพัฒนา", known) == ["พัฒนา"]
    assert words.stems("การx", known) == []  # not a word
    assert words.stems("พัฒนา", known) == []  # no prefix
    assert words.split("การพัฒนา", segment, known).also == ()  # queries look for the word as typed


def test_repeated_words_keep_every_position():
    literal = words.tsvector_literal(["หมู่บ้าน", "ราย", "หมู่บ้าน"], "B")
    assert literal == "'หมู่บ้าน':1B,3B 'ราย':2B"


@pytest.mark.parametrize(
    ("word", "quoted"),
    [("it's", "'it''s'"), ("a\\b", "'a\\\\b'"), ("หมู่บ้าน", "'หมู่บ้าน'")],
)
def test_lexemes_are_quoted_for_postgresql(word, quoted):
    assert words.quote_lexeme(word) == quoted


def test_tsquery_literals():
    assert words.tsquery_literal(["ครัว", "เรือน"]) == "'ครัว' & 'เรือน'"
    assert words.tsquery_literal(["อำเภอ", "ต้นแบบ"], "<->") == "'อำเภอ' <-> 'ต้นแบบ'"
    assert words.tsquery_literal(["หมู่"], prefix=True) == "'หมู่':*"
