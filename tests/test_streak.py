"""The compassionate streak: weeks meeting the frequency, one skip day a week allowed."""

from __future__ import annotations

import datetime as dt

import pytest

from service.history.streak import compassionate_streak, days_per_week

MONDAY = dt.date(2026, 11, 30)


@pytest.mark.parametrize(("frequency", "days"), [
    ("once a day", 7), ("every morning", 7), ("5 days a week", 5), ("three times a week", 3),
    ("Mon, Wed and Fri", 3), ("twice a week", 2), ("once a week", 1),
    ("every Monday", 1), ("every weekday", 5), ("weekends", 2),
    ("every day except Sunday", 6), ("every morning in the sun", 7),
    ("sat on the porch, every evening", 7),
])
def test_days_per_week(frequency, days):
    assert days_per_week(frequency) == days


def _days(start: dt.date, count: int) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range(count)]


def test_daily_with_one_skip_a_week_keeps_the_streak():
    practised = _days(MONDAY - dt.timedelta(days=14), 6) + _days(MONDAY - dt.timedelta(days=7), 6)
    assert compassionate_streak("once a day", practised, MONDAY) == 2


def test_two_skips_break_the_week():
    practised = _days(MONDAY - dt.timedelta(days=14), 6) + _days(MONDAY - dt.timedelta(days=7), 5)
    assert compassionate_streak("once a day", practised, MONDAY) == 0


def test_unfinished_current_week_does_not_break_the_streak():
    practised = _days(MONDAY - dt.timedelta(days=7), 3)
    assert compassionate_streak("3 days a week", practised, MONDAY) == 1
    assert compassionate_streak("3 days a week", [*practised, MONDAY, MONDAY + dt.timedelta(1)],
                                MONDAY + dt.timedelta(1)) == 2
