import datetime as dt

import pytest

from pipelines.rounds import Round, parse_round


@pytest.mark.parametrize("text", ["2563-10", "2020-10", "2563/10", " 2020-10 "])
def test_both_calendars_name_the_same_round(text):
    assert parse_round(text) == Round(2020, 10)


def test_round_names_and_bounds():
    r = parse_round("2564-02")
    assert (r.key, r.be_key, r.label_th) == ("2021-02", "2564-02", "กุมภาพันธ์ 2564")
    assert (r.first_day, r.last_day) == (dt.date(2021, 2, 1), dt.date(2021, 2, 28))


@pytest.mark.parametrize("text", ["2563-13", "10-2563", "abc", "2563"])
def test_bad_rounds_say_so_in_both_languages(text):
    with pytest.raises(ValueError, match="invalid round") as error:
        parse_round(text)
    assert "รอบข้อมูลไม่ถูกต้อง" in str(error.value)
