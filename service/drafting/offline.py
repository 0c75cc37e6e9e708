"""The offline drafter: fills the chosen template from the request, with no LLM at all."""

from __future__ import annotations

import datetime as dt
import re

from service.catalog import Template
from service.validation.cues import find_cue, find_place
from service.validation.fixes import rationale_from
from service.worksheet import Modality, Obstacle, Preferences, Worksheet

_SMALL = re.compile(r"\b(tiny|small|little|gentle|low[- ]energy|easy|manageable|minimal)\b", re.I)
_MINUTES = re.compile(r"\b(\d{1,3})[- ]?(?:minute|min)s?\b", re.I)
_VOICE = re.compile(r"\b(voice[- ]?notes?|rather talk|talk it out|dyslexi\w*|record(ing)?)\b",
                    re.I)
_APP = re.compile(r"\b(app|phone|notes app)\b", re.I)
_GOAL = re.compile(r"\b(?:wants?|would like|hopes?|goal is|aim is) (?:to )?(?:a |an )?"
                   r"([^.;!?]{6,90})", re.I)


def _modality(request: str, preferences: Preferences) -> Modality:
    if preferences.preferred_modality:
        return preferences.preferred_modality
    if _VOICE.search(request):
        return "voice_note"
    if _APP.search(request):
        return "app"
    return "paper"


def _goal(request: str, template: Template) -> str:
    if m := _GOAL.search(request):
        return m.group(1).strip().rstrip(",")[0].upper() + m.group(1).strip().rstrip(",")[1:]
    return f"Cope better with {template.for_[0]}"


def _duration(request: str, template: Template, small: bool) -> float:
    dose = template.minimum_viable_dose if small else template.default_practice
    if m := _MINUTES.search(request):
        return min(float(m.group(1)), template.max_duration_minutes)
    return dose.duration_minutes


def draft_offline(*, request_text: str, template: Template, preferences: Preferences,
                  review_date: dt.date, instruction: str | None = None) -> Worksheet:
    """Honest by construction: the title says it was drafted offline."""
    instruction = (instruction or "").lower()
    small = bool(_SMALL.search(request_text)) or "smaller" in instruction
    dose = template.minimum_viable_dose if small else template.default_practice
    modality = _modality(request_text + " " + instruction, preferences)
    cue = (instruction.split("cue:", 1)[1].strip().capitalize() if "cue:" in instruction
           else None) or (preferences.known_cues[0] if preferences.known_cues else None)
    word = preferences.homework_word or "practice"
    variation = getattr(template.variations, modality, template.variations.paper)
    return Worksheet(
        template_id=template.id,
        title=f"Your {word}: {template.name} (drafted offline)",
        goal=_goal(request_text, template),
        rationale=rationale_from(template, _goal(request_text, template).lower()),
        task=dose.task, when=cue or find_cue(request_text) or dose.cue,
        where=find_place(request_text) or dose.where,
        duration_minutes=_duration(request_text, template, small),
        frequency=dose.frequency, done_criteria=dose.done_criteria, tracking=template.tracking,
        obstacles=[Obstacle(obstacle=o.obstacle, plan=o.plan) for o in template.obstacles],
        confidence=None, review_date=review_date, modality=modality,
        steps=[*template.steps, variation], fields=list(template.fields),
    )
