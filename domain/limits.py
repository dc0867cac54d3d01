"""How big a file, a workbook and a cell may be, and what ingest does with a cell that is too long.

A file an office sends can be anything: a million-character cell, a workbook that
claims a million rows by sixteen thousand columns, a zip archive that unpacks to
terabytes. Each limit turns such a file into a rejected file or a quarantined row
with a reason, instead of a round that stops or a process that runs out of memory.

The limits are data: a collection may set any of them under ``limits:`` in its
``dataset.yaml``; the defaults below hold otherwise.

A cell longer than ``max_cell_length`` characters is cut by ingest to that many
characters followed by a mark giving its original length (:func:`cut_cell`, applied to a
whole table by ``pipelines/ingest/long_cells.py``), so a
10-million-character cell costs a few kilobytes from then on; validation quarantines its
row as ``value_too_long`` with the length read back from the mark. The raw file stays
in the archive byte for byte, so nothing is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields
from typing import Any

from domain.declarations import DatasetSpec, DeclarationError


@dataclass(frozen=True)
class Limits:
    """Every limit ingest and validation enforce; each can be set in ``dataset.yaml`` under ``limits:``."""

    #: characters in one cell; a longer cell quarantines its row (``value_too_long``)
    max_cell_length: int = 4_000
    #: bytes in one landed file; a larger file is archived and rejected unread (``file_too_large``)
    max_file_bytes: int = 256 * 1024 * 1024
    #: cells in one CSV line (Excel itself stops at 16,384 columns)
    max_columns: int = 16_384
    #: bytes a workbook's zip members declare they unpack to, all together
    max_unzipped_bytes: int = 1024 * 1024 * 1024
    #: uncompressed / compressed size of one large member (spreadsheet XML is about 10 to 20)
    max_zip_ratio: int = 500
    #: members in one workbook archive
    max_zip_members: int = 10_000
    #: rows x columns of the rectangle a worksheet spans (calamine allocates all of it)
    max_sheet_cells: int = 20_000_000


DEFAULT_LIMITS = Limits()


def limits_for(spec: DatasetSpec) -> Limits:
    """The collection's limits: ``limits:`` of its ``dataset.yaml`` over the defaults."""
    declared: dict[str, Any] = spec.raw.get("limits") or {}
    known = {f.name for f in fields(Limits)}
    unknown = sorted(set(declared) - known)
    if unknown:
        raise DeclarationError(f"{spec.name}: unknown limits {unknown} (known: {sorted(known)})")
    for name, value in declared.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise DeclarationError(f"{spec.name}: limits.{name} must be a positive whole number, not {value!r}")
    return Limits(**declared)


# --- Cells too long to keep ------------------------------------------------------------------------------------

#: What follows the first ``max_cell_length`` characters of a cell that was longer. Read back by
#: validation (:data:`CUT_LENGTH_PATTERN`) to say how long the cell was in the file.
CUT_MARK = " …[ตัดเหลือ {kept:,} จาก {length:,} ตัวอักษร / cut to {kept:,} of {length:,} characters]"
#: The original length in a cut cell, as a regular expression both Python and RE2 read alike
#: (the ``\\Z`` / ``$`` anchor is added by each reader).
CUT_LENGTH_PATTERN = r"of ([0-9,]+) characters\]"


def cut_cell(text: str, limit: int) -> str:
    """The first ``limit`` characters of ``text`` and the mark saying how long it was."""
    return text[:limit] + CUT_MARK.format(kept=limit, length=len(text))


def cut_length(text: str) -> str | None:
    """The original length written in a cut cell's mark (as written, with separators), or None."""
    found = re.search(CUT_LENGTH_PATTERN + r"\Z", text)
    return found.group(1) if found else None
