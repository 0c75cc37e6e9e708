"""The offline drafter: fills the chosen template from the request, with no LLM at all.

What it takes from the request and the clinician, in order of precedence:

- the goal: the clinician's stated aim ("wants to get back to climbing"), in the client's
  second person, unless it is jargon or too thin; otherwise the template's plain goal,
  with the life event it follows ("after the layoff");
- `when`: a cue in the draft instruction ("tie it to this cue: after lunch", "tie it to the
  school run", "after she drops the kids off"), then the clinician's known daily cues, then
  a routine the request mentions ("coffee on the porch every morning"), then the
  template's default cue;
- `where`: a place the request names ("at his desk", "in the car park"), else the
  template's default place;
- the client's own words: a quoted thought, part or phrase ("'I'm a fraud'") shows in the
  goal and a step, quoted as theirs (left out of tone-checked text if it is harsh);
- the form: the instruction ("make it a voice note"), then `preferred_modality`, then hints in
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
from service.validation import language as lang
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
# A cue in the instruction: labelled ("tie it to this cue: ..."), tied ("tie it to the school
# run") or bare ("after she drops the kids off"). Its text is cut out before the rest is read
# for form and size, so "after she checks her phone" is a cue, not a switch to the app.
# Where a free-text cue ends: punctuation, or the next ask ("... and make it smaller").
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
_NOT_A_CUE = re.compile(r"\b(session|review|appointment|next week|this week)\b|"
                        r"^(an? |the )?(voice notes?|app|calendar|paper|worksheet|conversation)$",
                        re.I)
_SUBJECT = re.compile(r"\b(she|he|they)\b", re.I)
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
# The request speaks of the client; the worksheet speaks to them. Order matters: "she's"
# before "she" (else "you's"), "she orders" before "she" (else "you orders"), object "her"
# ("ask her to") before possessive "her" ("her coffee").
_PRONOUNS = (
    (r"\b(?:herself|himself|themselves|themself)\b", "yourself"),
    (r"\b(?:she|he)['’]s\s+((?:never|not|just|already|always)\s+)?(?=(?:been|got|gotten|had|"
     r"gone|done|made|lost|left|started|stopped|tried|taken|given|become)\b)", r"you've \1"),
    (r"\b(?:she|he)['’]s\b|\bthey['’]re\b", "you're"),
    (r"\bhim\b", "you"),  # "them" is as often the worries or the parts as the client
    (r"\bher(?=\s*(?:[.,;:!?)]|$)|\s+(?:to|and|or|with|about|at|in|on|up|down|out|off|back|"
     r"feel|a|an|the|that|this|when|if|so|too|again|through|from|for|into)\b)", "you"),
    (r"\b(?:her|his|their)\b", "your"),
    (r"\b(?:she|he|they)\b", "you"),
)
_SHE_VERB = re.compile(r"\b(?:she|he)\s+((?:also|always|never|often|usually|sometimes|only|"
                       r"just|still|really|even|then|now|already)\s+)?([a-z'’]+)\b", re.I)
_AND_VERB = re.compile(r"\band ([a-z]+s)(?= (?:a|an|the|her|his|their|some|it|to)\b)", re.I)
_IRREGULAR = {"is": "are", "was": "were", "has": "have", "does": "do", "goes": "go",
              "isn't": "aren't", "wasn't": "weren't", "hasn't": "haven't", "doesn't": "don't"}


def plain(text: str, template: Template) -> str:
    """Client text without the catalog's clinical terms or the template's name."""
    for pattern, replacement in _PLAIN:
        text = pattern.sub(replacement, text)
    return re.sub(re.escape(template.name), "this practice", text, flags=re.I)


def _base_verb(word: str) -> str:
    """"orders" -> "order", "tries" -> "try", "watches" -> "watch": the verb after "you"."""
    low = word.lower().replace("’", "'")
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if len(low) < 3 or not low.endswith("s") or low.endswith(("ss", "us", "is", "'s")):
        return word
    if low.endswith("ies") and len(low) > 4:
        return word[:-3] + "y"
    if low.endswith(("shes", "ches", "xes", "zes", "oes")):
        return word[:-2]
    return word[:-1]


def _keep_case(match: re.Match[str], replacement: str) -> str:
    """"She" at the start of a sentence becomes "You", not "you"."""
    return replacement[:1].upper() + replacement[1:] if match.group(0)[:1].isupper() \
        else replacement


def _second_person(text: str) -> str:
    """The request's "she orders her coffee" as the client reads it: "you order your coffee"."""
    if _SHE_VERB.search(text):  # "she drops the kids off and has a coffee": both verbs
        text = _AND_VERB.sub(lambda m: f"and {_base_verb(m.group(1))}", text)
    text = _SHE_VERB.sub(lambda m: _keep_case(m, f"you {m.group(1) or ''}{_base_verb(m.group(2))}"),
                         text)
    for pattern, replacement in _PRONOUNS:
        text = _sub_keeping_case(pattern, replacement, text)
    return text


