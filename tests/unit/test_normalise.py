import pandas as pd
import pytest

from pipelines.ingest.normalise import clean_text, header_matcher, normalise_column, normalise_date


@pytest.mark.parametrize(
    ("raw", "iso"),
    [
        ("2020-10-15", "2020-10-15"),
        ("15/10/2563", "2020-10-15"),
        ("15/10/2020", "2020-10-15"),
        ("1/10/63", "2020-10-01"),
        ("15 ต.ค. 2563", "2020-10-15"),
        ("15 ต.ค.2563", "2020-10-15"),
        ("๑๕ ตุลาคม ๒๕๖๓", "2020-10-15"),
        ("2563-10-15", "2020-10-15"),
        ("2020-10-15 00:00:00", "2020-10-15"),
    ],
)
def test_dates_in_every_office_spelling(raw, iso):
    assert normalise_date(raw) == iso


@pytest.mark.parametrize("raw", ["31/02/2563", "15 ตค 2563x", "ไม่ทราบ", "2020-13-01"])
def test_unreadable_dates_are_passed_on_unchanged(raw):
    assert normalise_date(raw) == raw


def test_cleaning_removes_invisible_characters_and_stray_spaces():
    assert clean_text("\u200b บ้าน\u00a0 หนองบัว \ufeff") == "บ้าน หนองบัว"
    assert clean_text(" \u200b ") is None


def test_numbers_lose_thai_digits_and_thousands_separators_only():
    field = {"name": "households", "type": "integer"}
    got = normalise_column(pd.Series(["๑,๒๓๔", "1,234", "1,23", " 12 ", None]), field)
    assert got.tolist() == ["1234", "1234", "1,23", "12", None]


def test_codes_get_ascii_digits_but_names_keep_thai_digits(village_spec):
    code = normalise_column(pd.Series(["๘๔๐๑๐๕๐๑"]), village_spec.field("village_code"))
    name = normalise_column(pd.Series(["บ้านหนองบัว ๒"]), village_spec.field("village_name"))
    assert code.tolist() == ["84010501"]
    assert name.tolist() == ["บ้านหนองบัว ๒"]


def test_header_found_in_thai_english_and_with_stray_spaces(village_spec):
    match = header_matcher(village_spec.fields)
    assert match(["รหัสหมู่บ้าน", "หมู่ที่", "ชื่อ หมู่บ้าน\u200b", "อื่น"])[:3] == [
        "village_code",
        "village_no",
        "village_name",
    ]
    assert match(["village_code", "Village number (moo)", "households"]) == [
        "village_code",
        "village_no",
        "households",
    ]
    assert match(["แบบสำรวจข้อมูลพื้นฐานหมู่บ้าน ตำบลตลาด", "", ""]) == []
