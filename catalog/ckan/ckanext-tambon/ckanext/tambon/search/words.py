"""Text as the search index stores it and as a query looks for it: Thai cut into words, the rest left
to PostgreSQL (``tambon_english``: lower case, Snowball stemming, ``villages`` = ``village``, stop
words kept).

Why Thai is cut here: Thai has no spaces between words and PostgreSQL's parsers do not know Thai
words, so a sentence would be one lexeme (or be split at tone marks). PyThaiNLP's dictionary
tokenizer (``newmm``, its dictionary ships in the wheel: nothing is downloaded) cuts it into
dictionary words, at index time and at query time alike, so ``หมู่บ้าน`` finds ``ข้อมูลพื้นฐานหมู่บ้าน``
while ``นา`` no longer finds ``พัฒนา`` (a word of its own). Thai words go into the index as they are
(PostgreSQL's ``simple`` behaviour: no stemming, no stop words).

One derivation is added at index time: a word made with the noun-forming prefixes ``การ`` and
``ความ`` (``การพัฒนา`` "development", ``ความจำเป็น`` "necessity"), which the dictionary keeps whole,
is also indexed as its stem when the stem is a dictionary word, so ``พัฒนา`` finds ``การพัฒนา``.
Splitting other compounds at any dictionary word would bring substring matching back (``ประปา``
would split into ``ประ`` + ``ปา``, ``จังหวัด`` into ``จัง`` + ``หวัด``).

Nothing here imports CKAN: the unit tests run it with a stand-in segmenter and dictionary.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache

Segmenter = Callable[[str], list[str]]
Dictionary = Callable[[str], bool]
NOUN_PREFIXES = ("ความ", "การ")

#: Thai letters, vowels, tone marks and signs (U+0E00..U+0E7F) except the Thai digits, which become ASCII
_THAI_RUN = re.compile(r"[\u0e01-\u0e4f\u0e5a\u0e5b]+")
_THAI_DIGITS = str.maketrans("๐๑๒๓๔๕๖๗๘๙", "0123456789")
#: a Thai token worth indexing holds at least one Thai letter (not only ๆ, ฯ or a stray mark)
_THAI_LETTER = re.compile(r"[\u0e01-\u0e2e]")
#: PostgreSQL keeps positions up to 16383 and lexemes under 2 kB; a dataset's text stays far below
MAX_POSITION = 16383
MAX_LEXEME_BYTES = 2000


def newmm(text: str) -> list[str]:
    """PyThaiNLP's dictionary tokenizer (imported on first use: about 0.3 s to load its dictionary)."""
    from pythainlp.tokenize import word_tokenize

    return word_tokenize(text, engine="newmm", keep_whitespace=False)


@lru_cache(maxsize=4096)
def _cached_newmm(run: str) -> tuple[str, ...]:
    return tuple(newmm(run))


def _default_segmenter(run: str) -> list[str]:
    return list(_cached_newmm(run))


@lru_cache(maxsize=1)
def _thai_words() -> frozenset[str]:
    from pythainlp.corpus.common import thai_words

    return frozenset(thai_words())


def _in_dictionary(word: str) -> bool:
    return word in _thai_words()


def stems(token: str, known: Dictionary | None = None) -> list[str]:
    """The stem of a word made with ``การ``/``ความ``, if the stem is a dictionary word of two or more
    characters (``การพัฒนา`` -> ``พัฒนา``); otherwise nothing."""
    known = known or _in_dictionary
    for prefix in NOUN_PREFIXES:
        stem = token[len(prefix) :]
        if token.startswith(prefix) and len(stem) >= 2 and known(stem):
            return [stem]
    return []


@dataclass(frozen=True)
class Split:
    """A text split for the index: ``latin`` goes to PostgreSQL's english parser, ``thai`` are words;
    ``also`` are (index in ``thai``, stem) pairs indexed at the same position as their word."""

    latin: str
    thai: tuple[str, ...]
    also: tuple[tuple[int, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not self.latin.strip() and not self.thai


def split(text: str, segment: Segmenter | None = None, known: Dictionary | None = None, derive: bool = False) -> Split:
    """Thai runs cut into words; everything else kept, in order, with a space where a Thai run was.
    ``derive``: add the stems of ``การ``/``ความ`` words (index time only: a query for ``การพัฒนา``
    looks for that word, a query for ``พัฒนา`` finds it through its stem)."""
    segment = segment or _default_segmenter
    text = (text or "").translate(_THAI_DIGITS)
    latin: list[str] = []
    thai: list[str] = []
    last = 0
    for match in _THAI_RUN.finditer(text):
        latin.append(text[last : match.start()])
        for token in segment(match.group(0)):
            token = token.strip()
            if token and _THAI_LETTER.search(token) and len(token.encode()) < MAX_LEXEME_BYTES:
                thai.append(token)
        last = match.end()
    latin.append(text[last:])
    also = tuple((i, stem) for i, word in enumerate(thai) for stem in stems(word, known)) if derive else ()
    return Split(" ".join(part.strip() for part in latin if part.strip()), tuple(thai), also)


def split_all(texts: Iterable[str], segment: Segmenter | None = None, known: Dictionary | None = None) -> Split:
    """Several texts (one weight's fields) as one split, for the index (stems derived)."""
    latin: list[str] = []
    thai: list[str] = []
    also: list[tuple[int, str]] = []
    for text in texts:
        if not text:
            continue
        part = split(text, segment, known, derive=True)
        also += [(len(thai) + i, stem) for i, stem in part.also]
        thai += part.thai
        if part.latin:
            latin.append(part.latin)
    return Split(" ".join(latin), tuple(thai), tuple(also))


def quote_lexeme(word: str) -> str:
    """A lexeme in PostgreSQL's tsvector/tsquery text form: in single quotes, ``'`` and ``\\`` doubled."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'"


def tsvector_literal(words: Iterable[str], weight: str, also: Iterable[tuple[int, str]] = ()) -> str:
    """Thai words as a tsvector (``'หมู่บ้าน':1A,5A ...``) with positions, so that a word that appears
    often and in a heavy field ranks higher; ``also``: (index, stem) pairs put at their word's
    position. No parser involved."""
    positions: dict[str, list[int]] = {}
    for position, word in enumerate(words, start=1):
        positions.setdefault(word, []).append(min(position, MAX_POSITION))
    for index, word in also:
        positions.setdefault(word, []).append(min(index + 1, MAX_POSITION))
    return " ".join(
        f"{quote_lexeme(w)}:{','.join(f'{p}{weight}' for p in sorted(set(ps))[:256])}" for w, ps in positions.items()
    )


def tsquery_literal(words: Iterable[str], operator: str = "&", prefix: bool = False) -> str:
    """Thai words as a tsquery (``'ครัว' & 'เรือน'``); ``prefix`` marks the last one ``:*``."""
    quoted = [quote_lexeme(w) for w in words]
    if prefix and quoted:
        quoted[-1] += ":*"
    return f" {operator} ".join(quoted)
