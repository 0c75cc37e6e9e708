"""The worksheet validator: what makes homework work, judged field by field."""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from rapidfuzz import fuzz
from rapidfuzz.process import extractOne

from service.catalog import Template, get_catalog
from service.validation import language as lang
from service.validation.fixes import suggest_fix
from service.worksheet import OFFLINE_MARK, Finding, Worksheet

_WORD = re.compile(r"[a-z][a-z']+")
_SUFFIX = re.compile(r"(ingly|edly|ings|ing|ness|ment|ful|ive|ies|ied|ed|es|ly|er|s)$")
READING_GRADE_LIMIT = 8.5
READING_MIN_WORDS = 30


def _stem(word: str) -> str:
    """bets/betting -> bet, walks/walking -> walk: enough to match a goal's word in the
    rationale."""
    stem = _SUFFIX.sub("", word) if len(word) > 3 else word
    if len(stem) < 3:
        stem = word
    if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
        stem = stem[:-1]  # a doubled consonant: bett(ing) -> bet
    return stem.rstrip("e")[:6] or word


def _words(text: str) -> list[str]:
    return [w.strip("'") for w in _WORD.findall(text.lower())
            if w not in lang.STOP and len(w) > 2]


def _root_fits(word: str, n: int) -> bool:
    """A short root names its own word ("flat", "flatter", "napping"), not a longer one
    that happens to start with it ("flatmates", "restaurant")."""
    if n > 4:
        return True
    rest = word[n:]
    if rest[:1] == word[n - 1:n]:  # a doubled consonant: nap-ping, sad-dest
        rest = rest[1:]
    return (rest or "_") in lang.SHORT_ROOT_ENDINGS


def _groups(words: list[str]) -> set[int]:
    out: set[int] = set()
    for word in words:
        for n in lang.ROOT_LENGTHS:
            if n > len(word):
                break
            ids = lang.ROOTS.get(word[:n]) if _root_fits(word, n) else None
            if ids:
                out |= ids
    return out


def _vague_when(when: str) -> bool:
    text = when.strip().lower()
    if len(text) < 3:
        return True
    if not lang.VAGUE_WHEN.search(text):
        return False
    if lang.TRIGGERED.search(text):
        return False
    return not lang.SPECIFIC_WHEN.search(lang.VAGUE_WHEN.sub(" ", text))


def _vague_frequency(frequency: str) -> bool:
    text = frequency.strip().lower()
    if len(text) < 3:
        return True
    if lang.TRIGGERED.search(text):
        return False
    if lang.VAGUE_FREQUENCY.search(text):
        return not lang.SPECIFIC_FREQUENCY.search(lang.VAGUE_FREQUENCY.sub(" ", text))
    return not lang.SPECIFIC_FREQUENCY.search(text)


def _substance(rationale: str) -> tuple[int, int]:
    """(content words, those that are more than praise): "a really useful exercise lots of
    people find helpful" has words, but nothing the client could repeat back."""
    content = [w for w in _WORD.findall(rationale.lower()) if w not in lang.STOP]
    return len(content), sum(w not in lang.PRAISE for w in content)


def _thin_rationale(rationale: str) -> bool:
    """Too short to repeat back, or a stock phrase ("it helps") with little around it."""
    content, substance = _substance(rationale)
    return content < 5 or (bool(lang.THIN_RATIONALE.search(rationale.lower())) and substance < 8)


def _linked(rationale: str, goal: str) -> bool:
    goal_words = [w for w in _words(goal) if w not in lang.GOAL_FILLER]
    if not goal_words:
        return True
    rat_words = _words(rationale)
    if not rat_words:
        return False
    rat_stems = {_stem(w) for w in rat_words}
    if any(_stem(w) in rat_stems for w in goal_words):
        return True
    if _groups(goal_words) & _groups(rat_words):
        return True
    long_rat = [w for w in set(rat_words) if len(w) >= 5]
    return any(extractOne(w, long_rat, scorer=fuzz.ratio, score_cutoff=82)
               for w in goal_words if len(w) >= 5)


def _has_plan(worksheet: Worksheet) -> bool:
    for item in worksheet.obstacles:
        plan = item.plan.strip().lower()
        if len(plan.split()) < 3 or lang.NON_PLAN.search(plan):
            continue
        if item.obstacle.strip() or re.search(r"\bif\b", plan, re.I):
            return True
    return False


def _multiple_tasks(task: str) -> bool:
    text = task.lower()
    if lang.NUMBERED.search(text):
        return True
    segments = [s.strip() for s in re.split(r",|;|\band then\b|\bthen\b|\band\b|\bplus\b|\.",
                                            text) if s.strip()]
    firsts = [s.split()[0] for s in segments]
    if sum(w in lang.ERRAND_VERBS for w in firsts) >= 2:
        return True
    led = [w for w in firsts if w in lang.TASK_VERBS]
    return len(led) >= 3 or (len(led) >= 2 and bool(re.search(r";|\bthen\b|\bplus\b|\balso\b",
                                                              text)))


