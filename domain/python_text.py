"""Python's own character classes, as data for SQL: what ``str.strip()``, ``\\s``, ``\\d`` and ``int()`` accept.

Python's are Unicode, RE2's and DuckDB's ASCII; the normaliser of received rows
(``pipelines.ingest.normalise``) and the DuckDB validator (``validation.schema_sql``)
both have to agree with Python, so both take these sets from here. Each is one scan
of every code point by Python's own ``re`` (whose ``\\s`` is ``str.isspace()`` and whose ``\\d`` is
category Nd), done once per process: a loop over the code points in Python took half a second.
"""

from __future__ import annotations

import functools
import re

import numpy as np


@functools.cache
def spaces() -> tuple[int, ...]:
    """Code points ``str.isspace()`` holds (``\\s``; what ``str.strip()`` strips)."""
    return _matching(r"\s")


@functools.cache
def decimal_digits() -> tuple[int, ...]:
    """Code points of Unicode category Nd (``\\d``): the digits ``int()`` and ``Decimal`` read."""
    return _matching(r"\d")


def _matching(pattern: str) -> tuple[int, ...]:
    # every code point in order, surrogates included, decoded from UTF-32 at once: a join of a million chr()
    # cost ten times as much (0.13 s against 0.013 s), twice in every process that reads or validates rows
    every_code_point = np.arange(0x110000, dtype="<u4").tobytes().decode("utf-32-le", errors="surrogatepass")
    return tuple(match.start() for match in re.finditer(pattern, every_code_point))


def re2_class(codes: list[int] | tuple[int, ...]) -> str:
    """A RE2 character class (``[\\x{9}-\\x{d}...]``) holding exactly these code points (sorted)."""
    parts: list[str] = []
    start = 0
    for i, code in enumerate(codes):
        if i == 0 or codes[i - 1] != code - 1:
            start = code
        if i + 1 == len(codes) or codes[i + 1] != code + 1:
            parts.append(f"\\x{{{start:x}}}" if start == code else f"\\x{{{start:x}}}-\\x{{{code:x}}}")
    return f"[{''.join(parts)}]"
