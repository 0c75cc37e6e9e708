"""The practice as protected time in the client's calendar (RFC 5545, via `icalendar`).

One recurring event: a clock time from `when` if it has one (else 9:00 with the cue in the
description), repeating as `frequency` says until the review date, with a reminder before
and a "log it" prompt at its end.
"""

from __future__ import annotations

import datetime as dt
import re

from icalendar import Alarm, Calendar, Event, vRecur

from service.clock import today
from service.history import ResourceView
from service.history.streak import days_per_week, named_days

_CLOCK = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm)\b|\b(\d{1,2})[:.](\d{2})\b", re.I)
_WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
_SPREAD = {1: [0], 2: [0, 3], 3: [0, 2, 4], 4: [0, 1, 3, 4], 5: [0, 1, 2, 3, 4],
           6: [0, 1, 2, 3, 4, 5]}
DEFAULT_START = dt.time(9, 0)


def clock_time(when: str) -> dt.time | None:
    """The first clock time in a `when` ("at 9 pm", "7:30") or None for a cue-only timing."""
    match = _CLOCK.search(when)
    if not match:
        return None
    if match.group(3):
        hour, minute = int(match.group(1)) % 12, int(match.group(2) or 0)
        hour += 12 if match.group(3).lower() == "pm" else 0
    else:
        hour, minute = int(match.group(4)), int(match.group(5))
    return dt.time(hour, minute) if hour < 24 and minute < 60 else None


def _rule(frequency: str, until: dt.date | None) -> vRecur:
    """The named days if it names them ("Mondays and Thursdays"), else a count of days
    spread over the week ("3 times a week": Monday, Wednesday, Friday)."""
    days = named_days(frequency) or _SPREAD.get(days_per_week(frequency), [])
    rule: dict[str, object] = {"freq": "daily"}
    if 0 < len(days) < 7:
        rule = {"freq": "weekly", "byday": [_WEEKDAYS[i] for i in days]}
    if until:
        rule["until"] = dt.datetime.combine(until, dt.time(23, 59))
    return vRecur(rule)


def practice_calendar(view: ResourceView, *, practice_name: str = "") -> bytes:
    """An .ics with one recurring, alarmed event for the approved practice."""
    ws = view.worksheet
    when, minutes = str(ws.get("when") or ""), float(str(ws.get("duration_minutes") or 10))
    start_time = clock_time(when)
    start = dt.datetime.combine(max(today(), view.resource.created_at.date()),
                                start_time or DEFAULT_START)
    review = ws.get("review_date")
    until = dt.date.fromisoformat(str(review)) if review else None

    event = Event()
    event.add("uid", f"resource-{view.resource.id}@homework")
    event.add("dtstamp", view.resource.created_at)
    event.add("dtstart", start)  # floating: the client's own local time
    event.add("dtend", start + dt.timedelta(minutes=minutes))
    event.add("summary", str(ws.get("title") or "Practice time"))
    description = [str(ws.get("task") or "")]
    if not start_time and when:
        description.append(f"When: {when}")
    if ws.get("where"):
        description.append(f"Where: {ws['where']}")
    if ws.get("done_criteria"):
        description.append(f"Counts as done: {ws['done_criteria']}")
    event.add("description", "\n".join(d for d in description if d))
    event.add("rrule", _rule(str(ws.get("frequency") or ""), until))
    event.add("transp", "OPAQUE")
    event.add_component(_alarm("Coming up: " + str(ws.get("title") or "practice"),
                               dt.timedelta(minutes=-10)))
    event.add_component(_alarm("Done? Log how it went.", dt.timedelta(0), related_end=True))

    calendar = Calendar()
    calendar.add("prodid", f"-//{practice_name or 'Homework'}//Practice time//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    return calendar.to_ical()


def _alarm(text: str, trigger: dt.timedelta, *, related_end: bool = False) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", trigger, parameters={"RELATED": "END"} if related_end else {})
    return alarm
