import datetime as dt

import pytest

from domain.rounds import (
    PROGRAMME_FIRST,
    PROGRAMME_LAST,
    TIMEZONE,
    Round,
    RoundError,
    check_programme_round,
    current_round,
    parse_round,
)

TODAY = Round(2026, 12)  # the month these tests judge "not begun yet" against, whatever today is


@pytest.mark.parametrize("text", ["2563-10", "2020-10", "2563/10", " 2020-10 "])
def test_both_calendars_name_the_same_round(text):
    assert parse_round(text) == Round(2020, 10)


def test_round_names_and_bounds():
    r = parse_round("2564-02")
    assert (r.key, r.be_key, r.label_th) == ("2021-02", "2564-02", "กุมภาพันธ์ 2564")
    assert (r.first_day, r.last_day) == (dt.date(2021, 2, 1), dt.date(2021, 2, 28))


@pytest.mark.parametrize("text", ["2563-13", "2563-00", "10-2563", "abc", "2563", "1850-01"])
def test_bad_rounds_say_so_in_both_languages(text):
    with pytest.raises(RoundError, match="invalid round") as error:
        parse_round(text)
    assert "รอบข้อมูลไม่ถูกต้อง" in error.value.message_th
    assert "e.g. 2563-10" in error.value.message_en
    assert isinstance(error.value, ValueError)  # library callers that catch ValueError still do


def test_month_13_says_why():
    with pytest.raises(RoundError) as error:
        parse_round("2563-13")
    assert "ไม่มีเดือนที่ 13 (เดือนคือ 01 ถึง 12)" in error.value.message_th
    assert "there is no month 13 (months are 01 to 12)" in error.value.message_en


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1999-01", Round(1999, 1)),
        ("2399-01", Round(2399, 1)),
        ("2400-01", Round(1857, 1)),
        ("2542-01", Round(1999, 1)),
    ],
)
def test_years_below_2400_are_gregorian_and_from_2400_buddhist_era(text, expected):
    assert parse_round(text) == expected


def test_any_real_month_parses_for_library_code():
    """Tests and library code name rounds outside the programme; only the command line checks the range."""
    assert parse_round("2563-09") == Round(2020, 9)
    assert parse_round("2030-01") == Round(2030, 1)


@pytest.mark.parametrize("text", ["2563-10", "2564-09", "2020-10", "2021-09"])
def test_the_programme_year_is_accepted_quietly(text):
    assert check_programme_round(parse_round(text), latest=TODAY) is None


@pytest.mark.parametrize("text", ["2564-10", "2569-12", "2026-12"])
def test_rounds_after_the_programme_year_are_accepted_with_a_warning(text):
    warning = check_programme_round(parse_round(text), latest=TODAY)
    assert "หลังปีงบประมาณของโครงการ (2563-10 ถึง 2564-09)" in warning
    assert "after the programme's year (2563-10 to 2564-09)" in warning


@pytest.mark.parametrize("text", ["2563-09", "1999-01", "2020-09", "2400-01"])
def test_rounds_before_the_programme_are_refused_with_the_range(text):
    with pytest.raises(RoundError) as error:
        check_programme_round(parse_round(text), latest=TODAY)
    assert "ก่อนเริ่มโครงการ" in error.value.message_th and "รอบที่ใช้ได้คือ 2563-10 ถึง 2569-12" in error.value.message_th
    assert "valid rounds are 2563-10 (2020-10) to 2569-12 (2026-12, this month)" in error.value.message_en


def test_1999_is_read_as_gregorian_1999_not_be_2542():
    with pytest.raises(RoundError) as error:
        check_programme_round(parse_round("1999-01"), latest=TODAY)
    assert "round 1999-01 (January 1999, B.E. 2542-01)" in error.value.message_en
    assert "มกราคม 2542" in error.value.message_th


@pytest.mark.parametrize("text", ["2570-01", "2027-01", "2600-05"])
def test_rounds_that_have_not_begun_are_refused(text):
    with pytest.raises(RoundError, match="has not begun yet") as error:
        check_programme_round(parse_round(text), latest=TODAY)
    assert "ยังมาไม่ถึง" in error.value.message_th


def test_programme_months_are_the_fiscal_year_2564():
    assert (PROGRAMME_FIRST.be_key, PROGRAMME_LAST.be_key) == ("2563-10", "2564-09")


def test_current_round_turns_in_bangkok():
    """At 23:30 UTC on 31 December it is already January in Bangkok (UTC+7), as for the partitions."""
    late = dt.datetime(2026, 12, 31, 23, 30, tzinfo=dt.UTC)
    assert current_round(late) == Round(2027, 1)
    assert current_round(dt.datetime(2026, 12, 5, 10, 0, tzinfo=TIMEZONE)) == Round(2026, 12)


def test_the_newest_round_accepted_is_dagsters_newest_partition():
    """check_programme_round's default ``latest`` and the partitions (end_offset=1) name the same month."""
    from pipelines.partitions import rounds

    keys = rounds.get_partition_keys()
    assert keys[0] == PROGRAMME_FIRST.key
    assert parse_round(keys[-1]) == current_round()
    assert check_programme_round(parse_round(keys[-1])) is not None  # accepted (with the after-programme warning)
