"""The daily cues and places a clinician's request mentions, in the client's words.

A task gets done when it hangs on something that comes round every day by itself, so both
the validator's `missing_when` fix and the offline drafter look here for one: a routine
("has coffee on the porch every morning"), a daily moment ("after breakfast", "when she
gets home", "after brushing teeth", "on the porch with her coffee") or a set time ("at
6pm"). What a request also mentions but no task can hang on is not a cue: a clinical step
("before sleep restriction"), a life event ("after an affair disclosure"), a hard moment
("after a fight") or the small hours when the trouble happens ("panics at 2am").
"""

from __future__ import annotations

import re

Setting = tuple[str, str | None]
"""(a cue, in the client's words; the place that goes with it, if the request names one)."""

_POSS = r"(?:her|his|their|your|my)"
_MEAL = r"(?:coffee|cuppa|tea|breakfast|lunch|dinner|supper|brunch)"
# Daily acts, as (verb, its "she" form, its "-ing" form, what follows it, whether that is
# optional): "when she gets home", "after brushing her teeth", "once he has his lunch".
_ACTS = (
    ("get", "gets", "getting", r"up|home|in|back|dressed|out of bed|to (?:work|school)|"
                               r"off the (?:bus|train)", False),
    ("wake", "wakes", "waking", r"up", True),
    ("arrive", "arrives", "arriving", r"home|at (?:work|school)", True),
    ("finish", "finishes", "finishing", rf"work|school|(?:{_POSS} )?(?:shift|{_MEAL})", False),
    ("sit", "sits", "sitting", rf"down(?: (?:to|for|with) (?:{_POSS} |a )?{_MEAL})?", False),
    ("come", "comes", "coming", r"home|in from work|back from (?:work|school)", False),
    ("go", "goes", "going", r"(?:in)?to (?:work|school|bed)|home", False),
    ("leave", "leaves", "leaving", r"the house|home|for work|work|school", True),
    ("brush", "brushes", "brushing", rf"(?:{_POSS} )?teeth", False),
    ("feed", "feeds", "feeding", r"the (?:cat|dog|baby|kids|chickens|fish)", False),
    ("walk", "walks", "walking", r"the dog", False),
    ("drop", "drops", "dropping", r"the kids off|(?:the kids|them) (?:off )?at school", False),
    ("pick", "picks", "picking", r"(?:the kids|them) up", False),
    ("log", "logs", "logging", r"off|on", False),
    ("hang", "hangs", "hanging", rf"up (?:{_POSS} )?coat", False),
    ("have", "has", "having", rf"(?:{_POSS} |a )?(?:(?:morning|evening) )?(?:{_MEAL}|shower|bath)",
     False),
    ("make", "makes", "making", rf"(?:{_POSS} |a |the )?(?:(?:morning|evening) )?{_MEAL}", False),
    ("park", "parks", "parking", r"the car", True),
    ("clock", "clocks", "clocking", r"off|in|out", False),
    ("check", "checks", "checking", rf"(?:{_POSS} )?(?:phone|emails?)", False),
    ("shower", "showers", "showering", r"", True),
    ("drive", "drives", "driving", r"home|(?:in)?to work|off", False),
)
_YOU_FORM = {form: verb for verb, she, _, _, _ in _ACTS for form in (verb, she)}


def _act(verb: str, follows: str, optional: bool) -> str:
    if not follows:
        return verb
    return f"{verb}(?: (?:{follows}))?" if optional else f"{verb} (?:{follows})"


_BY_SUBJECT = "|".join(_act(f"(?:{verb}|{she})", f, o) for verb, she, _, f, o in _ACTS)
_BY_GERUND = "|".join(_act(ing, f, o) for _, _, ing, f, o in _ACTS)
# Daily moments named by a noun, after "after" or "before" only: "after breakfast".
_DAILY_NOUN = (
    rf"(?:(?:{_POSS}|the|a) )?(?:(?:morning|evening|daily) )?(?:{_MEAL}|walk|shower|bath|"
    rf"commute|prayers)|work|school|uni|college|class|bed|bedtime|(?:the )?school run|"
    rf"(?:the )?(?:school )?(?:drop-off|pick-up)|the gym|church|the kids' bedtime|"
    rf"(?:(?:{_POSS}|a|the|every|each) )?(?:(?:night|day|early|late) )?shifts?")
