"""The compassionate streak: consecutive weeks meeting the frequency, one skip day allowed."""

from __future__ import annotations

import datetime as dt
import re

_DAYS = re.compile(r"\b(mon|tue|wed|thu|fri|sat|sun)[a-z]*\b", re.I)
_PER_WEEK = re.compile(r"\b(\d|one|two|three|four|five|six|seven)\s*(?:days?|times?|x)\s*"
                       r"(?:a|per|each|every)\s*week", re.I)
_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7}


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
    named = {m.group(1).lower() for m in _DAYS.finditer(text)}
    if named and "every" not in text:
        return len(named)
    return 7


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
