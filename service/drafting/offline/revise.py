"""An offline re-draft with an instruction: the previous revision, changed only as asked.

A re-draft follows the draft the clinician is looking at, edits included: rebuilding it
from the original request would undo each earlier change ("smaller" then "voice note"
would give the full-size task back). So the previous worksheet is the start and the
instruction changes only what it names: a cue (`when`, and `where` if the cue has a
place), a form (modality and tracking), a size (the template's minimum viable dose, then
half the time on fewer days) or a number of minutes. The next session's one-click
follow-ups (service.workflow.followups) use the same rules, adding their refusals. The
client re-rates confidence for any changed task.
"""

from __future__ import annotations

import datetime as dt

from service.catalog import Template
from service.drafting.offline import instruction as ask
from service.drafting.offline.setting import named_place
from service.drafting.offline.wording import plain, say_minutes
from service.history.streak import days_per_week
from service.validation.cues import find_place
from service.worksheet import Modality, Worksheet


def _fewer_days(frequency: str, dose_frequency: str, *, at_dose: bool) -> str:
    """The dose's frequency if it asks no more days; once the task is the dose, or when the
    dose asks more, two days a week fewer (never below once a week)."""
    before = days_per_week(frequency)
    if not at_dose and days_per_week(dose_frequency) <= before:
        return dose_frequency
    fewer = max(1, before - 2)
    return "once a week" if fewer == 1 else f"{fewer} days a week"


def smaller(ws: Worksheet, template: Template) -> Worksheet:
    """The minimum viable dose; once the task is the dose, half the time on fewer days.
    Never longer or more often than before; at one minute once a week it stays as it is
    (a re-draft must not fail: the clinician can still change its form or cue)."""
    dose = template.minimum_viable_dose
    task = plain(dose.task, template)
    before = ws.duration_minutes or template.default_practice.duration_minutes
    at_dose = say_minutes(ws.task, 0) == say_minutes(task, 0)  # whatever length it says
    if at_dose and before <= 1 and days_per_week(ws.frequency) <= 1:
        return ws
    shorter = dose.duration_minutes < before and not at_dose
    minutes = dose.duration_minutes if shorter else max(1.0, float(before // 2))
    return ws.model_copy(update={
        "task": say_minutes(task, minutes), "duration_minutes": minutes,
        "done_criteria": plain(dose.done_criteria, template),
        "frequency": _fewer_days(ws.frequency, dose.frequency, at_dose=at_dose)})


def other_form(ws: Worksheet, template: Template, form: Modality) -> Worksheet:
    """The same task in another form, logged as the template's variation for it says; the
    step naming the old form's variation is swapped for the new one."""
    if form == ws.modality:
        return ws
    old_variation, _ = ask.form_texts(template, ws.modality)
    variation, tracking = ask.form_texts(template, form)
    old_step, new_step = plain(old_variation, template), plain(variation, template)
    steps = [new_step if s == old_step else s for s in ws.steps]
    return ws.model_copy(update={"modality": form, "tracking": plain(tracking, template),
                                 "steps": steps})


def other_cue(ws: Worksheet, cue: str) -> Worksheet:
    """The new cue; a cue bound to a place ("on the train to work") moves `where` too, so
    the two never contradict each other."""
    place = named_place(cue) or find_place(cue)
    return ws.model_copy(update={"when": cue, "where": place or ws.where})


def revise(previous: Worksheet, *, template: Template, instruction: str,
           review_date: dt.date) -> Worksheet:
    """The previous worksheet with only the instruction's changes, for the new review."""
    cue, rest = ask.instruction_cue(instruction)
    ws = previous.model_copy(update={"review_date": review_date, "confidence": None})
    if cue:
        ws = other_cue(ws, cue)
    if form := ask.asked_form(rest):
        ws = other_form(ws, template, form)
    for _ in range(ask.size("", rest)):
        ws = smaller(ws, template)
    if (minutes := ask.asked_minutes(rest)) is not None:
        ws = ws.model_copy(update={"duration_minutes": min(max(minutes, 1.0),
                                                           template.max_duration_minutes)})
    return ws
