"""Bytes to text for CSV files, and which kind of container a file is.

The encoding is decided from the whole file, never a sample: a cp874 file can
be pure ASCII for thousands of rows before its first Thai village name.
"""

from __future__ import annotations

from pipelines.ingest.problems import FileProblem

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls / .doc, and password-protected .xlsx


def container(data: bytes) -> str:
    """'zip' (xlsx, ods), 'ole2' (xls), or 'text'; raises for formats we do not take."""
    if not data or data.isspace():  # what ``not data.strip()`` says, without copying the file
        raise FileProblem("empty_file")
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    if data.startswith(OLE2):
        return "ole2"
    if data.startswith(b"%PDF"):
        raise FileProblem("unsupported_format", "PDF")
    return "text"


def sniff_container(data: bytes) -> str:
    """'zip' (xlsx), or 'text'; raises for every other format (the reader before .xls was read)."""
    kind = container(data)
    if kind == "ole2":
        raise FileProblem("unsupported_format", "Excel 97-2003 .xls / Word .doc")
    return kind


def decode_text(data: bytes) -> tuple[str, str]:
    """Return (text, encoding name) for UTF-8 with BOM, UTF-8 or Windows-874."""
    if data.startswith(_UTF16_BOMS):
        raise FileProblem("unknown_encoding")
    candidates = ("utf-8-sig",) if data.startswith(b"\xef\xbb\xbf") else ("utf-8", "cp874")
    for encoding in candidates:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError as exc:
            _raise_if_cut_short(data, exc)
            continue
        if b"\x00" in data:  # the same as a NUL in the text: only byte 0 decodes to it, in each encoding
            raise FileProblem("nul_bytes", f"{data.index(0):,}")
        return text, encoding
    raise FileProblem("unknown_encoding")


def _raise_if_cut_short(data: bytes, exc: UnicodeDecodeError) -> None:
    """A UTF-8 file whose only fault is a character cut off at its very end was truncated in transit.

    Reading it as Windows-874 would turn its Thai into nonsense, and reading all but the cut
    character would pass a cut last row for a whole one: the file is rejected as incomplete.
    (A file of plain ASCII ending in one high byte may still be Windows-874, so it is left to that.)
    """
    cut_short = exc.encoding.startswith("utf-8") and exc.reason == "unexpected end of data" and exc.end == len(data)
    if cut_short and not data[: exc.start].isascii():
        raise FileProblem("truncated_file", f"{len(data):,}")
