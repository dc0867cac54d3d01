"""Bytes to text for CSV files.

The encoding is decided from the whole file, never a sample: a cp874 file can
be pure ASCII for thousands of rows before its first Thai village name.
"""

from __future__ import annotations

from pipelines.ingest.problems import FileProblem

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc


def sniff_container(data: bytes) -> str:
    """'zip' (xlsx), or 'text'; raises for formats we do not take."""
    if not data.strip():
        raise FileProblem("empty_file")
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(_OLE2):
        raise FileProblem("unsupported_format", "Excel 97-2003 .xls / Word .doc")
    if data.startswith(b"%PDF"):
        raise FileProblem("unsupported_format", "PDF")
    return "text"


def decode_text(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name) for UTF-8 with BOM, UTF-8 or Windows-874."""
    if data.startswith(_UTF16_BOMS):
        raise FileProblem("unknown_encoding")
    candidates = ("utf-8-sig",) if data.startswith(b"\xef\xbb\xbf") else ("utf-8", "cp874")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise FileProblem("unknown_encoding")
        return text, encoding
    raise FileProblem("unknown_encoding")
