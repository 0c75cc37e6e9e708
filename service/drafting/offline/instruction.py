"""The clinician's re-draft instruction, read by pattern: a cue, a form, a size.

With no LLM, "tie it to the school run", "make it a voice note" and "even smaller please"
must still change the draft. A cue is cut out of the instruction before the rest is read
for form and size, so "after she checks her phone" is a cue, not a switch to the app. The
request and the client's preferences fill in what the instruction leaves open.
"""

from __future__ import annotations

import re

from service.catalog import Template
from service.catalog.schema import Practice
from service.drafting.offline.setting import as_cue
from service.drafting.offline.wording import second_person
from service.validation import language as lang
from service.worksheet import Modality, Preferences

_SMALL = re.compile(r"\b(tiny|small|little|gentle|low[- ]energy|easy|manageable|minimal|"
                    r"smaller|shorter|simpler|less)\b", re.I)
_SMALLER = re.compile(r"\b(smaller|shorter|simpler|easier|less|fewer|tiny|cut (it )?down|"
                      r"too (big|much|long|hard)|scale (it )?(back|down)|lighter)\b", re.I)
_EVEN_SMALLER = re.compile(r"\b(even|much|a lot|way) (smaller|shorter|simpler|easier|less)\b|"
                           r"\btiny\b", re.I)
_MINUTES = re.compile(r"\b(\d{1,3})[- ]?(?:minute|min)s?\b", re.I)
_DAILY = re.compile(r"(?i)\b(once a day|daily|every day|each day|[5-7] days a week)\b")
_FORMS: tuple[tuple[Modality, re.Pattern[str]], ...] = (
    ("voice_note", re.compile(r"\b(voice[- ]?(notes?|memos?)|rather talk|talk it out|dyslexi\w*|"
                              r"record(ing)? (it|herself|himself)|audio)\b", re.I)),
    ("calendar", re.compile(r"\b(calendar|diary reminder)\b", re.I)),
    ("app", re.compile(r"\b(app|phone|notes app|digital)\b", re.I)),
    ("conversation", re.compile(r"\b(conversation|talk it through with|tell (a|her|his) "
                                r"(friend|partner))\b", re.I)),
    ("paper", re.compile(r"\b(paper|printed|worksheet|on paper|written)\b", re.I)),
)
# A cue in the instruction: labelled ("tie it to this cue: ..."), tied ("tie it to the school
# run") or bare ("after she drops the kids off"). A free-text cue ends at punctuation or at
# the next ask ("... and make it smaller").
_CUE_END = (r"(?=\s*(?:[.;,?!\n]|$|\b(?:and|but|then) (?:make|do|have|change|keep|use|put|"
            r"switch|turn|as)\b|\bplease\b|\bas an? \b|\bin an? \b))")
_CUE_LABEL = re.compile(r"\bcue:\s*([^.;\n]{3,200})", re.I)
_CUE_TIED = re.compile(
    r"\b(?:tie|tied|link|linked|attach|attached|anchor|anchored|hook|hooked|pair|paired|connect|"
    r"connected|stack|stacked)\s+(?:(?:it|this|that|the (?:task|practice))\s+)?(?:on\s*)?"
    rf"(?:to|with|onto)\s+([^.;,?!\n]{{3,80}}?){_CUE_END}", re.I)
_CUE_BARE = re.compile(
    r"(?:^|[,;.]\s*|\b(?:and|but|do it|make it|have it|move it|set it|please)\s+)"
    r"((?:right |straight |just )?(?:after|before|as soon as|once (?:she|he|they|you)\b|"
    rf"when(?:ever)?|first thing|at \d)[^.;,?!\n]{{2,80}}?){_CUE_END}", re.I)
# (pattern, whether a cue it finds is kept as typed): a labelled cue is the clinician's
# wording, kept unless it speaks of the client ("after she ..."); free text is reworded.
_CUE_PATTERNS = ((_CUE_LABEL, True), (_CUE_TIED, False), (_CUE_BARE, False))
_NOT_A_CUE = re.compile(r"\b(session|review|appointment|next week|this week)\b|"
                        r"^(an? |the )?(voice notes?|app|calendar|paper|worksheet|conversation)$",
                        re.I)
_SUBJECT = re.compile(r"\b(she|he|they)\b", re.I)


def _usable_cue(cue: str) -> bool:
    """A vague cue ("when she can") would be a `missing_when` error: better the next source."""
    if len(cue) < 3 or _NOT_A_CUE.search(cue):
        return False
    return not lang.VAGUE_WHEN.search(cue) or bool(lang.TRIGGERED.search(cue))


def instruction_cue(instruction: str) -> tuple[str | None, str]:
    """(the cue the instruction asks for, the rest of the instruction, to read for form and
    size). A labelled cue is the clinician's wording, kept as typed unless it speaks of the
    client ("after she ..."); free text is put in the client's second person."""
    for pattern, as_typed in _CUE_PATTERNS:
        m = pattern.search(instruction)
        if not m:
            continue
        raw = m.group(1).strip(" '\"“”‘’")
        cue = raw if as_typed and not _SUBJECT.search(raw) else second_person(raw)
        if _usable_cue(cue):
            return as_cue(cue), instruction[:m.start(1)] + instruction[m.end(1):]
    return None, instruction


def asked_form(instruction: str) -> Modality | None:
    """The form the instruction asks for, if it names one ("make it a voice note")."""
    return next((form for form, pattern in _FORMS if pattern.search(instruction)), None)


def form_texts(template: Template, form: Modality) -> tuple[str, str]:
    """(the template's variation for the form, the tracking that goes with it): both the
    first draft and a re-draft that changes the form log it the same way."""
    variation = getattr(template.variations, form, template.variations.app)
    tracking = template.tracking if form == "paper" else f"{variation} {template.tracking}"
    return variation, tracking


def asked_minutes(instruction: str) -> float | None:
    """Minutes the instruction names ("make it 5 minutes")."""
    m = _MINUTES.search(instruction)
    return float(m.group(1)) if m else None


def modality(request: str, instruction: str, preferences: Preferences) -> Modality:
    """The form: the instruction's, then the preferred one, then a hint in the request."""
    if form := asked_form(instruction):
        return form
    if preferences.preferred_modality:
        return preferences.preferred_modality
    for form, pattern in _FORMS[:-1]:
        if pattern.search(request):
            return form
    return "paper"


def size(request: str, instruction: str) -> int:
    """0 the default practice, 1 the minimum viable dose, 2 smaller still."""
    level = 1 if _SMALL.search(request) else 0
    if _SMALLER.search(instruction):
        level += 2 if _EVEN_SMALLER.search(instruction) else 1
    return min(level, 2)


def dose(template: Template, level: int) -> Practice:
    """The template's practice for that size: the default, or the minimum viable dose."""
    return template.minimum_viable_dose if level else template.default_practice


def duration(request: str, instruction: str, template: Template, level: int) -> float:
    """Minutes: the instruction's or the request's, else the dose's; halved at level 2."""
    if m := _MINUTES.search(instruction) or _MINUTES.search(request):
        minutes = float(m.group(1))
        if level == 2 and not _MINUTES.search(instruction):
            minutes = max(1.0, round(minutes / 2))
        return min(minutes, template.max_duration_minutes)
    if level == 2:
        return max(1.0, round(dose(template, level).duration_minutes / 2))
    return dose(template, level).duration_minutes


def frequency(dose_frequency: str, level: int) -> str:
    """Smaller still is also less often: a daily practice becomes three days a week."""
    return "3 days a week" if level == 2 and _DAILY.search(dose_frequency) else dose_frequency
