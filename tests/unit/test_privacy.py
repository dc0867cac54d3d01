import pandas as pd
import pytest

from catalog.privacy import PrivacyError, citizen_id_valid, private_value_leaks, scan_table

THAI = str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙")


def _valid_id(first12: str) -> str:
    total = sum(int(d) * (13 - i) for i, d in enumerate(first12))
    return first12 + str((11 - total % 11) % 10)


def test_citizen_id_check_digit():
    good = _valid_id("110170020345")
    assert citizen_id_valid(good)
    assert not citizen_id_valid(good[:-1] + str((int(good[-1]) + 1) % 10))
    assert not citizen_id_valid("12345")


@pytest.mark.parametrize(
    ("frame", "kind"),
    [
        (pd.DataFrame({"headman_name": ["x"]}), "private_column"),
        (pd.DataFrame({"note": ["ติดต่อ 0812345678"]}), "phone_number"),
        (pd.DataFrame({"note": ["โทร. 0-4381-1154"]}), "phone_number"),
        (pd.DataFrame({"note": ["โทร ๐๘๑-๒๓๔-๕๖๗๘"]}), "phone_number"),  # Thai digits are digits to the gate too
        (pd.DataFrame({"note": ["บ้าน", "x", "id " + _valid_id("310100123456").translate(THAI)]}), "citizen_id"),
        (pd.DataFrame({"note": [f"id {_valid_id('310100123456')}"]}), "citizen_id"),
        (pd.DataFrame({"code": [int(_valid_id("310100123456"))]}), "citizen_id"),
    ],
)
def test_every_kind_of_leak_is_named(frame, kind):
    leaks = scan_table("t", frame, ["headman_name"])
    assert [leak.kind for leak in leaks] == [kind]
    error = PrivacyError(leaks)
    assert f"t.{frame.columns[0]}" in str(error) and "ไม่เผยแพร่" in str(error)


def test_clean_public_table_passes():
    frame = pd.DataFrame(
        {"village_code": ["84010101"], "households": [120], "pct": [12.5], "round": ["2563-10-15"], "axis": ["0 20 40"]}
    )
    assert scan_table("t", frame, ["headman_name"]) == []


def test_private_values_found_in_text_cells_and_html(tmp_path):
    received = tmp_path / "received.parquet"
    pd.DataFrame(
        {"headman_name": ["นายสมชาย ใจดี", "12", None], "village_name": ["บ้านหนองบัว", "บ้านนา", "x"]}
    ).to_parquet(received)
    tables = [
        ("villages", pd.DataFrame({"village_name": ["บ้านหนองบัว", "นายสมชาย ใจดี"], "households": [12, 40]})),
        ("page.html", pd.DataFrame({"text": ["<td>นายสมชาย ใจดี</td><td>12</td>"]})),
        ("clean", pd.DataFrame({"village_name": ["บ้านนา"], "code": ["12"]})),
    ]
    leaks = private_value_leaks(tables, received, ["headman_name"])
    assert [(leak.table, leak.column, leak.kind) for leak in leaks] == [
        ("page.html", "text", "private_value"),
        ("villages", "village_name", "private_value"),
    ]


def test_a_private_value_held_with_spaces_around_it_is_still_found(tmp_path):
    received = tmp_path / "received.parquet"
    pd.DataFrame({"headman_name": ["  นางสาวมาลี ศรีสุข ", "นายดำ ขำคม"]}).to_parquet(received)
    tables = [("villages", pd.DataFrame({"village_name": ["นางสาวมาลี ศรีสุข"]}))]
    leaks = private_value_leaks(tables, received, ["headman_name"])
    assert [(leak.table, leak.column) for leak in leaks] == [("villages", "village_name")]