def _client_text(ws: Worksheet, *, with_goal: bool) -> str:
    parts = [ws.title, ws.rationale, ws.task, ws.when, ws.where, ws.frequency,
             ws.done_criteria, ws.tracking, *ws.steps, *(o.plan for o in ws.obstacles),
             ws.backup_cue or "", ws.reward or ""]
    if with_goal:
        parts += [ws.goal, *(o.obstacle for o in ws.obstacles), ws.support_person or ""]
    return "\n".join(p for p in parts if p)


def _quoted_thought(text: str, quote: re.Match[str]) -> bool:
    """Words in the client's head, quoted: first person, or introduced as the critic's."""
    before = text[max(0, quote.start() - 40):quote.start()]
    return bool(lang.FIRST_PERSON.search(quote.group(0)) or lang.INTRODUCES_THOUGHT.search(before))


def _shaming(ws: Worksheet) -> bool:
    """A thought the worksheet names so the client can answer it (quoted in the first
    person, introduced as the critic's, or reported: "telling you you're useless") is not
    the worksheet's own voice; scare quotes ("a 'no excuses' week") still count."""
    text = _client_text(ws, with_goal=False).lower()
    text = lang.QUOTED.sub(lambda m: " " if _quoted_thought(text, m) else m.group(0), text)
    text = lang.REPORTED_THOUGHT.sub(" ", text)
    text = lang.NOT_SHAMING.sub("", text)
    return bool(lang.SHAMING.search(text))


def _risky(text: str) -> bool:
    return bool(lang.RISK.search(lang.NOT_RISK.sub("", text.lower())))


def _exposure_too_high(ws: Worksheet, request_text: str) -> bool:
    step = " ".join([ws.task, *ws.steps]).lower()
    if lang.HARDEST.search(step):
        return True
    step_levels = [int(n) for n in lang.STATED_DISTRESS.findall(step) if int(n) <= 100]
    if not step_levels:
        return False
    stated = [int(n) for n in lang.STATED_DISTRESS.findall(
        " ".join([request_text, ws.goal, ws.rationale]).lower()) if int(n) <= 100]
    top = max(step_levels)
    return top - min(stated) >= 30 if stated else top >= 80


def _not_for(template: Template, ws: Worksheet, request_text: str) -> str | None:
    """The first of the template's cautions the request or worksheet describes."""
    context = " ".join([request_text, ws.goal, ws.task, ws.title]).lower()
    if len(context) < 5:
        return None
    stems = {_stem(w) for w in _words(context)}
    for caution in template.not_for:
        for clause in lang.CAUTION_SPLIT.split(caution.lower()):
            words = [w for w in _words(clause) if w not in lang.CAUTION_FILLER]
            if not words or (len(words) == 1 and len(words[0]) < 5):
                continue
            hits = sum(_stem(w) in stems for w in words)
            if hits >= min(2, len(words)) and hits * 2 >= len(words):
                return caution
    return None


def _reading_grade(ws: Worksheet) -> float | None:
    text = " ".join(s if s.rstrip().endswith((".", "!", "?")) else s + "." for s in
                    [ws.rationale, ws.task, ws.done_criteria, *ws.steps] if s.strip())
    if len(text.split()) < READING_MIN_WORDS:
        return None
    import textstat  # a quarter second of import: paid by the start-up warm-up, not serve

    # textstat's own Flesch-Kincaid formula from its counts (its one-call helper is slower).
    words = textstat.lexicon_count(text)
    sentences = max(1, textstat.sentence_count(text))
    # Word by word, so textstat's per-argument cache serves repeat words across worksheets.
    syllables = sum(textstat.syllable_count(w) for w in _WORD.findall(text.lower()))
    return 0.39 * words / sentences + 11.8 * syllables / max(1, words) - 15.59


def _finding(code: str, field: str, message: str, ws: Worksheet, template: Template | None,
             request_text: str, today: dt.date) -> Finding:
    severity: Literal["error", "warning"] = "warning" if code in WARNINGS else "error"
    fix = suggest_fix(code, ws, template, request_text, today)
    return Finding(code=code, severity=severity, field=field, message=message, suggested_fix=fix)


WARNINGS = frozenset({"too_long", "missing_confidence", "multiple_tasks", "shaming_language",
                      "reading_level", "missing_tracking", "risk_content",
                      "exposure_step_too_high", "template_not_for", "drafted_offline"})


def _specificity(ws: Worksheet, template: Template | None) -> list[tuple[str, str, str]]:
    out = []
    if _vague_when(ws.when):
        out.append(("missing_when", "when", "Name a time or an existing daily cue "
                    "(e.g. “right after morning coffee”), not “sometime”."))
    if len(ws.where.strip()) < 3 or lang.VAGUE_WHERE.search(ws.where.lower()):
        out.append(("missing_where", "where", "Name the place where the practice happens."))
    if ws.duration_minutes is None or ws.duration_minutes <= 0:
        out.append(("missing_duration", "duration_minutes",
                    "Give how long it takes, in minutes (a positive number)."))
    elif template and ws.duration_minutes > template.max_duration_minutes:
        out.append(("too_long", "duration_minutes", f"Shorten it to at most "
                    f"{template.max_duration_minutes:g} minutes, this template's largest dose."))
    if _vague_frequency(ws.frequency):
        out.append(("missing_frequency", "frequency", "Say exactly how often "
                    "(e.g. “5 days a week” or “Mon, Wed and Fri”), not “regularly”."))
    if len(ws.done_criteria.split()) < 2 or lang.NON_ANSWER.search(ws.done_criteria.lower()):
        out.append(("missing_done_criteria", "done_criteria",
                    "Say what counts as done, so the client knows when they have done it."))
    return out


