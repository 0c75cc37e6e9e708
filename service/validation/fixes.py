"""One-click repairs: for each error, the field values a clinician can accept as they are."""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.catalog import Template
from service.validation.cues import find_cue
from service.worksheet import Worksheet


def rationale_from(template: Template, goal: str) -> str:
    return template.rationale_skeleton.replace("{goal}", goal.strip().rstrip(".") or
                                               "what matters to you")


def suggest_fix(code: str, ws: Worksheet, template: Template | None, request_text: str,
                today: dt.date) -> dict[str, Any] | None:
    if code == "missing_review":
        return {"review_date": (today + dt.timedelta(days=7)).isoformat()}
    if template is None:
        return None
    practice, small = template.default_practice, template.minimum_viable_dose
    fixes: dict[str, dict[str, Any]] = {
        "missing_when": {"when": find_cue(request_text) or practice.cue},
        "missing_where": {"where": practice.where},
        "missing_duration": {"duration_minutes": practice.duration_minutes},
        "missing_frequency": {"frequency": practice.frequency},
        "missing_done_criteria": {"done_criteria": practice.done_criteria},
        "missing_rationale": {"rationale": rationale_from(template, ws.goal)},
        "rationale_not_linked_to_goal": {"rationale": rationale_from(template, ws.goal)},
        "missing_obstacle_plan": {"obstacles": [o.model_dump() for o in template.obstacles]},
        "low_confidence": {"task": small.task, "duration_minutes": small.duration_minutes,
                           "frequency": small.frequency, "done_criteria": small.done_criteria,
                           "confidence": None},
    }
    return fixes.get(code)
