"""The offline drafter: fills the chosen template from the request, with no LLM at all.

What it takes from the request and the clinician, in order of precedence:

- the goal: the clinician's stated aim ("wants to get back to climbing"), in the client's
  second person, unless it is jargon or too thin; otherwise the template's plain goal,
  with the life event it follows ("after the layoff");
- `when`: a cue in the draft instruction ("cue: after lunch"), then the clinician's known
  daily cues, then a routine the request mentions ("coffee on the porch every morning"),
  then the template's default cue;
- the form: the instruction ("as a voice note"), then `preferred_modality`, then hints in
  the request ("rather talk than write");
- the size: "tiny" in the request or "smaller" in the instruction gives the minimum viable
  dose; both, or "even smaller", halve it and make it less often.

Client-facing text is in plain words: no template names, acronyms or diagnoses. The
client's confidence is left empty: it is asked in session (contract: 1-10, below 7 the
task is made smaller), so `missing_confidence` is the one finding left for the clinician.
"""

from __future__ import annotations

import datetime as dt
import re

from service.catalog import Template
from service.validation.cues import find_cue, find_place
from service.validation.fixes import rationale_from
from service.worksheet import Modality, Obstacle, Preferences, Worksheet

_SMALL = re.compile(r"\b(tiny|small|little|gentle|low[- ]energy|easy|manageable|minimal|"
                    r"smaller|shorter|simpler|less)\b", re.I)
_SMALLER = re.compile(r"\b(smaller|shorter|simpler|easier|less|fewer|tiny|cut (it )?down|"
                      r"too (big|much|long|hard)|scale (it )?(back|down)|lighter)\b", re.I)
_EVEN_SMALLER = re.compile(r"\b(even|much|a lot|way) (smaller|shorter|simpler|easier|less)\b|"
                           r"\btiny\b", re.I)
_MINUTES = re.compile(r"\b(\d{1,3})[- ]?(?:minute|min)s?\b", re.I)
_FORMS: tuple[tuple[Modality, re.Pattern[str]], ...] = (
    ("voice_note", re.compile(r"\b(voice[- ]?(notes?|memos?)|rather talk|talk it out|dyslexi\w*|"
                              r"record(ing)? (it|herself|himself)|audio)\b", re.I)),
    ("calendar", re.compile(r"\b(calendar|diary reminder)\b", re.I)),
    ("app", re.compile(r"\b(app|phone|notes app|digital)\b", re.I)),
    ("conversation", re.compile(r"\b(conversation|talk it through with|tell (a|her|his) "
                                r"(friend|partner))\b", re.I)),
    ("paper", re.compile(r"\b(paper|printed|worksheet|on paper|written)\b", re.I)),
)
_CUE_IN_INSTRUCTION = re.compile(r"\bcue:\s*([^.;\n]{3,80})", re.I)
_AIM = re.compile(
    r"\b(?:wants?|would like|'d like|wd like|hopes?|hoping|goal is|aim is|so (?:she|he|they) "
    r"can|to be able)\s+(?:to\s+)?(?:be able to\s+)?((?:[a-z'’-]+\s+){1,14}?[a-z'’-]+)"
    r"(?=\s*(?:[.;!?,(]|$|\s-\s|\bbut\b|\bbecause\b|\bbefore\b|\bwhile\b))", re.I)
_AIM_VERB = re.compile(
    r"^(get|be|feel|do|go|start|stop|use|find|make|take|learn|ask|say|tell|talk|sleep|spend|"
    r"enjoy|notice|catch|check|face|cope|handle|manage|reach|respond|live|drive|walk|stay|keep|"
    r"eat|work|feel|speak|stand|put|park|ride|come|let|try|return|reconnect|reduce|cut|build|"
    r"sort|understand|see|write|read|practise|practice|spot|rate|track|test|set|relax|calm|"
    r"slow|bring|process|move|visit|leave|sit|play|join|run|give|treat|care|look|pick|plan)$",
    re.I)
