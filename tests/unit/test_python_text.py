"""The character classes the normaliser and the validator share are Python's own, code point for code point."""

import unicodedata

from domain.python_text import decimal_digits, spaces


def test_spaces_are_what_str_isspace_holds():
    assert spaces() == tuple(c for c in range(0x110000) if chr(c).isspace())
    assert 0x0E00 not in spaces() and 0x00A0 in spaces()  # a Thai letter is none; a no-break space is one


def test_decimal_digits_are_category_nd():
    assert decimal_digits() == tuple(c for c in range(0x110000) if unicodedata.category(chr(c)) == "Nd")
    assert set(range(0x0E50, 0x0E5A)) <= set(decimal_digits())  # Thai digits ๐-๙ are read as digits
