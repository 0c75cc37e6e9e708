"""When and where the practice happens, read from what the clinician gave.

A task tied to an existing daily cue and a real place gets done; a template's generic cue
and place are the last resort. `when`: the cue the instruction asks for, then the
clinician's known daily cues, then a daily cue the request mentions (a routine such as
"coffee on the porch every morning", a moment such as "when she gets home", a set time;
see service.validation.cues). `where`: a place the request names ("at his desk", "in the
car park"), then the place of its routine; but a place the chosen cue is bound to ("at the
coffee machine") comes first, so `when` and `where` never disagree.
"""

from __future__ import annotations

import re

from service.drafting.offline.wording import capitalised, uncapitalised
from service.validation.cues import find_cue, find_place, find_setting
from service.worksheet import Preferences

_A_CUE_ALREADY = re.compile(r"(?i)(right |straight |just )?(after|before|when|as soon as|once|at|"
                            r"on|during|first thing|every|each)\b")

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
_IN_THE_MOMENT = re.compile(r"\b(wherever|the place)\b", re.I)


def as_cue(cue: str) -> str:
    """A cue that reads as one: "the school run" -> "Right after the school run"."""
    cue = cue.strip().rstrip(".")
    if re.match(r"\d", cue):
        cue = f"At {cue}"
    elif not _A_CUE_ALREADY.match(cue):
        cue = f"Right after {uncapitalised(cue)}"
    return capitalised(cue)


def when(request: str, asked_cue: str | None, preferences: Preferences, default: str) -> str:
    """The cue the task is tied to, from the first source that has one."""
    if asked_cue:
        return asked_cue
    if preferences.known_cues:
        return as_cue(preferences.known_cues[0])
    return find_cue(request) or default


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


def where(request: str, default: str, cue: str | None = None) -> str:
    """The place the request's cue binds ("on the train to work": on the train), when that
    cue is the draft's `when`, so the two agree; else the place the request names, or ties
    to a routine, else the template's."""
    if cue is not None and (found := find_setting(request)) and found[0] == cue and found[1]:
        return found[1]
    in_the_moment = bool(_IN_THE_MOMENT.search(default))
    return named_place(request, in_the_moment=in_the_moment) or find_place(request) or default
