"""The compassionate streak: consecutive weeks meeting the frequency, one skip day allowed."""

from __future__ import annotations

import datetime as dt
import re

# Day names in full ("Mondays", "tuesday"), or abbreviated with a capital ("Mon, Wed, Fri"):
# a lower-case "sun" or "sat" is the weather or a verb, not a day.
_FULL_DAYS = re.compile(r"\b(mon|tues|wednes|thurs|fri|satur|sun)days?\b", re.I)
_SHORT_DAYS = re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]?[a-z]?\b\.?")
_SHORT_FORMS = {"mon", "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun"}
_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
_EXCEPT = re.compile(r"\b(?:except|but not|apart from|other than)\b")
_PER_WEEK = re.compile(r"\b(\d|one|two|three|four|five|six|seven)\s*(?:days?|times?|x)\s*"
                       r"(?:a|per|each|every)\s*week", re.I)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


def _days_in(text: str) -> set[int]:
    days = {_INDEX[m.group(1).lower()[:3]] for m in _FULL_DAYS.finditer(text)}
    days |= {_INDEX[m.group(1).lower()] for m in _SHORT_DAYS.finditer(text)
             if m.group(0).rstrip(".").lower() in _SHORT_FORMS}
    if re.search(r"\bweekdays?\b", text, re.I):
        days |= {0, 1, 2, 3, 4}
    if re.search(r"\bweekends?\b", text, re.I):
        days |= {5, 6}
    return days


def named_days(frequency: str) -> list[int]:
    """The weekdays a frequency names, Monday = 0: "every Monday", "Tuesdays and
    Saturdays", "weekdays", "every day except Sunday"; empty when it names none."""
    kept, *removed = _EXCEPT.split(frequency, maxsplit=1)
    days = _days_in(kept)
    if removed:
        days = (days or set(range(7))) - _days_in(removed[0])
    return sorted(days)


def days_per_week(frequency: str) -> int:
    """How many practice days a week the frequency asks for (daily when unclear)."""
    text = frequency.lower()
    if match := _PER_WEEK.search(text):
        word = match.group(1)
        return int(word) if word.isdigit() else _WORDS[word]
    if "twice a week" in text:
        return 2
    if "once a week" in text or "weekly" in text:
        return 1
    return len(named_days(frequency)) or 7


def _week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def compassionate_streak(frequency: str, practised_dates: list[dt.date], today: dt.date) -> int:
    """Weeks in a row, back from today, with at least target-1 practice days (min 1).

    The current week counts only once it is met, so an unfinished week never breaks it.
    """
    target = max(1, days_per_week(frequency) - 1)
    per_week: dict[dt.date, set[dt.date]] = {}
    for day in practised_dates:
        per_week.setdefault(_week_start(day), set()).add(day)
    week = _week_start(today)
    streak = 0
    if len(per_week.get(week, ())) >= target:
        streak += 1
    week -= dt.timedelta(days=7)
    while len(per_week.get(week, ())) >= target:
        streak += 1
        week -= dt.timedelta(days=7)
    return streak