_DAILY = re.compile(
    r"\b(?P<lead>(?:right |straight |just )?(?:after|before|once|as soon as|when(?:ever)?))\s+"
    rf"(?:(?P<subject>she|he|they|you)\s+(?P<act>{_BY_SUBJECT})|(?P<gerund>{_BY_GERUND})|"
    rf"(?P<clause>the (?:kids|children) (?:are in bed|go to bed|are asleep|leave for school))|"
    rf"(?P<noun>{_DAILY_NOUN}))\b", re.I)
# "on the porch with her coffee": a daily moment named by its place and its drink.
_WITH_DRINK = re.compile(
    rf"\b(on|in|at) (?:the|{_POSS}) ([a-z]+) with (?:{_POSS} |a )?((?:(?:morning|evening) )?"
    rf"(?:coffee|cuppa|tea|breakfast))\b", re.I)
_ROUTINE = re.compile(
    r"\b(has|have|makes?|drinks?|eats?|brews?|grabs?|does|walks?|feeds?|reads?|orders?|takes?|"
    r"plays?|writes?)\s+((?:her|his|their|a|an|the)\s+)?([a-z]+(?:\s+[a-z]+)?)"
    r"(?:\s+(on|in|at)\s+((?:the|her|his|their)\s+[a-z]+(?:\s+[a-z]+)?|work|home|school))?"
    r"\s+(?:every|each)\s+(morning|evening|night|day|lunchtime)\b", re.I)
# Daily moments named by their place or time of day ("in her lunch break", "on the train to
# work", "at the coffee machine"), each with the place it binds, so `when` and `where` agree.
_MOMENTS: tuple[tuple[re.Pattern[str], str, str | None], ...] = tuple(
    (re.compile(p, re.I), cue, place) for p, cue, place in (
        (rf"\b(?:in|on|during|at) (?:{_POSS} |the |a )?lunch ?breaks?\b", "In your lunch break",
         "Somewhere quiet where you take your break"),
        (r"\bat lunch ?time\b", "At lunchtime", None),
        (r"\b(?:at|by) the (coffee machine|kettle|water cooler)\b", "When you get to the {0}",
         "At the {0}"),
        (r"\b(?:on|sitting on|in) the (train|bus|tube|tram) (to work|into work|home)\b",
         "When you sit down on the {0} {1}", "On the {0}"),
        (r"\bsitting on the (train|bus|tube|tram)\b", "When you sit down on the {0}",
         "On the {0}"),
        (rf"\b(?:on|during|for) (?:{_POSS} |the )?(?:morning )?commute\b", "On your commute",
         None),
        (r"\bin the shower\b", "When you step into the shower", "In the shower"),
        (r"\b(?:in|during) the evenings?\b|\b(?:every|each) evening\b",
         "In the evening, right after dinner", None),
    ))
_TROUBLE = re.compile(r"\b(panic\w*|flashbacks?|cravings?|urges?|attacks?|nightmares?|"
                      r"dissociat\w*|freez\w*|meltdowns?|drinks?|wine|beers?|vapes?|smokes?)",
                      re.I)
_DRIVE = re.compile(r"^before (?:you )?driv(?:e|ing) home$", re.I)
_HAVING = frozenset({"has", "have", "makes", "make", "drinks", "drink", "eats", "eat", "brews",
                     "brew", "grabs", "grab"})
# What a client does every day that is the trouble or the treatment, not a cue to hang on.
_NOT_A_ROUTINE = re.compile(
    r"\b(panic|attacks?|nightmares?|flashbacks?|cravings?|urges?|rows?|arguments?|fights?|"
    r"therap\w*|cbt|dbt|sessions?|meltdowns?|tantrums?|migraines?|headaches?|thoughts?|"
    r"worr\w*|drinks?|wine|beers?|pints?|vapes?|cigarettes?|smokes?|joints?|binges?)\b", re.I)
# A set time, except in the small hours: "panics at 2am" is when the trouble happens.
_TIME = re.compile(r"\bat (\d{1,2}([:.]\d{2})?\s*(am|pm)|\d{1,2}[:.]\d{2})", re.I)
_SMALL_HOURS = re.compile(r"^(?:(?:12|0?[1-4])(?:[:.]\d{2})?\s*am|0[0-4][:.]\d{2})$", re.I)
_PLACE = re.compile(r"\b(?:on|in|at) (the (?:porch|garden|kitchen(?: table)?|car|bus|train|"
                    r"park|office|desk|sofa|bedroom|bathroom|balcony|gym|library|staff room|"
                    r"living room|dining table))\b", re.I)


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _yours(text: str) -> str:
    """"her teeth" -> "your teeth": the request's client is the worksheet's "you"."""
    return re.sub(rf"\b{_POSS}\b", "your", text, flags=re.I)