def _sub_keeping_case(pattern: str, replacement: str, text: str) -> str:
    return re.sub(pattern, lambda m: _keep_case(m, m.expand(replacement)), text, flags=re.I)


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


# Places the request names, longest first ("car park" before "car" and "park"). Generic
# ones ("at work") count only when nothing more specific is named.
_PLACE_NOUNS = (
    "car park|parking lot|kitchen table|dining table|living room|front room|sitting room|"
    "staff room|break room|waiting room|locker room|school toilets|school gates?|bus stop|"
    "train station|garden shed|front door|back door|front step|doorstep|desk|garage|office|"
    "car|bedroom|bathroom|kitchen|lounge|sofa|couch|bath|shower|garden|shed|porch|balcony|"
    "patio|hallway|bus|train|tube|tram|platform|station|park|gym|library|classroom|toilets?|"
    "canteen|allotment|supermarket|shops?|café|cafe|church|pool|stairs")
_PLACE = re.compile(rf"\b(on|in|at|by|inside)\s+(the|her|his|their|my|your|a|an)\s+"
                    rf"((?:[a-z]+['’]s\s+|[a-z]+\s+(?=(?:{_PLACE_NOUNS})\b))?"
                    rf"(?:{_PLACE_NOUNS}))\b", re.I)
_GENERAL_PLACE = re.compile(r"\bat (work|school|uni|college|home)\b", re.I)


def named_place(request: str, *, in_the_moment: bool = True) -> str | None:
    """"at his desk" -> "At your desk": the place the request names, in the client's words.
    "At work" is where the trouble happens, so it is the place only for a practice done in
    the moment ("wherever it happens"), not for one done at a set place (a worry period)."""
    if m := _PLACE.search(request):
        prep, det, place = m.groups()
        det = "your" if det.lower() in {"her", "his", "their", "my"} else det.lower()
        return f"{prep.capitalize()} {det} {place.lower()}"
    if in_the_moment and (m := _GENERAL_PLACE.search(request)):
        return f"At {m.group(1).lower()}"
    return None


def _where(request: str, routine_place: str | None, default: str) -> str:
    in_the_moment = bool(re.search(r"\b(wherever|the place)\b", default, re.I))
    return (named_place(request, in_the_moment=in_the_moment) or find_place(request)
            or routine_place or default)


# The client's own words, quoted in the request: 'I'm a fraud', her 'reset', "floaty".
# An apostrophe inside a word ("I'm", "father's") neither opens nor closes a quote.
_QUOTE = re.compile(
    r"(?<![\w'’])['‘]((?:[^'‘’\n]|(?<=\w)['’](?=\w)){2,80}?)['’](?![\w'’])"
    r"|[\"“]([^\"“”\n]{2,80}?)[\"”]")
_THOUGHT_BEFORE = re.compile(
    r"\b(tell|tells|telling|told|say|says|saying|call|calls|calling|think|thinks|thinking|"
    r"thought|thoughts|hear|hears|hearing|voice|believes?|convinced|critic|labels?)\b", re.I)
_FIRST_PERSON = re.compile(r"^(i|i'm|i’m|i'll|i've|i am|you|you're|you’re|nobody|no one|"
                           r"everyone|everybody|why|what if)\b", re.I)
_NOT_THEIR_WORDS = re.compile(r"having the thought|\b(cbt|dbt|act|ifs|erp|pmr|homework|"
                              r"worksheet|template|technique|skill)\b", re.I)
_WORDS_STEP = {
    "thought": 'Your words for the thought: "{}".',
    "part": 'The part you named: the "{}".',
    "feeling": 'Your words for how it feels: "{}".',
    "word": 'In your own words: "{}".',
}


def _quote_kind(before: str, after: str, quote: str) -> str:
    """What the quoted words are, from what surrounds them: it decides how they are shown."""
    if re.match(r"\s*part\b", after, re.I):
        return "part"
    if (_FIRST_PERSON.match(quote) or _THOUGHT_BEFORE.search(before[-40:])
            or re.match(r"\s*thoughts?\b", after, re.I)):
        return "thought"
    return "feeling" if re.search(r"\bfeel(s|ing)?\s*$", before, re.I) else "word"


