"""What a clinician's request says about when and where (used by fixes and the offline drafter)."""

from __future__ import annotations

import re

_TIME = re.compile(r"\bat (\d{1,2}([:.]\d{2})?\s*(am|pm)|\d{1,2}[:.]\d{2})", re.I)
_CUE = re.compile(
    r"\b((?:right |straight |just )?(?:after|before|when (?:she|he|they|you) (?:gets?|wakes?|"
    r"arrives?|finish(?:es)?|sits? down)) [a-z' ]{3,40}?)(?=[,.;!?]|\band\b|$)", re.I)
_HABIT = re.compile(
    r"\b(?:has|have|drinks?|makes?|takes?|walks?|does|eats?) (?:her |his |their |a )?"
    r"([a-z]+(?: [a-z]+)?) (?:on|in|at) (?:the |her |his |their )?([a-z]+(?: [a-z]+)?) "
    r"every (morning|evening|night|day|lunchtime)", re.I)
_PLACE = re.compile(r"\b(?:on|in|at) (the (?:porch|garden|kitchen(?: table)?|car|bus|train|"
                    r"park|office|desk|sofa|bedroom|bathroom|balcony|gym|library|staff room|"
                    r"living room|dining table))\b", re.I)


def find_cue(request: str) -> str | None:
    """A time or an existing daily cue the request mentions, in client-facing words."""
    if m := _HABIT.search(request):
        return f"Right after your {m.group(3)} {m.group(1)}"
    if m := _CUE.search(request):
        cue = m.group(1).strip()
        cue = re.sub(r"\b(she|he|they) (gets?|wakes?|arrives?)", r"you \2", cue, flags=re.I)
        cue = re.sub(r"\b(her|his|their)\b", "your", cue, flags=re.I)
        return cue[0].upper() + cue[1:]
    if m := _TIME.search(request):
        return f"At {m.group(1)}"
    return None


def find_place(request: str) -> str | None:
    if m := _HABIT.search(request):
        return f"On the {m.group(2)}" if m.group(2) in ("porch", "balcony") else \
            f"In the {m.group(2)}"
    if m := _PLACE.search(request):
        return m.group(0)[0].upper() + m.group(0)[1:]
    return None