# A stated aim that names the method, a diagnosis or nothing in particular is no goal.
_NOT_A_GOAL = re.compile(
    r"\b(cbt|dbt|act|ifs|erp|pmr|ba|mbrp|mbsr|mbct|emdr|it|this|that|them|something|"
    r"anything|worksheet|homework|template|technique|record|diary|card|log|plan|sheet|"
    r"depress\w*|anxiety disorder|ocd|ptsd|bpd|eupd|gad|mdd|phobia|insomnia|disorder|dx)\b",
    re.I)
_LIFE_EVENT = re.compile(
    r"\b(?:since|after)\s+((?:the|her|his|their|losing|a|an)\s+(?:[a-z]+\s+){0,2}?(?:layoff|"
    r"redundancy|job|breakup|break-up|divorce|move|funeral|loss|bereavement|diagnosis|surgery|"
    r"operation|accident|baby|birth|retirement|stroke|injury|illness|separation|miscarriage))\b",
    re.I)
_ROUTINE = re.compile(
    r"\b(has|have|makes?|drinks?|eats?|brews?|grabs?|does|walks?|feeds?|reads?|orders?|takes?|"
    r"plays?|writes?)\s+((?:her|his|their|a|an|the)\s+)?([a-z]+(?:\s+[a-z]+)?)"
    r"(?:\s+(?:on|in|at)\s+(?:the|her|his|their)\s+([a-z]+(?:\s+[a-z]+)?))?"
    r"\s+(?:every|each)\s+(morning|evening|night|day|lunchtime)\b", re.I)
_HAVING = frozenset({"has", "have", "makes", "make", "drinks", "drink", "eats", "eat", "brews",
                     "brew", "grabs", "grab"})

# The template's own plain goal when the request states none (unknown ids get a general one).
PLAIN_GOALS = {
    "behavioral_activation": "Get moving again",
    "thought_record": "Catch upsetting thoughts and see them more fairly",
    "exposure_practice": "Do more of what fear has been stopping",
    "behavioral_experiment": "Find out whether what you fear really happens",
    "values_action": "Do more of what matters to you",
    "cognitive_defusion": "Get some distance from sticky thoughts",
    "mindful_breathing": "Feel calmer during the day",
    "progressive_muscle_relaxation": "Let go of tension in your body",
    "mood_log": "See what lifts and lowers your mood",
    "dbt_diary_card": "Keep track of urges, feelings and skills each day",
    "dbt_skill_practice": "Use a skill that helps in hard moments",
    "parts_check_in": "Get to know the parts of you that show up",
    "sleep_diary": "Sleep better",
    "worry_time": "Spend less of the day worrying",
    "problem_solving": "Sort out one problem, one step at a time",
    "self_compassion_break": "Be kinder to yourself in hard moments",
    "couples_repair": "Feel closer after hard moments together",
    "assertive_request": "Ask clearly for what you need",
    "expressive_writing": "Make sense of what happened",
    "guided_reading": "Understand more about what is going on",
    "urge_surfing": "Ride out urges without acting on them",
    "grounding": "Come back to the here and now when it gets too much",
    "skill_rehearsal": "Use the skill from our session in everyday life",
}
GENERAL_GOAL = "Make one small, steady change"

