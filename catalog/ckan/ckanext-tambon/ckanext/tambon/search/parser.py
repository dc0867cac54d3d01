"""Parse the subset of Solr/Lucene query syntax that CKAN and its extensions send.

Handled: bare words and ``"quoted phrases"`` (free text), ``field:value``,
``field:"quoted value"``, ``field:(a OR b)``, ranges ``field:[X TO Y]`` and
``{X TO Y}`` (``*`` for open ends), ``field:*`` (has a value), ``*:*``,
wildcards ``*``/``?`` inside values, ``+``/``-``/``!``/``NOT`` prefixes,
``AND``/``OR``/``&&``/``||`` and parentheses. Adjacent clauses are AND-ed
(CKAN runs Solr with ``q.op=AND``). Field names may hold ``-`` (vocabulary tags:
``vocab_my-vocab:x``). A free-text word may end in ``*`` (prefix), ``~`` or ``~N``
(fuzzy: similar words) and ``^N`` (boost: its relevance times N). Local params
(``{!...}``) raise; a boost on a group or a field clause is dropped.

The result is a small tree of the node classes below; ``sql.py`` turns it
into SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "And",
    "Field",
    "MatchAll",
    "Node",
    "Not",
    "Or",
    "ParseError",
    "Range",
    "Text",
    "parse",
    "parse_text_fallback",
]


class ParseError(ValueError):
    """The query is not in the supported syntax."""


@dataclass(frozen=True)
class MatchAll:
    pass


@dataclass(frozen=True)
class Text:
    """Free text: matched against the dataset's words (``sql.text_query``). ``prefix``: the word
    ended in ``*``; ``fuzzy``: it ended in ``~`` (similar words match); ``phrase``: it was quoted;
    ``boost``: its ``^N``."""

    value: str
    prefix: bool = False
    fuzzy: bool = False
    phrase: bool = False
    boost: float = 1.0


@dataclass(frozen=True)
class Field:
    """``name:value``. ``value`` may contain ``*``/``?`` wildcards when
    ``wildcard`` is true; ``value`` None means "has any value"."""

    name: str
    value: str | None
    wildcard: bool = False
    phrase: bool = False


@dataclass(frozen=True)
class Range:
    name: str
    low: str | None  # None = open
    high: str | None
    include_low: bool = True
    include_high: bool = True


@dataclass(frozen=True)
class And:
    children: tuple


@dataclass(frozen=True)
class Or:
    children: tuple


@dataclass(frozen=True)
class Not:
    child: Node


Node = MatchAll | Text | Field | Range | And | Or | Not

# ----------------------------------------------------------------- tokens --

_SPECIAL = set('()[]{}"')
_FIELD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*|\*):")
_SUFFIX_RE = re.compile(r"^(.*?)(~[0-9.]*)?(\^[0-9.]+)?$", re.DOTALL)


@dataclass
class _Tok:
    kind: str  # WORD PHRASE FIELD LPAREN RPAREN RANGE OP PLUS MINUS NOT
    value: str = ""
    extra: tuple = ()


def _read_quoted(s: str, i: int) -> tuple[str, int]:
    """s[i] is the opening quote; return (unescaped text, index after quote)."""
    out = []
    i += 1
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise ParseError("unbalanced quote")


def _read_word(s: str, i: int) -> tuple[str, bool, int]:
    """Read a bare word; return (unescaped word, has_unescaped_wildcard, end)."""
    out = []
    wildcard = False
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c.isspace() or c in "()" or c == '"':
            break
        if c in "*?":
            wildcard = True
            # keep a marker the SQL layer can tell from an escaped "*"
            out.append("\x00" if c == "*" else "\x01")
            i += 1
            continue
        out.append(c)
        i += 1
    return "".join(out), wildcard, i


def _read_range(s: str, i: int) -> tuple[_Tok, int]:
    opener = s[i]
    ends = [j for j in (s.find("]", i), s.find("}", i)) if j != -1]
    if not ends:
        raise ParseError("unclosed range")
    depth_end = min(ends)
    body = s[i + 1 : depth_end].strip()
    parts = re.split(r"\s+TO\s+", body)
    if len(parts) != 2:
        raise ParseError(f"bad range: {s[i : depth_end + 1]}")
    low, high = (p.strip().strip('"') for p in parts)
    tok = _Tok(
        "RANGE",
        extra=(
            None if low == "*" else low.replace("\\", ""),
            None if high == "*" else high.replace("\\", ""),
            opener == "[",
            s[depth_end] == "]",
        ),
    )
    return tok, depth_end + 1


def _tokenize(s: str) -> list[_Tok]:
    if "{!" in s:
        raise ParseError("local parameters are not supported")
    toks: list[_Tok] = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if c == "(":
            toks.append(_Tok("LPAREN"))
            i += 1
            continue
        if c == ")":
            toks.append(_Tok("RPAREN"))
            i += 1
            # drop a boost such as )^2
            m = re.match(r"\^[0-9.]+", s[i:])
            if m:
                i += m.end()
            continue
        if c in "[{":
            tok, i = _read_range(s, i)
            toks.append(tok)
            continue
        if c == '"':
            text, i = _read_quoted(s, i)
            m = re.match(r"(?:~[0-9]*)?(\^[0-9.]+)?", s[i:])
            boost = _boost(m.group(1)) if m and m.group(1) else 1.0
            if m:  # proximity: ignored
                i += m.end()
            toks.append(_Tok("PHRASE", text, (boost,)))
            continue
        if s.startswith("&&", i) or s.startswith("||", i):
            toks.append(_Tok("OP", "AND" if c == "&" else "OR"))
            i += 2
            continue
        if c in "+-!" and i + 1 < n and not s[i + 1].isspace():
            toks.append(_Tok({"+": "PLUS", "-": "MINUS", "!": "NOT"}[c]))
            i += 1
            continue
        m = _FIELD_RE.match(s, i)
        if m and (i == 0 or not s[i - 1].isalnum()):
            toks.append(_Tok("FIELD", m.group(1)))
            i = m.end()
            continue
        word, wildcard, i = _read_word(s, i)
        if not word:  # a lone special character such as "]"
            i += 1
            continue
        m = _SUFFIX_RE.match(word)
        fuzzy, boost = False, 1.0
        if m and m.group(1) and (m.group(2) or m.group(3)):
            word, fuzzy, boost = m.group(1), bool(m.group(2)), _boost(m.group(3))
        if word in ("AND", "OR"):
            toks.append(_Tok("OP", word))
        elif word == "NOT":
            toks.append(_Tok("NOT"))
        else:
            toks.append(_Tok("WORD", word, (wildcard, fuzzy, boost)))
    return toks


def _boost(text: str | None) -> float:
    """``^N`` as a factor; a boost that is not a positive number counts as 1."""
    try:
        value = float((text or "").lstrip("^"))
    except ValueError:
        return 1.0
    return value if 0 < value < 1e6 else 1.0


# ----------------------------------------------------------------- parser --


class _Parser:
    def __init__(self, toks: list[_Tok]):
        self.toks = toks
        self.pos = 0

    def peek(self) -> _Tok | None:
        return self.toks[self.pos] if self.pos < len(self.toks) else None

    def take(self) -> _Tok:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Node:
        node = self.expr(None)
        if self.peek() is not None:
            raise ParseError("unexpected ')'")
        return node

    def expr(self, field: str | None) -> Node:
        """OR of AND-groups, until ')' or the end."""
        groups = [self.and_group(field)]
        while (tok := self.peek()) is not None and tok.kind == "OP" and tok.value == "OR":
            self.take()
            groups.append(self.and_group(field))
        groups = [g for g in groups if g is not None]
        if not groups:
            return MatchAll()
        return groups[0] if len(groups) == 1 else Or(tuple(groups))

    def and_group(self, field: str | None) -> Node | None:
        items: list[Node] = []
        while (tok := self.peek()) is not None:
            if tok.kind == "RPAREN":
                break
            if tok.kind == "OP":
                if tok.value == "OR":
                    break
                self.take()  # explicit AND: same as adjacency
                continue
            items.append(self.unary(field))
        if not items:
            return None
        return items[0] if len(items) == 1 else And(tuple(items))

    def unary(self, field: str | None) -> Node:
        tok = self.peek()
        if tok.kind in ("MINUS", "NOT"):
            self.take()
            return Not(self.unary(field))
        if tok.kind == "PLUS":
            self.take()
            return self.unary(field)
        return self.primary(field)

    def primary(self, field: str | None) -> Node:
        tok = self.take()
        if tok.kind == "LPAREN":
            node = self.expr(field)
            if self.peek() is None or self.peek().kind != "RPAREN":
                raise ParseError("missing ')'")
            self.take()
            return node
        if tok.kind == "FIELD":
            if field is not None:
                raise ParseError("nested field")
            nxt = self.peek()
            if nxt is None:
                raise ParseError(f"no value for {tok.value}:")
            if tok.value == "*":
                # *:* (or *:anything) matches every dataset
                self.take()
                return MatchAll()
            if nxt.kind in ("LPAREN", "MINUS", "NOT", "PLUS"):
                return self.unary(tok.value)
            return self.primary(tok.value)
        if tok.kind == "RANGE":
            if field is None:
                raise ParseError("range without a field")
            low, high, inc_low, inc_high = tok.extra
            return Range(field, low, high, inc_low, inc_high)
        if tok.kind == "PHRASE":
            if field is None or field == "text":
                return Text(tok.value, phrase=True, boost=tok.extra[0] if tok.extra else 1.0)
            return Field(field, tok.value, phrase=True)
        if tok.kind == "WORD":
            wildcard, fuzzy, boost = tok.extra
            value = tok.value
            if field is None or field == "text":
                if wildcard and value.strip("\x00\x01") == "":
                    return MatchAll()
                prefix = wildcard and value.endswith("\x00")
                return Text(value.replace("\x00", "").replace("\x01", ""), prefix=prefix, fuzzy=fuzzy, boost=boost)
            if wildcard and value == "\x00":
                return Field(field, None)
            return Field(field, value, wildcard=wildcard)
        raise ParseError(f"unexpected token {tok.kind}")


def parse(query: str | None) -> Node:
    """Parse a q or fq string; empty, ``*:*``, ``""`` match everything."""
    if query is None:
        return MatchAll()
    query = query.strip()
    if query in ("", '""', "''", "*:*", "*"):
        return MatchAll()
    return _Parser(_tokenize(query)).parse()


def parse_text_fallback(query: str) -> Node:
    """For a user's q that is not valid syntax: its words, AND-ed, as text."""
    words = [w for w in re.split(r'[\s()\[\]{}"]+', query) if w.strip("+-!*?:")]
    words = [w.lstrip("+-!") for w in words]
    if not words:
        return MatchAll()
    nodes = tuple(Text(w) for w in words)
    return nodes[0] if len(nodes) == 1 else And(nodes)
