"""Ingest's side of ``max_cell_length``: cells too long are cut, vectorised over a table's columns.

What a cut cell looks like (:func:`domain.limits.cut_cell`) and how long it was
(:func:`domain.limits.cut_length`, read back by validation) are the domain's; this module
applies the cut to an Arrow table, touching only the few cells that are too long.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from domain.limits import cut_cell


def _over(column: pa.ChunkedArray, limit: int) -> pa.Array | None:
    """Which cells have more than ``limit`` characters, or None when none does (the usual case).

    Bytes first: a cell of at most ``limit`` bytes has at most ``limit`` characters, and a
    string column's byte lengths are its offsets, so the common case costs no scan of the text
    and no copy of the column.
    """
    if _text_bytes(column) <= limit:  # all its text together is no longer: no cell is (a short file's column)
        return None
    longest = pc.max(pc.binary_length(column)).as_py()
    if longest is None or longest <= limit:
        return None
    over = pc.fill_null(pc.greater(pc.utf8_length(column.combine_chunks()), limit), False)
    return over if pc.any(over).as_py() else None


def _text_bytes(column: pa.ChunkedArray | pa.Array) -> float:
    """Bytes of text in a string column, from its offsets alone (two numbers a chunk: no kernel called, nothing
    copied); infinite for any other type, which is then looked at cell by cell."""
    total = 0
    for chunk in column.chunks if isinstance(column, pa.ChunkedArray) else [column]:
        if chunk.type != pa.string():
            return float("inf")
        if not len(chunk):
            continue
        buffer = chunk.buffers()[1]
        if buffer is None:
            return float("inf")
        offsets = np.frombuffer(buffer, dtype=np.int32, count=len(chunk) + 1, offset=4 * chunk.offset)
        total += int(offsets[-1]) - int(offsets[0])
    return total


def cap_long_cells(table: pa.Table, names: list[str], limit: int) -> pa.Table:
    """``table`` with every cell of the columns ``names`` longer than ``limit`` characters cut (:func:`cut_cell`).

    Vectorised over the columns; only the few cells that are too long are touched one by one.
    """
    if table.get_total_buffer_size() <= limit:  # a small file's table: no cell can be too long
        return table
    for name in names:
        over = _over(table.column(name), limit)
        if over is None:
            continue
        column = table.column(name).combine_chunks()
        positions = np.flatnonzero(over.to_numpy(zero_copy_only=False))
        cut = pa.array([cut_cell(column[int(i)].as_py(), limit) for i in positions], pa.string())
        table = table.set_column(table.schema.get_field_index(name), name, pc.replace_with_mask(column, over, cut))
    return table


def keep_cut_cells(raw: pa.Table, normalised: pa.Table, limit: int) -> pa.Table:
    """``normalised`` with every cell that is longer than ``limit`` in ``raw`` taken from ``raw`` as it is.

    After :func:`cap_long_cells` only cut cells are that long: normalising one (spaces
    collapsed) could bring it under the limit and let a cut value pass for the whole one.
    """
    for index, name in enumerate(normalised.column_names):
        over = _over(raw.column(name), limit)
        if over is not None:
            original = raw.column(name).combine_chunks()
            kept = pc.replace_with_mask(normalised.column(index).combine_chunks(), over, original.filter(over))
            normalised = normalised.set_column(index, name, kept)
    return normalised
