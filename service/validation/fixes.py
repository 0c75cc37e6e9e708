"""One-click repairs: for each error (and the offline mark), the field values a clinician
can accept as they are."""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.catalog import Template
from service.validation.cues import find_cue
from service.worksheet import OFFLINE_MARK, Worksheet


def rationale_from(template: Template, goal: str) -> str:
    return template.rationale_skeleton.replace("{goal}", goal.strip().rstrip(".") or
                                               "what matters to you")


def _smaller(ws: Worksheet, template: Template) -> dict[str, Any] | None:
    """The template's smallest dose. The rating stays as it was: it was given for the bigger
    task, so the error stands until the client rates the smaller one again in session; a
    fix never turns the error into a mere "no rating" warning. At the smallest dose already,
    only the clinician can change the task."""
    small = template.minimum_viable_dose
    if ws.task == small.task and (ws.duration_minutes or 0) <= small.duration_minutes:
        return None
    return {"task": small.task, "duration_minutes": small.duration_minutes,
            "frequency": small.frequency, "done_criteria": small.done_criteria}


def suggest_fix(code: str, ws: Worksheet, template: Template | None, request_text: str,
                today: dt.date) -> dict[str, Any] | None:
    if code == "drafted_offline":
        return {"title": ws.title.replace(OFFLINE_MARK, "").strip()}
    if code == "missing_review":
        return {"review_date": (today + dt.timedelta(days=7)).isoformat()}
    if template is None:
        return None
    if code == "low_confidence":
        return _smaller(ws, template)
    practice = template.default_practice
    fixes: dict[str, dict[str, Any]] = {
        "missing_when": {"when": find_cue(request_text) or practice.cue},
        "missing_where": {"where": practice.where},
        "missing_duration": {"duration_minutes": practice.duration_minutes},
        "missing_frequency": {"frequency": practice.frequency},
        "missing_done_criteria": {"done_criteria": practice.done_criteria},
        "missing_rationale": {"rationale": rationale_from(template, ws.goal)},
        "rationale_not_linked_to_goal": {"rationale": rationale_from(template, ws.goal)},
        "missing_obstacle_plan": {"obstacles": [o.model_dump() for o in template.obstacles]},
    }
    return fixes.get(code)
