"""Minimum necessary PHI: identifiers become placeholders before anything leaves the service.

Known identifiers (the client's names, preferred name, date of birth, external ids) are
matched whole-word and case-insensitively; pattern identifiers (emails, URLs, phone
numbers, record/MRN/NHS numbers, dates of birth, street addresses) by regular
expressions. The same value always gets the same placeholder, so restoring is exact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
           r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_STREET = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Place|Pl|"
           r"Crescent|Terrace|Gardens|Grove|Square|Boulevard|Blvd|Row|Hill|Mews|Walk)")

# Order matters: the more specific patterns run first.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("URL", re.compile(r"\b(?:https?://|www\.)[^\s<>\"')]*[^\s<>\"').,;:!?]", re.I)),
    ("RECORD", re.compile(
        r"\b(?:MRN|NHS(?:\s+(?:no|number))?|record(?:\s+(?:no|number))?|patient\s+id|"
        r"chart(?:\s+(?:no|number))?|client\s+id|case(?:\s+(?:no|number))?|ID)"
        r"[\s#:.]*(?:no\.?\s*)?[A-Z]{0,3}\d[\d -]{3,}\d\b", re.I)),
    ("DATE", re.compile(
        r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)\d{2}\b|\b(?:19|20)\d{2}-\d{2}-\d{2}\b|"
        rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\.?,?\s+(?:19|20)\d{{2}}\b|"
        rf"\b{_MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19|20)\d{{2}}\b", re.I)),
    ("PHONE", re.compile(
        r"(?<![\w+])(?:"
        r"(?:\+?1[\s.-]?)?\(\d{3}\)[\s.-]?\d{3}[\s.-]?\d{4}"  # US (555) 123-4567
        r"|(?:\+?1[\s.-])?\d{3}[\s.-]\d{3}[\s.-]\d{4}"  # US 555-123-4567
        r"|(?:\+44\s?(?:\(0\)\s?)?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}"  # UK
        r"|\+\d{1,3}[\s.-]?\d[\d\s.-]{6,}\d"  # other international
        r"|\d{10,11}"
        r")(?!\w)")),
    ("ADDRESS", re.compile(
        rf"\b\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Z][a-z'-]+\s+){{1,3}}{_STREET}\b\.?")),
    ("POSTCODE", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")),
)


_PLACEHOLDER = re.compile(r"\[?\b([A-Z]+(?:_[A-Z]+)*_\d+)\b\]?")


class Redactor:
    """Replaces the client's known identifiers and pattern identifiers, and restores them."""

    def __init__(self, known: list[str]) -> None:
        self.mapping: dict[str, str] = {}  # placeholder -> original
        self._counts: dict[str, int] = {}
        values = {k.strip() for k in known if k and len(k.strip()) > 1}
        self._known: list[re.Pattern[str]] = []
        for value in sorted(values, key=len, reverse=True):
            words = [re.escape(w) for w in value.split()]
            self._known.append(re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.I))
            if len(words) > 1:  # "Jane Doe" also covers "Jane" and "Doe" on their own
                self._known.extend(re.compile(r"(?<!\w)" + w + r"(?!\w)", re.I)
                                   for w in words if len(w) > 2)

    @staticmethod
    def _kind_of_known(value: str) -> str:
        if re.search(r"\d", value):
            return "CLIENT_DOB" if re.fullmatch(r"[\d/.\- a-zA-Z,]+", value) and re.search(
                r"(19|20)\d{2}", value) else "CLIENT_ID"
        return "CLIENT_NAME"

    def _placeholder(self, kind: str, value: str) -> str:
        folded = " ".join(value.lower().split())
        for placeholder, original in self.mapping.items():
            if " ".join(original.lower().split()) == folded:
                return placeholder
        self._counts[kind] = self._counts.get(kind, 0) + 1
        placeholder = f"[{kind}_{self._counts[kind]}]"
        self.mapping[placeholder] = value
        return placeholder

    def redact(self, text: str) -> str:
        """Emails and URLs first (they may contain a name), then known values, then patterns."""
        for kind, pattern in _PATTERNS[:2]:
            text = pattern.sub(self._replacer(kind), text)
        for pattern in self._known:
            text = pattern.sub(self._replacer(None), text)
        for kind, pattern in _PATTERNS[2:]:
            text = pattern.sub(self._replacer(kind), text)
        return text

    def _replacer(self, kind: str | None) -> Callable[[re.Match[str]], str]:
        """The placeholder for a match: of this pattern's kind, or a known value's own."""
        def replace(match: re.Match[str]) -> str:
            found = match.group(0)
            return self._placeholder(kind or self._kind_of_known(found), found)
        return replace

    def restore(self, value: Any) -> Any:
        """Puts the originals back in every string of a JSON-like value."""
        if isinstance(value, str):
            if not self.mapping:
                return value
            # also a placeholder whose brackets the model dropped: CLIENT_NAME_1
            return _PLACEHOLDER.sub(
                lambda m: self.mapping.get(f"[{m.group(1)}]", m.group(0)), value)
        if isinstance(value, list):
            return [self.restore(v) for v in value]
        if isinstance(value, dict):
            return {k: self.restore(v) for k, v in value.items()}
        return value
