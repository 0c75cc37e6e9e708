"""The worksheet's goal, read from the request: the client's aim, never the template's.

A goal the client can own is the clinician's stated aim ("wants to get back to climbing")
in the client's second person, unless it names a method or a diagnosis or is too thin;
otherwise the template's plain goal, with the life event it follows ("after the layoff").
"""

from __future__ import annotations

import re

from service.catalog import Template
from service.drafting.offline.wording import capitalised, second_person, uncapitalised

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
_DANGLING = re.compile(r"\b(to|by|for|of|and|with|the|a|an|some|more)$", re.I)
_LIFE_EVENT = re.compile(
    r"\b(?:since|after)\s+((?:the|her|his|their|losing|a|an)\s+(?:[a-z]+\s+){0,2}?(?:layoff|"
    r"redundancy|job|breakup|break-up|divorce|move|funeral|loss|bereavement|diagnosis|surgery|"
    r"operation|accident|baby|birth|retirement|stroke|injury|illness|separation|miscarriage))\b",
    re.I)
# Verbs that double their last letter before "-ing" ("get" -> "getting").
_DOUBLING = frozenset({"get", "let", "stop", "sit", "run", "put", "cut", "plan", "set", "jog",
                       "chat"})

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


def _stated_aim(request: str) -> str | None:
    """The clinician's stated aim, if it is a plain, specific goal the client could own."""
    for m in _AIM.finditer(request):
        aim = m.group(1).strip(" ,'’-")
        words = aim.split()
        if (len(words) < 3 or not _AIM_VERB.match(words[0]) or _NOT_A_GOAL.search(aim)
                or _DANGLING.search(aim)):
            continue
        return capitalised(second_person(aim))
    return None


def _life_event(request: str) -> str | None:
    """"after the layoff": what the goal follows, when the request names a life event."""
    if m := _LIFE_EVENT.search(request):
        return f"after {second_person(m.group(1).lower())}"
    return None


def derive_goal(request: str, template: Template) -> str:
    """A plain-language goal from the request: the stated aim, or the template's plain goal."""
    if aim := _stated_aim(request):
        return aim
    goal = PLAIN_GOALS.get(template.id, GENERAL_GOAL)
    if event := _life_event(request):
        goal = f"{goal} {event}"
    return goal


def gerund(goal: str) -> str:
    """"Get moving again" -> "getting moving again", for "This step moves you toward ..."."""
    first, _, rest = goal.partition(" ")
    word = first.lower()
    if not _AIM_VERB.match(word):
        return uncapitalised(goal)
    if word == "be":
        ing = "being"
    elif word in _DOUBLING:
        ing = word + word[-1] + "ing"
    elif word.endswith("e") and not word.endswith(("ee", "ye", "oe")):
        ing = word[:-1] + "ing"
    else:
        ing = word + "ing"
    return f"{ing} {rest}".strip()
