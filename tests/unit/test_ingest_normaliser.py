"""The batch normaliser (Arrow + DuckDB SQL) gives exactly what the Python reference functions give.

``clean_text``, ``normalise_number``, ``normalise_date`` and the Thai-digit rewrite of coded
fields are the reference; every path of :class:`Normaliser` (ASCII in Arrow, plain Thai words
kept, SQL for the rest and for dates) is run over tricky cells and compared cell by cell.
"""

from __future__ import annotations

import itertools
import random
import unicodedata

import pyarrow as pa
import pytest

from pipelines.ingest.normalise import Normaliser, _thai_patterns, blank_cell_pattern, clean_text, normaliser_for

FIELDS = [
    {"name": "number", "type": "integer"},
    {"name": "decimal", "type": "number"},
    {"name": "date", "type": "date"},
    {"name": "code", "type": "string", "constraints": {"pattern": "[0-9]{8}"}},
    {"name": "text", "type": "string"},
]

TRICKY = [
    # numbers
    "1,234", "๑,๒๓๔", "-1,000", "+1,000.50", "1,234.50", "1,23", "1,2345", "12 ", " ๑๒ ", "1,234.", ",123",
    "1,234,567", "１,２３４", "١,٢٣٤", "1 234", "1\u00a0234", "12\u200b3", "0", "-0", "๐๐๑", "1,000 บาท", "๑๒ บาท",
    # dates
    "2020-10-15", "15/10/2563", "15/10/2020", "1/10/63", "15 ต.ค. 2563", "15 ต.ค.2563", "๑๕ ตุลาคม ๒๕๖๓",
    "2563-10-15", "2020-10-15 00:00:00", "2020-10-15T00:00", "2020-10-15 00:00", "2020-10-15 12:00:00",
    "31/02/2563", "29/02/2563", "29/02/2564", "29/02/2000", "29/02/1900", "30-04-2020", "31.04.2020",
    "15 ตค 2563x", "ไม่ทราบ", "2020-13-01", "2020-00-10", "2020-10-00", "0000-01-01", "0001-01-01", "1/1/0001",
    "15 ต.ค.๒๕๖๓", "１５/１０/２５６３", "٢٠٢٠-١٠-١٥", "15\u00a0ต.ค.\u30002563", "15 ..ต.ค.. 63", "1 มค 2500",
    "15.10.63", "15-10-2020", "2020-2-3", "15 ตุลา 2563", "31 ธันวาคม 2499", "1 ม.ค. 2401", "1 ม.ค. 2400",
    "5 กุมภาพันธ์ 63", "05/10/99", "5/10/00", "15 ต.ค. 256", "15 ต. ค. 2563", "15ต.ค.2563", "9999-12-31",
    # text: spaces, invisible characters, NFC
    "", " ", "\u200b", "\u200b \u00a0\ufeff", "a\u00a0\u3000b", "\u2000x\u2001", "x\u00ady", "\u200dบ้าน\u2060",
    "\t tab\nnew\rline\x0b\x0c\x1c\x1d\x1e\x1f end ", "\x85\u1680\u2028\u2029\u202f\u205f", "a  b", " a b ",
    "\u0e01\u0e48\u0e38", "\u0e01\u0e38\u0e48", "ก\u0e4a\u0e39ง", "ก\u0e3a\u0e38", "ก\u0e38\u0e3a", "e\u0301",
    "e\u200b\u0301", "\u212b", "\u00c5", "A\u030a", "นายสมชาย ใจดี", "บ้านหนองบัว ๒", "ชื่อ\u200bหมู่บ้าน",
    "84010101", "๘๔๐๑๐๑๐๑", "0812345678", "08-1234-5678", "a,b", "ﬁ", "①", "²", "ก้", "ำ", "ก\u0e4dา",
]  # fmt: skip


def _expected(field, raw):
    text = clean_text(raw)
    rewrite = normaliser_for(field)
    return rewrite(text) if (text is not None and rewrite) else text


def _cells(count: int, seed: int) -> list[str]:
    """Tricky cells and random mixes of their pieces."""
    rng = random.Random(seed)
    pieces = [*TRICKY, "1", "23", ",", ".", "/", "-", " ", "๓", "\u0e38", "\u0e48", "\u00a0", "\u200b", "ม.ค."]
    mixed = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 4))) for _ in range(count)]
    return [*TRICKY, *mixed]


@pytest.mark.parametrize("seed", [1, 2])
def test_sql_normaliser_equals_the_python_reference(seed):
    cells = [*_cells(3000, seed), None]
    normalise = Normaliser(FIELDS)
    got = normalise(pa.table({f["name"]: pa.array(cells, pa.string()) for f in FIELDS}))
    for field in FIELDS:
        want = [None if raw is None else _expected(field, raw) for raw in cells]
        column = got.column(field["name"]).to_pylist()
        mismatches = [(raw, w, g) for raw, w, g in zip(cells, want, column, strict=True) if w != g]
        assert not mismatches, (field["name"], mismatches[:10])


def test_every_path_agrees_on_its_own():
    """Each cell alone (no batch-mates to share a path with), and the SQL applied to every cell."""
    normalise = Normaliser(FIELDS)
    for field in FIELDS:
        kind = normalise.kinds[field["name"]]
        values = pa.array(TRICKY, pa.string())
        forced = normalise._sql_rewrite(values, kind).to_pylist()  # the SQL, whatever Arrow could do
        alone = [normalise.column(pa.array([raw], pa.string()), kind).to_pylist()[0] for raw in TRICKY]
        want = [_expected(field, raw) for raw in TRICKY]
        assert forced == want, field["name"]
        assert alone == want, field["name"]


def test_blank_cells_are_the_cells_clean_text_empties():
    import pyarrow.compute as pc

    candidates = [chr(c) for c in range(0x3100)] + ["\ufeff", "", "  ", "\u200b\u00a0", " a "]
    got = pc.match_substring_regex(pa.array(candidates), blank_cell_pattern()).to_pylist()
    assert got == [clean_text(c) is None for c in candidates]


def test_plain_thai_words_are_left_unchanged_by_nfc():
    """What the Arrow shortcut keeps as it is must be NFC already: every pair of its characters checked."""
    thai = [chr(c) for c in range(0x0E01, 0x0E5C) if unicodedata.category(chr(c)) != "Cn"]
    alphabet = [chr(c) for c in range(0x21, 0x7F)] + thai
    out_of_order = pa.array(["".join(p) for p in itertools.product(alphabet, repeat=2)])
    import pyarrow.compute as pc

    flagged = pc.match_substring_regex(out_of_order, _thai_patterns()["out_of_order"]).to_pylist()
    for pair, bad in zip(out_of_order.to_pylist(), flagged, strict=True):
        assert (unicodedata.normalize("NFC", pair) != pair) == bad, pair
