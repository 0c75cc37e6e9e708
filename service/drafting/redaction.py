"""Minimum necessary PHI: identifiers become placeholders before anything leaves the service.

Known identifiers (the client's names, preferred name, date of birth in its many spellings,
external ids) are matched whole-word and case-insensitively; pattern identifiers (emails,
URLs, phone numbers, record/MRN/NHS numbers, SSNs, dates of birth, street addresses, ZIP
codes and postcodes) by regular expressions. The same value always gets the same
placeholder, so restoring is exact.

The patterns are deliberately narrow where the words are ordinary ones: a lower-case
"street", "road" or "drive" is an address only after a house number or "lives on", never
in "down the street", "a 10 minute drive" or "cross the road". Practice text (times, "10
minutes", "3 times a week", "the park", "the bus stop") must reach the model unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|"
           r"Aug(?:ust)?|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"  # 1..31, optionally zero-padded
_MONTH_NO = r"(?:0?[1-9]|1[0-2])"  # 1..12, optionally zero-padded
_ORDINAL = r"(?:st|nd|rd|th)?"

# Street types. Any of them ends an address after capitalised name words ("4 Elm Close");
# only the unambiguous ones do after lower-case words, since "walk", "way", "close",
# "place" or "hill" are everyday words ("a 10 minute walk", "at 3 close the laptop").
_STREET = (r"(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Close|Way|Court|Ct|Place|Pl|"
           r"Crescent|Terrace|Gardens|Grove|Square|Boulevard|Blvd|Row|Hill|Mews|Walk)")
_STREET_PLAIN = r"(?:street|road|rd|avenue|ave|lane|ln|drive|crescent|terrace|boulevard|blvd|mews)"
# Without a house number, "St" and "Dr" are as likely Saint and Doctor ("ask Dr Patel").
_STREET_UNNUMBERED = (r"(?:Street|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Crescent|Terrace|"
                      r"Boulevard|Blvd|Mews)")
# Words that are never part of a street's name: articles, prepositions, pronouns, and the
# units and adjectives of practice text ("2 blocks down the road", "a 20 minute drive").
_NOT_A_STREET_NAME = (
    r"(?:the|a|an|to|of|on|in|at|by|for|from|into|onto|down|up|along|across|over|past|"
    r"near|round|around|with|and|or|then|this|that|my|his|her|their|our|your|its|more|less|"
    r"times?|x|minutes?|mins?|hours?|hrs?|seconds?|secs?|days?|weeks?|months?|years?|"
    r"miles?|km|kilometres?|kilometers?|metres?|meters?|steps?|blocks?|laps?|am|pm|"
    r"long|short|quick|easy|little|busy|quiet)\b")
# One lower- or upper-case word of a street's name that is none of those.
_NAME_WORD = rf"(?!{_NOT_A_STREET_NAME})[a-z][a-z'-]*"
_HOUSE_NO = r"\b\d{1,5}[A-Za-z]?,?"  # 12, 221B, "12,"
_US_STATES = (r"(?:AL|AK|AZ|AR|CA|CO|CT|DE|DC|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|"
              r"MS|MO|MT|NE|NV|NH|NJ|NM|NY|NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|"
              r"WV|WI|WY)")
# Top-level domains that make a bare host ("example.org") a URL; word-like ones ("me",
# "us", "it", "in") are left out, or "home.Me too" (a missing space) would be one.
_TLDS = r"(?:com|org|net|edu|gov|info|biz|io|co|uk|ca|au|nz|ie|health|clinic|app|dev)"
_URL_TAIL = r"(?:/[^\s<>\"')]*[^\s<>\"').,;:!?])?"  # an optional path, without end punctuation

# (kind, pattern). A pattern with a group named "value" replaces only that group, so the
# context that found it ("DOB", "lives on", "zip") stays for the model to read.
Pattern = tuple[str, re.Pattern[str]]

# Run before the known identifiers: an email or a URL may contain the client's name.
_BEFORE_KNOWN: tuple[Pattern, ...] = (
    ("EMAIL", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    # with a scheme or www.: https://ehr.example/p/1, www.example.com
    ("URL", re.compile(r"\b(?:https?://|www\.)[^\s<>\"')]*[^\s<>\"').,;:!?]", re.I)),
    # a bare host with a path, whatever its TLD: ehr.example.com/p/1, ehr.example/p/1
    ("URL", re.compile(
        r"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,24}/[^\s<>\"')]*[^\s<>\"').,;:!?]",
        re.I)),
    # a bare host with a known TLD: example.org, portal.clinic.co.uk
    ("URL", re.compile(
        rf"\b(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+{_TLDS}\b(?![.-]\w){_URL_TAIL}", re.I)),
)

# Run after the known identifiers; order matters, the more specific patterns first.
_AFTER_KNOWN: tuple[Pattern, ...] = (
    # MRN 12345678, NHS number 943 476 5919, chart #8823145, MRN: A-1234567: a keyword, then
    # up to three letters (and a hyphen or slash), then a number of at least five digits, so
    # "record 10 - 20 minutes" stays.
    ("RECORD", re.compile(
        r"\b(?:MRN|NHS(?:\s+(?:no|number))?|record(?:\s+(?:no|number))?|patient\s+id|"
        r"chart(?:\s+(?:no|number))?|client\s+id|case(?:\s+(?:no|number))?|ID)"
        r"[\s#:.]*(?:no\.?\s*)?[A-Z]{0,3}[-/]?(?=(?:[ -]?\d){5})\d[\d -]{3,}\d\b", re.I)),
    # SSN 123-45-6789: the hyphenated 3-2-4 shape is one anywhere; spaced or run together
    # only after the keyword.
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("SSN", re.compile(
        r"\b(?:SSN|social\s+security(?:\s+(?:no|number))?)[\s#:.]*"
        r"(?P<value>\d{3}[\s-]?\d{2}[\s-]?\d{4})\b", re.I)),
    # After "DOB", "born" or "date of birth", any date shape, two-digit years included:
    # "DOB 12 Apr 87", "born April 12th", "D.O.B. 4.12.87".
    ("DATE", re.compile(
        r"\b(?:DOB|D\.O\.B|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+on)?)"
        r"[\s:.,-]*(?P<value>"
        rf"\d{{1,2}}{_ORDINAL}\s+(?:of\s+)?{_MONTHS}\b\.?(?:,?\s+\d{{4}}|,?\s+\d{{2}})?\b"
        rf"|{_MONTHS}\b\.?\s+\d{{1,2}}{_ORDINAL}(?:,?\s+\d{{4}}|,?\s+\d{{2}})?\b"
        r"|\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b)", re.I)),
    # Numeric dates with a four-digit year: 12/04/1987, 4-12-1987, 1987-04-12, 1987/04/12
    ("DATE", re.compile(rf"\b{_DAY}[/.-]{_DAY}[/.-](?:19|20)\d{{2}}\b")),
    ("DATE", re.compile(rf"\b(?:19|20)\d{{2}}[/.-]{_MONTH_NO}[/.-]{_DAY}\b")),
    # ... and with a two-digit year, one separator throughout: 4/12/87, 12.04.87
    ("DATE", re.compile(rf"(?<![\d/.-])\b{_DAY}([/.-]){_DAY}\1\d{{2}}(?![\d/.-]?\d)")),
    # Month names with a four-digit year: 12 April 1987, 12th Apr. 1987, April 12th, 1987
    ("DATE", re.compile(
        rf"\b\d{{1,2}}{_ORDINAL}\s+(?:of\s+)?{_MONTHS}\.?,?\s+(?:19|20)\d{{2}}\b|"
        rf"\b{_MONTHS}\.?\s+\d{{1,2}}{_ORDINAL},?\s+(?:19|20)\d{{2}}\b", re.I)),
    # US ZIP codes: ZIP+4 (90210-1234) anywhere; five digits only after "zip"/"postal
    # code" or a state's code ("Beverly Hills, CA 90210"), never "10000 steps".
    ("ZIP", re.compile(r"\b\d{5}-\d{4}\b")),
    ("ZIP", re.compile(
        r"\b(?:zip|zip\s*code|zipcode|postal\s*code)\b[\s#:.]*(?P<value>\d{5})\b", re.I)),
    ("ZIP", re.compile(rf"\b{_US_STATES},?\s+(?P<value>\d{{5}})\b")),
    ("PHONE", re.compile(
        r"(?<![\w+])(?:"
        r"(?:\+?1[\s.-]?)?\(\d{3}\)[\s.-]?\d{3}[\s.-]?\d{4}"  # US (555) 123-4567
        r"|(?:\+?1[\s.-])?\d{3}[\s.-]\d{3}[\s.-]\d{4}"  # US 555-123-4567
        r"|\(0\d{2,4}\)\s?\d{3,4}[\s-]?\d{3,4}"  # UK, area code in brackets: (020) 7946 0958
        r"|(?:\+44\s?(?:\(0\)\s?)?|0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}"  # UK 020 7946 0958
        r"|\+\d{1,3}[\s.-]?\d[\d\s.-]{6,}\d"  # other international
        r"|\d{10,11}"
        r")(?!\w)")),
    # A seven-digit local number only after a word that says so: "call 555 1234", since
    # "500-1000 steps" has the same shape.
    ("PHONE", re.compile(
        r"\b(?:phone|tel|telephone|mobile|cell|call|ring)(?:\s+(?:me|her|him|them|on|at))*"
        r"[\s:.#]*(?P<value>\d{3}[\s.-]\d{4})\b", re.I)),
    # Flat or unit numbers: Apt 4B, Flat 3, Unit 12
    ("ADDRESS", re.compile(r"\b(?:Apt|Apartment|Flat|Unit|Suite)\.?\s*#?\d{1,5}[A-Za-z]?\b")),
    # A house number, capitalised name words and any street type: 12 Acacia Avenue,
    # 221B Baker Street, 4 Elm Close
    ("ADDRESS", re.compile(rf"{_HOUSE_NO}\s+(?:[A-Z][a-z'-]+\s+){{1,3}}{_STREET}\b\.?")),
    # A house number, name words in any case and an unambiguous street type:
    # 12 acacia avenue, 9 maple drive (not "a 20 minute drive", "2 blocks down the road")
    ("ADDRESS", re.compile(
        rf"{_HOUSE_NO}\s+(?:{_NAME_WORD}\s+){{1,3}}{_STREET_PLAIN}\b\.?", re.I)),
    # No house number: capitalised name words and an unambiguous street type:
    # "lives on Acacia Avenue", "near Baker Street"
    ("ADDRESS", re.compile(rf"\b(?:[A-Z][a-z'-]+\s+){{1,3}}{_STREET_UNNUMBERED}\b\.?")),
    # No number, lower case: only where the text says it is where someone lives:
    # "lives on acacia avenue", "address is maple drive" (not "lives on the main road")
    ("ADDRESS", re.compile(
        r"\b(?:lives?|living|lived|address(?:\s+is)?|moved|staying)\s+(?:(?:on|at|in|to)\s+)?"
        rf"(?P<value>(?:{_NAME_WORD}\s+){{1,3}}{_STREET_PLAIN}\b\.?)", re.I)),
    # UK postcodes: SW1A 1AA, M1 1AE
    ("POSTCODE", re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b")),
)

# What a known identifier looks like when it is a date rather than an id: "1987-04-12",
# "4/12/87", "12 Apr 87", "April 12, 1987", "14 July".
_DATE_SHAPE = re.compile(
    rf"\d{{1,4}}[/.-]\d{{1,2}}[/.-]\d{{1,4}}"
    rf"|\d{{1,2}}{_ORDINAL}\s+(?:of\s+)?{_MONTHS}\.?(?:,?\s+\d{{2,4}})?"
    rf"|{_MONTHS}\.?\s+\d{{1,2}}{_ORDINAL}(?:,?\s+\d{{2,4}})?", re.I)

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
            # "Jane Doe" also covers "Jane" and "Doe" on their own; a date's words ("April",
            # "1987") are not identifiers on their own, so it is never split.
            if len(words) > 1 and not re.search(r"\d", value):
                self._known.extend(re.compile(r"(?<!\w)" + w + r"(?!\w)", re.I)
                                   for w in words if len(w) > 2)

    @staticmethod
    def _kind_of_known(value: str) -> str:
        if _DATE_SHAPE.fullmatch(value.strip()):
            return "CLIENT_DOB"
        if re.search(r"\d", value):
            return "CLIENT_ID"
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
        for kind, pattern in _BEFORE_KNOWN:
            text = pattern.sub(self._replacer(kind), text)
        for known in self._known:
            text = known.sub(self._replacer(None), text)
        for kind, pattern in _AFTER_KNOWN:
            text = pattern.sub(self._replacer(kind), text)
        return text

    def _replacer(self, kind: str | None) -> Callable[[re.Match[str]], str]:
        """The placeholder for a match (of this pattern's kind, or a known value's own);
        only the group named "value" when the pattern has one, its context kept."""
        def replace(match: re.Match[str]) -> str:
            group = "value" if "value" in match.re.groupindex else 0
            start, end = match.start(group), match.end(group)
            found = match.string[start:end]
            placeholder = self._placeholder(kind or self._kind_of_known(found), found)
            whole = match.group(0)
            offset = match.start()
            return whole[:start - offset] + placeholder + whole[end - offset:]
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
