"""How often, as the request says it: "Mon, Wed and Fri", "twice a day", "each workday".

The clinician who writes "on Tuesdays and Thursdays" has settled the frequency; the
template's default would quietly overrule them. A frequency counts only when it is the
practice's: one in a clause about a habit ("she has coffee every morning" is the cue, not
the dose), about the trouble ("panics twice a day") or negated ("won't be coming every
Sunday") is left alone. Day counts say how many days a week first ("3 days a week
(Mondays, Wednesdays and Fridays)"), so the streak reads the target the clinician meant.
"""

from __future__ import annotations

import re

from service.history.streak import days_per_week, named_days

_NUMBER = {"once": 1, "one": 1, "twice": 2, "two": 2, "thrice": 3, "three": 3, "four": 4,
           "five": 5, "six": 6, "seven": 7}
_N = r"(\d|once|twice|thrice|one|two|three|four|five|six|seven)"
_TIMES = re.compile(rf"\b(?:at least )?{_N}\s*(?:(?:times?|x)\s*)?(?:a|per|each)\s+(day|week)\b"
                    rf"|\b{_N}\s*days?\s+(?:a|per|each)\s+week\b", re.I)
_THIS_WEEK = re.compile(rf"\b{_N}\s*(?:times?\s*)?this week\b", re.I)
_IN_A_ROW = re.compile(rf"\b{_N}\s+(?:(consecutive)\s+)?(days|evenings|nights|mornings)"
                       r"(\s+in a row|\s+running)?\b", re.I)
_DAY = (r"(?:mon|tues?|wed(?:nes)?|thu(?:rs?)?|fri|sat(?:ur)?|sun)(?:days?)?\.?")
_DAYS = re.compile(rf"\b(?:(every|each|on)\s+)?({_DAY}(?:(?:\s*,\s*|\s+and\s+|\s*&\s*|\s*/\s*)"
                   rf"{_DAY})*)(?!\w)", re.I)
_WORKDAYS = re.compile(r"\b(?:(?:every|each|on)\s+)?(?:work|week|school)[- ]?days\b|"
                       r"\b(?:every|each)\s+(?:work|week|school)[- ]?day\b", re.I)
_SHIFT = re.compile(r"\b(?:every|each|after every|after each)\s+(?:work\s+)?shift\b", re.I)
_MOST = re.compile(r"\bmost (days|nights|evenings|mornings)\b", re.I)
_WEEKLY = re.compile(r"\b(?:once a|every|each) week\b", re.I)
_DAILY = re.compile(r"\b(?:daily|nightly|every (?:single )?day|each day)(?:,?\s+in the "
                    r"(morning|evening))?\b|\b(?:every|each) (morning|evening|night)\b", re.I)
# What makes a frequency someone else's: a habit, the trouble, a negation (same clause).
_CLAUSE_START = re.compile(r"[.;:!?\n,(]|\s[-–—]\s")
_NOT_THE_PRACTICE = re.compile(
    r"\b(has|have|makes|drinks|eats|walks|does|orders|journals|reads|takes|plays|goes|gets|"
    r"feeds|brews|grabs|sits|watches|wakes|is|are|usually|already|always|used to|panic\w*|attacks?|"
    r"nightmares?|flashbacks?|cravings?|urges?|worr\w*|drinking|binge\w*|vomit\w*|rows?|"
    r"arguments?|fights?|spirals?|not|never|no longer|won['’]?t|stopped|anymore)\b|n['’]t\b",
    re.I)
_FULL = ("Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays", "Sundays")


def _theirs(request: str, start: int) -> bool:
    """Whether the clause the frequency sits in is about a habit, the trouble or a no."""
    before = request[:start]
    starts = [m.end() for m in _CLAUSE_START.finditer(before)]
    return bool(_NOT_THE_PRACTICE.search(before[starts[-1] if starts else 0:]))


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBER[word.lower()]


def _n_times(n: int) -> str:
    return "Once" if n == 1 else "Twice" if n == 2 else f"{n} times"


def _listed(days: list[int]) -> str:
    names = [_FULL[d] for d in days]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _on_days(m: re.Match[str]) -> str | None:
    """"every Monday", "Tuesdays and Thursdays", "Mon, Wed and Fri"; a lone "on Saturday"
    is one day this week, not a frequency."""
    lead, text = m.groups()
    days = named_days(text)
    plural = bool(re.search(r"days\b", text, re.I))
    if not days or not ((lead and lead.lower() != "on") or plural or len(days) > 1):
        return None
    if len(days) == 1:
        return f"Once a week ({_listed(days)})"
    return f"{len(days)} days a week ({_listed(days)})"


def _times(m: re.Match[str]) -> str:
    word, per, days = m.group(1), m.group(2), m.group(3)
    if days:
        n = _count(days)
        return "Once a week" if n == 1 else f"{n} days a week"
    return f"{_n_times(_count(word))} a {per.lower()}"


def _in_a_row(m: re.Match[str]) -> str | None:
    word, consecutive, unit, row = m.groups()
    return f"{_count(word)} {unit.lower()} in a row" if consecutive or row else None


def _daily(m: re.Match[str]) -> str:
    part = m.group(1) or m.group(2)
    return f"Every {part.lower()}" if part else "Every day"


_READERS = (
    (_TIMES, _times),
    (_THIS_WEEK, lambda m: f"{_n_times(_count(m.group(1)))} this week"),
    (_IN_A_ROW, _in_a_row),
    (_WORKDAYS, lambda m: "5 days a week (weekdays)"),
    (_DAYS, _on_days),
    (_SHIFT, lambda m: "Every shift"),
    (_MOST, lambda m: "5 days a week"),
    (_WEEKLY, lambda m: "Once a week"),
    (_DAILY, _daily),
)


def asked_frequency(request: str, dose_frequency: str) -> str | None:
    """The frequency the request sets for the practice, most specific form first. A plain
    "daily" leaves a dose that is already daily or more ("3 times a day") as it is."""
    for pattern, read in _READERS:
        for m in pattern.finditer(request):
            if _theirs(request, m.start()):
                continue
            if found := read(m):
                daily_already = days_per_week(dose_frequency) == 7
                return None if found == "Every day" and daily_already else found
    return None
