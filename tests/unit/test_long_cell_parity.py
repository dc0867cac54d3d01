"""``value_too_long``: both schema engines give the same findings for cells over the declared length.

Extends the differential test of ``test_validator_parity`` (its ``_compare`` runs frictionless's
reference and the DuckDB engine and asserts the same findings, row for row) to schemas that carry
a ``maxCellLength``: lengths counted in code points (Thai marks, decomposed accents), every
field type, cells cut by ingest (their mark gives the length), unique and key fields.
"""

from __future__ import annotations

import random

import duckdb
import pandas as pd

from domain.limits import cut_cell
from tests.unit.test_validation import GOOD
from tests.unit.test_validator_parity import SYNTHETIC, _compare
from validation import schema_sql
from validation.schema_check import MAX_CELL_LENGTH, schema_findings, validation_descriptor


def _with_limit(schema: dict, limit: int) -> dict:
    return validation_descriptor(schema, keep_keys=True, max_cell_length=limit)


def test_every_field_type_over_the_limit():
    schema = _with_limit(SYNTHETIC, 10)
    rows = [
        ("1", "1", "a1", "2020-01-01", "true", "x"),  # clean: a date is ten characters
        ("12345678901", "1", "ab", "2020-01-02", "true", "x"),  # a valid integer, but eleven characters
        ("+0000000001", "10.50000000", "b", "2020-1-1 ", "TRUE", "q"),  # eleven and eleven characters
        ("2", "2", "a1a1a1a1a1a", "2020-01-01", "false", "x"),  # too long, and not in the enum
        ("3", "3", "a1a1a1a1a1a", "n/a", "n/a", "x"),  # the same long value again: no not_unique for it
        ("n/a", "n/a", "n/a", "n/a", "n/a", "ก" + "ำ" * 9),  # ten code points: not too long
        ("n/a", "n/a", "n/a", "n/a", "n/a", "ก" + "ำ" * 10),  # eleven
        ("n/a", "n/a", "n/a", "n/a", "n/a", "e\u0301" * 5 + "e"),  # eleven code points, six letters
        ("n/a", "n/a", "n/a", "n/a", "n/a", cut_cell("z" * 50_000, 10)),  # cut by ingest: its length is 50,000
        ("n/a", "n/a", "n/a", "n/a", "n/a", " " * 10),  # ten spaces: not long, and present
        ("n/a", "n/a", "n/a", "n/a", "n/a", " " * 11),  # eleven
        ("n/a", "n/a", "n/a", "n/a", "n/a", "n/a"),  # blank
    ]
    frame = pd.DataFrame(rows, columns=[f["name"] for f in SYNTHETIC["fields"]])
    found = _compare(frame, schema)
    long = found[found["code"] == "value_too_long"]
    assert sorted(zip(long["_row_id"], long["field"], strict=True)) == [
        (1, "n"), (2, "n"), (2, "x"), (3, "s"), (4, "s"), (6, "q"), (7, "q"), (8, "q"), (10, "q")
    ]  # fmt: skip
    assert long.set_index(["_row_id", "field"]).loc[(8, "q"), "detail"] == "50,000"
    assert long.set_index(["_row_id", "field"]).loc[(3, "s"), "value"] == "a1a1a1a1a1a…"
    # nothing else is said about a too-long cell; the other cells of its row are still checked
    others = set(zip(found["_row_id"], found["field"], found["code"], strict=True))
    cells = set(zip(long["_row_id"], long["field"], strict=True))
    assert not {(r, f) for r, f, c in others if c != "value_too_long"} & cells
    assert (2, "d", "wrong_type") in others  # "2020-1-1 " is not a date (frictionless does not strip it)


def test_village_profile_with_the_default_limit(village_spec):
    schema = _with_limit(village_spec.schema, 4000)
    changes = [
        ("village_name", "ก" * 4000),
        ("village_name", "ก" * 4001),
        ("village_code", "8" * 5000),
        ("households", "1" * 4001),
        ("survey_date", cut_cell("2020-10-15" * 1000, 4000)),
        ("drinking_water_source", "ประปาหมู่บ้าน" * 400),
        ("headman_phone", "0" * 4001),
        ("notable_product", " " * 4001),
    ]
    rows = [{**GOOD, "village_code": f"84{i:06d}", field: value} for i, (field, value) in enumerate(changes)]
    rows.append(dict(rows[2]))  # the same too-long key twice: the key finding stands
    frame = pd.DataFrame(rows)
    found = _compare(frame, schema)
    long = found[found["code"] == "value_too_long"]
    assert sorted(long["_row_id"]) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert "duplicate_key" in set(found["code"])
    messages = schema_findings(frame, schema)
    row = messages[(messages["code"] == "value_too_long") & (messages["_row_id"] == 4)].iloc[0]
    assert row["detail"] == "10,000" and "10,000" in row["message_en"] and "4,000" in row["message_en"]
    assert "วันที่สำรวจ" in row["message_th"] and "10,000" in row["message_th"]


def test_fuzzed_lengths_around_the_limit():
    """Random strings of Thai letters, marks, spaces and ASCII, of lengths around the limit, in every type."""
    alphabet = ["a", "1", " ", "ก", "\u0e48", "\u0e33", "e\u0301", "\u200b", "-", ".", "๓"]
    rng = random.Random(4000)
    fields = [{"name": k, "type": k} for k in ("integer", "number", "date", "boolean", "string")]
    fields[-1]["constraints"] = {"unique": True, "pattern": "[a1 ]*"}
    schema = {"fields": fields, MAX_CELL_LENGTH: 12}
    rows = [["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16))) for _ in fields] for _ in range(1500)]
    frame = pd.DataFrame(rows, columns=[f["name"] for f in fields])
    found = _compare(frame, schema, keep_keys=False)
    assert 100 < (found["code"] == "value_too_long").sum() < len(frame) * len(fields)


def test_the_fast_path_never_vouches_for_a_row_with_a_long_cell(village_spec):
    schema = _with_limit(village_spec.schema, 4000)
    plain = {**GOOD, "notable_product": None}
    rows = [plain, {**plain, "notable_product": "ก" * 1400}, {**plain, "notable_product": "a" * 4001}]
    test = schema_sql.clean_test(schema)
    con = duckdb.connect()
    con.register("rows", pd.DataFrame(rows))
    flags = [c for (c,) in con.execute(f"SELECT {test.predicate} FROM {test.over('rows')}").fetchall()]
    # 1,400 Thai characters are 4,200 bytes: not vouched for (bytes bound characters), and then found short
    assert flags[0] is True and flags[2] is not True
    assert _compare(pd.DataFrame(rows), schema).query("code == 'value_too_long'")["_row_id"].tolist() == [2]