def client_words(request: str) -> tuple[str, str] | None:
    """(the client's first quoted words, their kind), skipping quoted techniques
    ("practise saying 'I'm having the thought that...'")."""
    for m in _QUOTE.finditer(request):
        quote = (m.group(1) or m.group(2)).strip()
        before = request[:m.start()]
        if (_NOT_THEIR_WORDS.search(quote) or len(quote.split()) > 12
                or re.search(r"\b(practi[sc]e|try|use|using)\s+(saying\s+)?$", before, re.I)):
            continue
        return quote, _quote_kind(before, request[m.end():], quote)
    return None


def _harsh(words: str) -> bool:
    """Harsh words ("you're worthless") stay out of the text the tone check reads."""
    return bool(lang.SHAMING.search(lang.NOT_SHAMING.sub("", words.lower())))


def _goal_with_words(goal: str, words: tuple[str, str] | None) -> str:
    """The goal names the client's thought or part when it is about thoughts or parts."""
    if not words or words[0].lower() in goal.lower():
        return goal
    quote, kind = words
    if kind == "thought" and re.search(r"\bthoughts?\b", goal, re.I):
        return f'{goal}, like "{quote}"'
    if kind == "part" and re.search(r"\bparts?\b", goal, re.I):
        return f'{goal}, like the "{quote}"'
    return goal


def _words_steps(words: tuple[str, str] | None, goal: str) -> list[str]:
    """One step that quotes the client, unless the goal already does or the words are harsh."""
    if not words or _harsh(words[0]) or words[0].lower() in goal.lower():
        return []
    return [_WORDS_STEP[words[1]].format(words[0])]


def _as_cue(cue: str) -> str:
    """A cue that reads as one: "the school run" -> "Right after the school run"."""
    cue = cue.strip().rstrip(".")
    if re.match(r"\d", cue):
        cue = f"At {cue}"
    elif not re.match(r"(?i)(right |straight |just )?(after|before|when|as soon as|once|at|on|"
                      r"during|first thing|every|each)\b", cue):
        cue = f"Right after {cue[0].lower()}{cue[1:]}"
    return cue[0].upper() + cue[1:]


def _usable_cue(cue: str) -> bool:
    """A vague cue ("when she can") would be a `missing_when` error: better the next source."""
    if len(cue) < 3 or _NOT_A_CUE.search(cue):
        return False
    return not lang.VAGUE_WHEN.search(cue) or bool(lang.TRIGGERED.search(cue))


def instruction_cue(instruction: str) -> tuple[str | None, str]:
    """(the cue the instruction asks for, the rest of the instruction, to read for form and
    size). A labelled cue is the clinician's wording, kept as typed unless it speaks of the
    client ("after she ..."); free text is put in the client's second person."""
    for pattern, as_typed in ((_CUE_LABEL, True), (_CUE_TIED, False), (_CUE_BARE, False)):
        m = pattern.search(instruction)
        if not m:
            continue
        raw = m.group(1).strip(" '\"“”‘’")
        cue = raw if as_typed and not _SUBJECT.search(raw) else _second_person(raw)
        if _usable_cue(cue):
            return _as_cue(cue), instruction[:m.start(1)] + instruction[m.end(1):]
    return None, instruction


def _when(request: str, asked_cue: str | None, preferences: Preferences,
          default: str) -> tuple[str, str | None]:
    if asked_cue:
        return asked_cue, None
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
    asked_cue, instruction = instruction_cue(instruction or "")
    level = _size(request_text, instruction)
    dose = template.minimum_viable_dose if level else template.default_practice
    modality = _modality(request_text, instruction, preferences)
    when, routine_place = _when(request_text, asked_cue, preferences, dose.cue)
    goal = derive_goal(request_text, template)
    words = client_words(request_text)
    shown_goal = _goal_with_words(goal, words)
    spoken_goal = goal if words and _harsh(words[0]) else shown_goal
    variation = getattr(template.variations, modality, template.variations.app)
    tracking = template.tracking if modality == "paper" else f"{variation} {template.tracking}"

    def client(text: str) -> str:
        return plain(text, template)

    return Worksheet(
        template_id=template.id,
        title=_title(preferences.homework_word or "practice", goal),
        goal=shown_goal,
        rationale=client(rationale_from(template, _gerund(spoken_goal))),
        task=client(dose.task), when=when,
        where=_where(request_text, routine_place, dose.where),
        duration_minutes=_duration(request_text, instruction, template, level),
        frequency=_frequency(dose.frequency, level), done_criteria=client(dose.done_criteria),
        tracking=client(tracking),
        obstacles=[Obstacle(obstacle=client(o.obstacle), plan=client(o.plan))
                   for o in template.obstacles],
        confidence=None, review_date=review_date, modality=modality,
        steps=[*_words_steps(words, goal), *(client(s) for s in (*template.steps, variation))],
        fields=list(template.fields),
    )
