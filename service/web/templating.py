"""Jinja2 for the pages: autoescaped, with the CSRF token and the signed-in name."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from service.config import ROOT
from service.web.security import CLINICIAN_KEY, csrf_token
from service.worksheet import if_then

templates = Jinja2Templates(directory=ROOT / "review_ui" / "templates")
# Templates are read once: no stat of every template file on every render (the profile of
# the review page showed it). Restart the server to pick up an edited template.
templates.env.auto_reload = False

FIELD_LABELS = {
    "title": "Title", "goal": "The client's goal", "rationale": "Why this helps",
    "task": "The one small task", "when": "When (time or daily cue)", "where": "Where",
    "duration_minutes": "How long (minutes)", "frequency": "How often",
    "done_criteria": "What counts as done", "tracking": "How to log it",
    "obstacles": "If-then plan", "confidence": "Confidence (1-10)",
    "review_date": "Review date", "modality": "Form", "steps": "Steps",
    "fields": "Fields to fill in", "backup_cue": "Back-up cue", "reward": "Reward",
    "support_person": "Support person", "template_id": "Template",
}
templates.env.globals["FIELD_LABELS"] = FIELD_LABELS
templates.env.globals["if_then"] = if_then


def field_text(value: Any) -> str:
    """A worksheet value as a person reads it (in diffs and suggested fixes): "5" not "5.0",
    steps one after another, if-then plans as sentences, a dash for nothing."""
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict) and {"obstacle", "plan"} >= set(value):
        return if_then(value.get("obstacle"), value.get("plan"))
    if isinstance(value, list):
        return "; ".join(field_text(v) for v in value)
    return str(value)


templates.env.filters["field_text"] = field_text


def render(request: Request, name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("signed_in", CLINICIAN_KEY in request.session)
    return templates.TemplateResponse(request, name, {"csrf": csrf_token(request), **context},
                                      status_code=status_code)