# Catalog wording that is a clinician's term, in plain words for the client.
PLAIN_WORDS = (
    (r"\bshort DEAR MAN script\b", "short script (say what happened, how you feel, what you "
                                   "want, and why it helps)"),
    (r"\bDEAR MAN\b", "step-by-step"),
    (r"\bone defusion technique\b", "one way of stepping back from it"),
    (r"\bdefusion technique\b", "way of stepping back from the thought"),
    (r"\bone chosen DBT skill\b", "the skill you chose"),
    (r"\bDBT (skill|app)\b", r"skills \1"),
    (r"\bexposure ladder\b", "ladder of steps"),
    (r"\bexposure tracking app\b", "tracking app"),
    (r"\bthought record app\b", "notes app"),
    (r"\bthought records?\b", "thought sheet"),
    (r"\bPMR audio guide\b", "relaxation audio guide"),
    (r"\bguided self-compassion audio\b", "guided kindness audio"),
    (r"\bself-compassion break\b", "kindness break"),
    (r"\bguided urge surfing audio\b", "guided audio for riding out urges"),
    (r"\bdiary card\b", "daily card"),
    (r"\bthe mastery, pleasure and mood numbers\b", "the numbers for getting things done, "
                                                    "enjoyment and mood"),
    (r"\bRate mastery, pleasure and mood\b", "Rate getting things done, enjoyment and mood"),
    (r"\bmastery\b", "getting things done"),
)
_PLAIN = tuple((re.compile(p), r) for p, r in PLAIN_WORDS)
_PRONOUNS = ((r"\b(herself|himself|themselves|themself)\b", "yourself"),
             (r"\b(her|his|their)\b", "your"), (r"\b(she|he|they)\b", "you"),
             (r"\b(she's|he's|they're)\b", "you're"))


def plain(text: str, template: Template) -> str:
    """Client text without the catalog's clinical terms or the template's name."""
    for pattern, replacement in _PLAIN:
        text = pattern.sub(replacement, text)
    return re.sub(re.escape(template.name), "this practice", text, flags=re.I)


def _second_person(text: str) -> str:
    for pattern, replacement in _PRONOUNS:
        text = re.sub(pattern, replacement, text, flags=re.I)
    return text


def _stated_aim(request: str) -> str | None:
    """The clinician's stated aim, if it is a plain, specific goal the client could own."""
    for m in _AIM.finditer(request):
        aim = m.group(1).strip(" ,'’-")
        words = aim.split()
        if len(words) < 3 or not _AIM_VERB.match(words[0]) or _NOT_A_GOAL.search(aim):
            continue
        if re.search(r"\b(to|by|for|of|and|with|the|a|an|some|more)$", aim, re.I):
            continue
        aim = _second_person(aim)
        return aim[0].upper() + aim[1:]
    return None


def _life_event(request: str) -> str | None:
    if m := _LIFE_EVENT.search(request):
        event = _second_person(m.group(1).lower())
        return f"after {event}"
    return None


def derive_goal(request: str, template: Template) -> str:
    """A plain-language goal from the request: the stated aim, or the template's plain goal."""
    if aim := _stated_aim(request):
        return aim
    goal = PLAIN_GOALS.get(template.id, GENERAL_GOAL)
    if event := _life_event(request):
        goal = f"{goal} {event}"
    return goal


def _gerund(goal: str) -> str:
    """"Get moving again" -> "getting moving again", for "This step moves you toward ..."."""
    first, _, rest = goal.partition(" ")
    word = first.lower()
    if not _AIM_VERB.match(word):
        return goal[0].lower() + goal[1:]
    if word == "be":
        ing = "being"
    elif word in {"get", "let", "stop", "sit", "run", "put", "cut", "plan", "set", "jog", "chat"}:
        ing = word + word[-1] + "ing"
    elif word.endswith("e") and not word.endswith(("ee", "ye", "oe")):
        ing = word[:-1] + "ing"
    else:
        ing = word + "ing"
    return f"{ing} {rest}".strip()


def _routine_cue(request: str) -> tuple[str, str | None] | None:
    """("Right after your morning tea", place) from "makes tea every morning"."""
    m = _ROUTINE.search(request)
    if not m:
        return None
    verb, det, thing, place, time = (g.lower() if g else g for g in m.groups())
    if verb in _HAVING:
        cue = f"Right after your {time} {thing}" if time != "day" else f"Right after your {thing}"
    else:
        base = "do" if verb == "does" else verb[:-1] if verb.endswith("s") else verb
        obj = f"{'your ' if det and det.strip() in {'her', 'his', 'their'} else (det or '')}{thing}"
        cue = f"Right after you {base} {obj.strip()} in the {time}"
    where = None
    if place:
        where = f"On the {place}" if place in ("porch", "balcony", "patio", "step", "steps") \
            else f"In the {place}"
    return cue, where


