"""Client-facing wording: the request speaks of the client, the worksheet speaks to them.

Everything the offline drafter writes for the client passes through here: the catalog's
clinical terms and the template's name become plain words (`plain`), and the request's
third person ("she orders her coffee") becomes the client's second person ("you order your
coffee"). Kept apart so the readers of the request and the worksheet filler share one voice.
"""

from __future__ import annotations

import re

from service.catalog import Template

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
# What stands in for the template's name. After "a" or "the", "this practice" would read "a
# this practice skill": a name for a thing ("sleep diary") keeps its head noun ("the diary"),
# a name used of a tool ("a grounding app") becomes "an app for this practice", and any
# other name drops its article ("A grounding shows" -> "This practice shows").
_THING = re.compile(r"(?i)\b(diary|log|card|record|sheet|list|plan|chart|journal|ladder)$")
_TOOL = (r"app|audio|skill|sheet|card|guide|recording|script|exercise|routine|technique|alarm|"
         r"reminder|timer|slot|period|notebook|session")
_SENTENCE_START = re.compile(r"(?:^|[.!?]\s+|\n\s*)$")
_IRREGULAR = {"is": "are", "was": "were", "has": "have", "does": "do", "goes": "go",
              "isn't": "aren't", "wasn't": "weren't", "hasn't": "haven't", "doesn't": "don't"}


def capitalised(text: str) -> str:
    """"right after lunch" -> "Right after lunch"."""
    return text[:1].upper() + text[1:]


def uncapitalised(text: str) -> str:
    """"Get moving again" -> "get moving again", to run on inside a sentence."""
    return text[:1].lower() + text[1:]


def a_or_an(word: str) -> str:
    """The indefinite article for a word: "an app", "a skill"."""
    return "an" if word[:1].lower() in "aeiou" else "a"


def _stand_in(name: str, article: str | None, tool: str | None, plural: bool) -> str:
    """The words that replace the template's name and the article before it."""
    if plural:
        return "these practices"
    if article and (thing := _THING.search(name)):
        phrase = " ".join(filter(None, (thing.group(1).lower(), tool)))
    elif tool:
        phrase = f"{tool} for this practice"
    else:
        return "this practice"
    if not article:
        return phrase
    return f"{'the' if article.lower() == 'the' else a_or_an(phrase)} {phrase}"


def _without_name(text: str, name: str) -> str:
    """The template's name out of client text, with an article that fits what replaces it."""
    pattern = re.compile(rf"(?:\b(an?|the)\s+)?\b{re.escape(name)}(e?s)?\b"
                         rf"(?:\s+((?:{_TOOL})s?)\b)?", re.I)

    def replace(m: re.Match[str]) -> str:
        article, plural, tool = m.groups()
        words = _stand_in(name, article, tool and tool.lower(), bool(plural))
        at_start = _SENTENCE_START.search(text, 0, m.start())
        return capitalised(words) if at_start else words

    return pattern.sub(replace, text)


def plain(text: str, template: Template) -> str:
    """Client text without the catalog's clinical terms or the template's name."""
    for pattern, replacement in _PLAIN:
        text = pattern.sub(replacement, text)
    return _without_name(text, template.name)


def base_verb(word: str) -> str:
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
    return capitalised(replacement) if match.group(0)[:1].isupper() else replacement


def _sub_keeping_case(pattern: str, replacement: str, text: str) -> str:
    return re.sub(pattern, lambda m: _keep_case(m, m.expand(replacement)), text, flags=re.I)


def second_person(text: str) -> str:
    """The request's "she orders her coffee" as the client reads it: "you order your coffee"."""
    if _SHE_VERB.search(text):  # "she drops the kids off and has a coffee": both verbs
        text = _AND_VERB.sub(lambda m: f"and {base_verb(m.group(1))}", text)
    text = _SHE_VERB.sub(lambda m: _keep_case(m, f"you {m.group(1) or ''}{base_verb(m.group(2))}"),
                         text)
    for pattern, replacement in _PRONOUNS:
        text = _sub_keeping_case(pattern, replacement, text)
    return text


_MINUTES_IN_TEXT = re.compile(r"\b\d+(?:\.\d+)?(?=[- ]minutes?\b)")


def say_minutes(task: str, minutes: float) -> str:
    """A task that names its length ("one 5-minute activity") names `minutes` instead, so
    the task and `duration_minutes` never disagree."""
    return _MINUTES_IN_TEXT.sub(f"{minutes:g}", task, count=1)