def _meaning(ws: Worksheet, today: dt.date) -> list[tuple[str, str, str]]:
    out = []
    linked = _linked(ws.rationale, ws.goal)
    # a rationale with substance but about something else is unlinked, not thin
    if _thin_rationale(ws.rationale) and (linked or _substance(ws.rationale)[1] < 5):
        out.append(("missing_rationale", "rationale", "Explain why this helps in words the "
                    "client could repeat back; “it will help” is too thin."))
    elif not linked:
        out.append(("rationale_not_linked_to_goal", "rationale",
                    "Tie the rationale to the client's stated goal."))
    if not _has_plan(ws):
        out.append(("missing_obstacle_plan", "obstacles",
                    "Add the likely obstacle with an if-then back-up plan."))
    if ws.confidence is None:
        out.append(("missing_confidence", "confidence",
                    "Ask the client in session how confident they are (1-10)."))
    elif ws.confidence < 7:
        out.append(("low_confidence", "confidence",
                    "Confidence is below 7: make the task smaller until it is 7 or more."))
    if ws.review_date is None or ws.review_date < today:
        out.append(("missing_review", "review_date",
                    "Set the review date to the next session (not in the past)."))
    if _multiple_tasks(ws.task):
        out.append(("multiple_tasks", "task", "Keep one small task; move the others to later."))
    if not ws.tracking.strip() or lang.NON_ANSWER.search(ws.tracking.lower()):
        out.append(("missing_tracking", "tracking", "Name the one thing to record, and how."))
    return out


def _tone_and_safety(ws: Worksheet, template: Template | None,
                     request_text: str) -> list[tuple[str, str, str]]:
    out = []
    if OFFLINE_MARK in ws.title:
        out.append(("drafted_offline", "title", "Drafted offline from the template, without an "
                    "LLM: check every field, then take this note out of the title, which the "
                    "client sees."))
    if _shaming(ws):
        out.append(("shaming_language", "steps", "Remove shaming or pass/fail words; "
                    "invite rather than judge (“you can't fail at this”)."))
    grade = _reading_grade(ws)
    if grade is not None and grade > READING_GRADE_LIMIT:
        out.append(("reading_level", "rationale", f"Simplify the wording: it reads at about "
                    f"grade {grade:.0f}; aim for grade 8 or below."))
    if _risky(_client_text(ws, with_goal=True) + "\n" + request_text):
        out.append(("risk_content", "task", "This mentions suicide, self-harm, harm to others "
                    "or abuse: check safety, and confirm the acknowledgement to approve."))
    if template and template.id == "exposure_practice" and _exposure_too_high(ws, request_text):
        out.append(("exposure_step_too_high", "task", "This step sits far above the client's "
                    "stated distress level; choose a lower step of the hierarchy."))
    if template and (caution := _not_for(template, ws, request_text)):
        out.append(("template_not_for", "template_id", f"The template warns against use with "
                    f"“{caution}”; check the fit before sending it."))
    return out


_WARMED: set[int] = set()


def _warm_syllables(catalog: dict[str, Template]) -> None:
    """Prime textstat's per-word syllable cache with the catalog's own vocabulary, once."""
    import textstat

    if id(catalog) in _WARMED:
        return
    _WARMED.add(id(catalog))
    words: set[str] = set()
    for t in catalog.values():
        text = " ".join([t.rationale_skeleton, t.tracking, *t.steps, *t.for_, *t.not_for,
                         t.default_practice.model_dump_json(), t.minimum_viable_dose.task,
                         *(o.obstacle + " " + o.plan for o in t.obstacles)])
        words.update(_WORD.findall(text.lower()))
    words.update(lang.COMMON_WORDS)
    for word in words:
        textstat.syllable_count(word)


def warm_up() -> None:
    """Import textstat and prime its cache now, so the first draft does not pay for it."""
    _warm_syllables(get_catalog())


def validate_worksheet(worksheet: Worksheet, *, today: dt.date, request_text: str = "",
                       catalog: dict[str, Template] | None = None) -> list[Finding]:
    """All findings for one worksheet; `ok` is false exactly when one is an error."""
    catalog = catalog if catalog is not None else get_catalog()
    _warm_syllables(catalog)
    template = catalog.get(worksheet.template_id)
    raw: list[tuple[str, str, str]] = []
    if template is None:
        raw.append(("unknown_template", "template_id", f"“{worksheet.template_id}” is not a "
                    "catalog template; choose one from the catalog."))
    raw += _specificity(worksheet, template) + _meaning(worksheet, today)
    raw += _tone_and_safety(worksheet, template, request_text)
    return [_finding(code, field, message, worksheet, template, request_text, today)
            for code, field, message in raw]