def _place_phrase(prep: str, place: str) -> str:
    """"on", "the porch" -> "On the porch", "in", "her kitchen" -> "In your kitchen"."""
    return f"{prep.capitalize()} {_yours(place.lower())}"


def _routine(request: str) -> Setting | None:
    """("Right after your morning tea", place) from "makes tea every morning"."""
    m = _ROUTINE.search(request)
    if not m or _NOT_A_ROUTINE.search(m.group(3)):
        return None
    verb, det, thing, prep, place, time = (g.lower() if g else g for g in m.groups())
    if verb in _HAVING:
        cue = f"Right after your {time} {thing}" if time != "day" else f"Right after your {thing}"
    else:
        base = "do" if verb == "does" else verb[:-1] if verb.endswith("s") else verb
        obj = f"{'your ' if det and det.strip() in {'her', 'his', 'their'} else (det or '')}{thing}"
        cue = f"Right after you {base} {obj.strip()} in the {time}"
    return cue, _place_phrase(prep, place) if place else None


def _client_pronoun(request: str) -> str | None:
    """"she" or "he": whichever the request uses more, for the client it is about."""
    she = len(re.findall(r"\b(?:she|her|hers|herself)\b", request, re.I))
    he = len(re.findall(r"\b(?:he|him|his|himself)\b", request, re.I))
    return "she" if she > he else "he" if he > she else None


def _daily_moment(request: str) -> Setting | None:
    """"When you get home" from "when she gets home": the first daily moment named, and
    the client's own ("whenever he leaves" is the partner's, in a request about her)."""
    client = _client_pronoun(request)
    for m in _DAILY.finditer(request):
        lead = m["lead"].lower()
        if m["noun"] and not lead.endswith(("after", "before")):
            continue  # "when work" is no moment
        if m["subject"] and client and m["subject"].lower() in {"she", "he"} \
                and m["subject"].lower() != client:
            continue
        if m["subject"]:
            verb, _, rest = m["act"].partition(" ")
            what = " ".join(filter(None, ("you", _YOU_FORM[verb.lower()], rest)))
        else:
            what = m["gerund"] or m["clause"] or m["noun"]
        return _capitalised(f"{lead} {_yours(what)}"), None
    if drink_at := _WITH_DRINK.search(request):
        prep, place, drink = drink_at.groups()
        return f"With your {drink.lower()} {prep.lower()} the {place.lower()}", \
            _place_phrase(prep, f"the {place}")
    return None


def _moment(request: str) -> Setting | None:
    """("In your lunch break", None) from "on her lunch break": a moment named by its place or
    time of day, unless the clause is about the trouble ("panics on the train")."""
    for pattern, cue, place in _MOMENTS:
        for m in pattern.finditer(request):
            clause = re.split(r"[.;!?\n]", request[:m.start()])[-1]
            if _TROUBLE.search(clause):
                continue
            parts = [g.lower() for g in m.groups() if g]
            return cue.format(*parts), place.format(*parts) if place else None
    return None


def _set_time(request: str) -> str | None:
    """"At 6pm": the first time named outside the small hours."""
    for m in _TIME.finditer(request):
        if not _SMALL_HOURS.match(m.group(1).strip()):
            return f"At {m.group(1)}"
    return None


def _daily(request: str) -> Setting | None:
    """The request's daily cue, with its place: a routine, a daily moment, a named moment.
    "Before you drive home" is in the car, whatever else the request names."""
    found = _routine(request) or _daily_moment(request) or _moment(request)
    if found and not found[1] and _DRIVE.match(found[0]):
        return found[0], "In your car, before you set off"
    return found


def find_setting(request: str) -> Setting | None:
    """The request's daily cue with the place it binds, for a `where` that agrees with it."""
    return _daily(request)


def find_cue(request: str) -> str | None:
    """A daily cue, else a set time, the request mentions, in client-facing words."""
    if found := _daily(request):
        return found[0]
    return _set_time(request)


def find_place(request: str) -> str | None:
    """A place the request ties to a daily cue, or one of the everyday places it names."""
    if (found := _daily(request)) and found[1]:
        return found[1]
    if m := _PLACE.search(request):
        return _capitalised(m.group(0))
    return None
