"""Local date forms, day/month order inferred per column, unreadable values reported."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leadtool.errors import InputError, UsageError
from leadtool.match.dates import parse_dates, require_readable


def _read(values, order=None):
    return parse_dates(pl.Series(values, dtype=pl.String), order)


def test_us_report_dates_with_am_pm_are_month_first():
    r = _read(["5/4/2023 10:22 AM", "5/13/2023 1:05 PM", "12/31/2023 12:00 AM", "1/2/2024 12:30 PM"])
    assert r.instants.to_list() == [datetime(2023, 5, 4, 10, 22), datetime(2023, 5, 13, 13, 5),
                                    datetime(2023, 12, 31, 0, 0), datetime(2024, 1, 2, 12, 30)]
    assert (r.order, r.inferred, r.ambiguous, r.first_bad) == ("mdy", True, False, None)


def test_uk_dates_are_day_first_when_a_day_is_above_12():
    r = _read(["04/05/2023 10:22", "25/12/2022 08:00", "01/02/2023"])
    assert r.instants.to_list() == [datetime(2023, 5, 4, 10, 22), datetime(2022, 12, 25, 8, 0), datetime(2023, 2, 1)]
    assert (r.order, r.inferred) == ("dmy", True)


def test_all_ambiguous_column_needs_an_order():
    r = _read(["04/05/2023 10:22", "05/06/2023", "07/07/2023"])
    assert r.ambiguous and not r.conflicting and r.order is None
    assert r.ambiguous_example == "04/05/2023 10:22"
    assert r.instants.to_list() == [None, None, datetime(2023, 7, 7)]  # day == month reads either way
    assert r.bad_count == 0  # ambiguous is not unreadable
    with pytest.raises(UsageError, match="--date-order dmy or --date-order mdy"):
        require_readable(r, "Created Date", "report.csv")
    given = _read(["04/05/2023 10:22", "05/06/2023"], "mdy")
    assert given.instants.to_list() == [datetime(2023, 4, 5, 10, 22), datetime(2023, 5, 6)]
    assert (given.order, given.inferred, given.ambiguous) == ("mdy", False, False)


def test_conflicting_evidence_is_ambiguous():
    r = _read(["13/05/2023", "05/13/2023", "01/01/2023"])
    assert r.ambiguous and r.conflicting
    assert r.instants.to_list() == [None, None, datetime(2023, 1, 1)]
    with pytest.raises(UsageError, match="both day-first and month-first"):
        require_readable(r, "create_date")


def test_given_order_makes_contradicting_values_unreadable():
    r = _read(["13/05/2023", "05/13/2023"], "mdy")
    assert r.instants.to_list() == [None, datetime(2023, 5, 13)]
    assert (r.first_bad, r.first_bad_index, r.bad_count) == ("13/05/2023", 0, 1)
    with pytest.raises(InputError, match="cannot read the date '13/05/2023' \\(record 1\\)"):
        require_readable(r, "create_date", "x.csv")
    require_readable(r, "create_date", "x.csv", allow_bad=True)  # --allow-bad-dates


def test_dots_are_day_first_and_need_no_inference():
    r = _read(["4.5.2023", "04.05.2023 10:22:33", "31.12.2023"])
    assert r.instants.to_list() == [datetime(2023, 5, 4), datetime(2023, 5, 4, 10, 22, 33), datetime(2023, 12, 31)]
    assert not r.ambiguous and r.order is None


def test_iso_and_empty_values_pass_and_mixed_forms_work():
    r = _read(["2023-05-04 10:22:00", "", None, "  ", "2023-05-04T10:22:00Z", "5/13/2023", "2023-05-04"])
    assert r.instants.to_list() == [datetime(2023, 5, 4, 10, 22), None, None, None, datetime(2023, 5, 4, 10, 22),
                                    datetime(2023, 5, 13), datetime(2023, 5, 4)]
    assert r.bad_count == 0 and r.order == "mdy" and r.local_count == 1


def test_two_digit_years_pivot_at_70():
    r = _read(["5/13/23", "5/13/69", "5/13/70", "5/13/99"])
    assert [d.year for d in r.instants.to_list()] == [2023, 2069, 1970, 1999]
    assert r.two_digit_years == 4


def test_dash_dates_need_four_digit_years():
    r = _read(["13-05-2023", "04-05-23"])
    assert r.instants.to_list() == [datetime(2023, 5, 13), None]
    assert r.first_bad == "04-05-23"


@pytest.mark.parametrize("value", ["2/30/2023", "13/13/2023", "5/4/2023 13:00 PM", "5/4/2023 0:10 AM",
                                   "5/4/2023 24:00", "5/4/2023 10:61", "5/4", "yesterday", "5/4-2023"])
def test_unreadable_values_are_reported(value):
    r = _read(["5/13/2023", value])
    assert r.first_bad == value and r.first_bad_index == 1


def test_am_pm_spellings_and_fractions():
    r = _read(["5/13/2023 9:05 pm", "5/13/2023 9:05 a.m.", "5/13/2023 09:05:07.250", "5/13/2023, 9:05 PM",
               " 5 / 13 / 2023 "])
    assert r.instants.to_list() == [datetime(2023, 5, 13, 21, 5), datetime(2023, 5, 13, 9, 5),
                                    datetime(2023, 5, 13, 9, 5, 7), datetime(2023, 5, 13, 21, 5), datetime(2023, 5, 13)]


def test_bad_order_option_is_a_usage_error():
    with pytest.raises(UsageError, match="expected dmy or mdy"):
        _read(["1/2/2023"], "ymd")


_MOMENTS = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2068, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0))


@given(st.lists(_MOMENTS, min_size=1, max_size=20))
def test_us_and_uk_renderings_read_back_with_their_order(moments):
    us = [f"{d.month}/{d.day}/{d.year} {(d.hour % 12) or 12}:{d.minute:02d} {'AM' if d.hour < 12 else 'PM'}"
          for d in moments]
    uk = [f"{d.day:02d}/{d.month:02d}/{d.year} {d.hour:02d}:{d.minute:02d}" for d in moments]
    assert _read(us, "mdy").instants.to_list() == moments
    assert _read(uk, "dmy").instants.to_list() == moments
    inferred = _read(us + ["12/31/2023 1:00 PM"])  # a day above 12 settles it
    assert inferred.order == "mdy" and inferred.instants.to_list()[:-1] == moments
