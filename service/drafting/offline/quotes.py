"""The client's own words, quoted in the request, shown in the draft as theirs.

A quoted thought, part or feeling ('I'm a fraud', her "people-pleaser" part, "floaty")
makes the worksheet recognisably the client's: it shows in the goal and in one step. Quoted
techniques ("practise saying 'I'm having the thought that...'") are the clinician's, not
the client's; harsh words ("you're worthless") stay out of the text the tone check reads.
"""

from __future__ import annotations

import re

from service.validation import language as lang

# 'I'm a fraud', her 'reset', "floaty". An apostrophe inside a word ("I'm", "father's")
# neither opens nor closes a quote.
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
_A_TECHNIQUE_TO_SAY = re.compile(r"\b(practi[sc]e|try|use|using)\s+(saying\s+)?$", re.I)
_WORDS_STEP = {
    "thought": 'Your words for the thought: "{}".',
    "part": 'The part you named: the "{}".',
    "feeling": 'Your words for how it feels: "{}".',
    "word": 'In your own words: "{}".',
}
# What the goal must be about for the client's words of that kind to join it.
_GOAL_ABOUT = {"thought": (re.compile(r"\bthoughts?\b", re.I), '{}, like "{}"'),
               "part": (re.compile(r"\bparts?\b", re.I), '{}, like the "{}"')}

Words = tuple[str, str]
"""(the quoted words, their kind: "thought", "part", "feeling" or "word")."""


def _quote_kind(before: str, after: str, quote: str) -> str:
    """What the quoted words are, from what surrounds them: it decides how they are shown."""
    if re.match(r"\s*part\b", after, re.I):
        return "part"
    if (_FIRST_PERSON.match(quote) or _THOUGHT_BEFORE.search(before[-40:])
            or re.match(r"\s*thoughts?\b", after, re.I)):
        return "thought"
    return "feeling" if re.search(r"\bfeel(s|ing)?\s*$", before, re.I) else "word"


def client_words(request: str) -> Words | None:
    """(the client's first quoted words, their kind), skipping quoted techniques
    ("practise saying 'I'm having the thought that...'")."""
    for m in _QUOTE.finditer(request):
        quote = (m.group(1) or m.group(2)).strip()
        before = request[:m.start()]
        if (_NOT_THEIR_WORDS.search(quote) or len(quote.split()) > 12
                or _A_TECHNIQUE_TO_SAY.search(before)):
            continue
        return quote, _quote_kind(before, request[m.end():], quote)
    return None


def harsh(words: Words | None) -> bool:
    """Harsh words ("you're worthless") stay out of the text the tone check reads."""
    if words is None:
        return False
    return bool(lang.SHAMING.search(lang.NOT_SHAMING.sub("", words[0].lower())))


def goal_with_words(goal: str, words: Words | None) -> str:
    """The goal names the client's thought or part when it is about thoughts or parts."""
    if not words or words[0].lower() in goal.lower() or words[1] not in _GOAL_ABOUT:
        return goal
    about, shown = _GOAL_ABOUT[words[1]]
    return shown.format(goal, words[0]) if about.search(goal) else goal


def words_steps(words: Words | None, goal: str) -> list[str]:
    """One step that quotes the client, unless the goal already does or the words are harsh."""
    if not words or harsh(words) or words[0].lower() in goal.lower():
        return []
    return [_WORDS_STEP[words[1]].format(words[0])]