def _as_cue(cue: str) -> str:
    cue = cue.strip().rstrip(".")
    if not re.match(r"(?i)(right |straight |just )?(after|before|when|as soon as|at|on|during|"
                    r"first thing|every|each)\b", cue):
        cue = f"Right after {cue[0].lower()}{cue[1:]}"
    return cue[0].upper() + cue[1:]


def _when(request: str, instruction: str, preferences: Preferences,
          default: str) -> tuple[str, str | None]:
    if m := _CUE_IN_INSTRUCTION.search(instruction):
        return _as_cue(m.group(1)), None
    if preferences.known_cues:
        return _as_cue(preferences.known_cues[0]), None
    if routine := _routine_cue(request):
        return routine
    if cue := find_cue(request):
        return cue, None
    return default, None


def _modality(request: str, instruction: str, preferences: Preferences) -> Modality:
    for form, pattern in _FORMS:
        if pattern.search(instruction):
            return form
    if preferences.preferred_modality:
        return preferences.preferred_modality
    for form, pattern in _FORMS[:-1]:
        if pattern.search(request):
            return form
    return "paper"


def _size(request: str, instruction: str) -> int:
    """0 the default practice, 1 the minimum viable dose, 2 smaller still."""
    level = 1 if _SMALL.search(request) else 0
    if _SMALLER.search(instruction):
        level += 2 if _EVEN_SMALLER.search(instruction) else 1
    return min(level, 2)


def _duration(request: str, instruction: str, template: Template, level: int) -> float:
    dose = template.minimum_viable_dose if level else template.default_practice
    if m := _MINUTES.search(instruction) or _MINUTES.search(request):
        minutes = float(m.group(1))
        if level == 2 and not _MINUTES.search(instruction):
            minutes = max(1.0, round(minutes / 2))
        return min(minutes, template.max_duration_minutes)
    if level == 2:
        return max(1.0, round(dose.duration_minutes / 2))
    return dose.duration_minutes


def _frequency(dose_frequency: str, level: int) -> str:
    if level == 2 and re.search(r"(?i)\b(once a day|daily|every day|each day|[5-7] days a "
                                r"week)\b", dose_frequency):
        return "3 days a week"
    return dose_frequency


def _title(word: str, goal: str) -> str:
    short = goal if len(goal) <= 60 else goal[:57].rsplit(" ", 1)[0] + "…"
    return f"Your {word}: {short[0].lower()}{short[1:]} (drafted offline)"


def draft_offline(*, request_text: str, template: Template, preferences: Preferences,
                  review_date: dt.date, instruction: str | None = None) -> Worksheet:
    """Honest by construction: the title says it was drafted offline."""
    instruction = instruction or ""
    level = _size(request_text, instruction)
    dose = template.minimum_viable_dose if level else template.default_practice
    modality = _modality(request_text, instruction, preferences)
    when, routine_place = _when(request_text, instruction, preferences, dose.cue)
    goal = derive_goal(request_text, template)
    variation = getattr(template.variations, modality, template.variations.app)
    tracking = template.tracking if modality == "paper" else f"{variation} {template.tracking}"

    def client(text: str) -> str:
        return plain(text, template)

    return Worksheet(
        template_id=template.id,
        title=_title(preferences.homework_word or "practice", goal),
        goal=goal,
        rationale=client(rationale_from(template, _gerund(goal))),
        task=client(dose.task), when=when,
        where=find_place(request_text) or routine_place or dose.where,
        duration_minutes=_duration(request_text, instruction, template, level),
        frequency=_frequency(dose.frequency, level), done_criteria=client(dose.done_criteria),
        tracking=client(tracking),
        obstacles=[Obstacle(obstacle=client(o.obstacle), plan=client(o.plan))
                   for o in template.obstacles],
        confidence=None, review_date=review_date, modality=modality,
        steps=[client(s) for s in (*template.steps, variation)],
        fields=list(template.fields),
    )
