"""Minimum necessary PHI: identifiers become placeholders before anything leaves the service.

Known identifiers (the client's names and each of their words, preferred name, date of birth
in its many spellings, external ids) are matched whole-word and case-insensitively (a
two-letter word of a name, "Li", only capitalised), accents and apostrophes folded on both
sides ("Zoe" for "Zoë", "O’Neill" for "O'Neill"); pattern identifiers (emails,
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
import unicodedata
from collections.abc import Callable
from functools import lru_cache
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
    # After "MRN" (a keyword that is never practice text), a number of any length: MRN 0012.
    ("RECORD", re.compile(
        r"\b(?:MRN|M\.R\.N\.?|medical\s+record\s+(?:no|number))[\s#:.]*(?:no\.?\s*|is\s+)?"
        r"(?P<value>[A-Z]{0,3}[-/]?\d[\d-]*\d|[A-Z]{0,3}[-/]?\d)\b", re.I)),
    # SSN 123-45-6789: the hyphenated 3-2-4 shape is one anywhere; spaced or run together
    # only after the keyword.
    ("SSN", re.compile(r"\b\d{3}-\d{2}-\d{4}\b")),
    ("SSN", re.compile(
        r"\b(?:SSN|social\s+security(?:\s+(?:no|number))?)[\s#:.]*"
        r"(?P<value>\d{3}[\s-]?\d{2}[\s-]?\d{4})\b", re.I)),
    # After "DOB", "born" or "date of birth", any date shape, two-digit years included:
    # "DOB 12 Apr 87", "born April 12th", "D.O.B. 4.12.87", "DOB March 1990", "born 03/1990".
    ("DATE", re.compile(
        r"\b(?:DOB|D\.O\.B|date\s+of\s+birth|birth\s*date|birthday|born(?:\s+(?:on|in))?)"
        r"[\s:.,-]*(?P<value>"
        rf"\d{{1,2}}{_ORDINAL}\s+(?:of\s+)?{_MONTHS}\b\.?(?:,?\s+\d{{4}}|,?\s+\d{{2}})?\b"
        rf"|{_MONTHS}\b\.?\s+\d{{1,2}}{_ORDINAL}(?:,?\s+\d{{4}}|,?\s+\d{{2}})?\b"
        rf"|{_MONTHS}\b\.?,?\s+(?:\d{{4}}\b|'\d{{2}}\b)"  # month and year: March 1990
        r"|\d{1,2}[/.-](?:19|20)\d{2}\b"  # 03/1990
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
    rf"|{_MONTHS}\.?\s+\d{{1,2}}{_ORDINAL}(?:,?\s+\d{{2,4}})?"
    rf"|{_MONTHS}\.?,?\s+(?:\d{{4}}|'\d{{2}})", re.I)

_PLACEHOLDER = re.compile(r"\[?\b([A-Z]+(?:_[A-Z]+)*_\d+)\b\]?")
_PLACEHOLDER_SPAN = re.compile(r"\[[A-Z]+(?:_[A-Z]+)*_\d+\]")

# --- known values: folding, and the patterns of a name ------------------------------------

# Apostrophes and hyphens as typed on phones and in word processors ("O’Neill", "Mary‑Jane")
# and letters that Unicode does not decompose into a base and an accent.
_FOLD_CHARS = {
    **dict.fromkeys("\u2019\u2018\u201b\u02bc\u02bb`\u00b4\u2032\uff07", "'"),
    **dict.fromkeys("\u2010\u2011", "-"), "\u00ad": "",
    "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ð": "d", "Ð": "D",
    "æ": "ae", "Æ": "AE", "œ": "oe", "Œ": "OE", "ß": "ss", "ı": "i", "þ": "th", "Þ": "Th",
}

# Two-letter words of everyday English (and titles) that are also names ("An", "Do", "He"):
# at the start of a sentence they are the word ("Do this after dinner"), so on their
# own they are the client's name only mid-sentence ("her mum calls her Do").
_SHORT_WORDS = frozenset({
    "ah", "am", "an", "as", "at", "be", "by", "do", "dr", "eh", "go", "ha", "he", "hi",
    "if", "in", "is", "it", "jr", "me", "mr", "ms", "mx", "my", "no", "of", "oh", "ok",
    "on", "or", "so", "sr", "st", "to", "up", "us", "we", "ye", "yo",
})


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """"ë" as "e", "’" as "'", "ß" as "ss"; a combining accent on its own as nothing."""
    if char in _FOLD_CHARS:
        return _FOLD_CHARS[char]
    decomposed = unicodedata.normalize("NFD", char)
    if not any(unicodedata.combining(c) for c in decomposed):
        return char
    return unicodedata.normalize(
        "NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _fold(text: str) -> str:
    return "".join(_fold_char(c) for c in text)


def _fold_with_origin(text: str) -> tuple[str, list[int]]:
    """The folded text, and for each of its characters the index of the original one."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        chars = _fold_char(char)
        folded.append(chars)
        origin.extend([index] * len(chars))
    return "".join(folded), origin


def _name_word(word: str) -> str:
    """One word of a name, its apostrophe optional: "O'Neill", "ONeill", "O Neill"."""
    return r"(?:'|\s)?".join(re.escape(piece) for piece in word.split("'"))


def _part_pattern(word: str) -> tuple[str, int] | None:
    """A name part on its own, whole word: case-insensitively from three letters; a
    two-letter one ("Li", "Wu") only capitalised, so "li" in "lift" or "Li" in "Lift" never
    is, and an everyday word ("An", "Do") only mid-sentence. An initial is not matched."""
    if len(word) > 2:
        return rf"(?i:{_name_word(word)})", len(word)
    if len(word) < 2 or not word.isalpha():
        return None
    title = word[0].upper() + word[1:].lower()
    mid_sentence = r"(?<=[\w,] )" if title.lower() in _SHORT_WORDS else ""
    return rf"{mid_sentence}{re.escape(title)}", 2


def _known_patterns(value: str) -> list[tuple[str, int]]:
    """The patterns (on folded text, to be matched as whole words) of one known value, each
    with its value's length.

    A value with a digit (an id, a date) is matched whole and never split: a date's words
    ("April", "1987") are not identifiers on their own. A name is matched whole, its words
    apart by spaces or hyphens ("Mary-Jane", "Mary Jane"), and each word and each piece of a
    hyphenated word on its own ("Jane" of "Jane Doe" or "Mary-Jane"), except a lower-case
    particle beside capitalised words ("de" of "Maria de Souza", "van" of "Ludwig van
    Beethoven")."""
    folded = _fold(value)
    if re.search(r"\d", folded):
        whole = r"\s+".join(re.escape(w) for w in folded.split())
        return [(rf"(?i:{whole})", len(folded))]
    pieces = [p for p in re.split(r"[\s-]+", folded) if p]
    if len(pieces) == 1:
        part = _part_pattern(pieces[0])
        return [part] if part else []
    capitalised = any(not p.islower() for p in pieces)
    patterns = [_compound_pattern(pieces, len(folded))]
    for word in folded.split():
        hyphenated = [p for p in word.split("-") if p]
        if len(hyphenated) > 1:
            patterns.append(_compound_pattern(hyphenated, len(word)))
    for piece in pieces:
        part = None if capitalised and piece.islower() else _part_pattern(piece)
        if part:
            patterns.append(part)
    return patterns


def _compound_pattern(pieces: list[str], length: int) -> tuple[str, int]:
    """Words of a name in a row, apart by spaces or hyphens, case-insensitively."""
    joined = r"[\s-]+".join(_name_word(p) for p in pieces)
    return rf"(?i:{joined})", length


class Redactor:
    """Replaces the client's known identifiers and pattern identifiers, and restores them."""

    def __init__(self, known: list[str]) -> None:
        self.mapping: dict[str, str] = {}  # placeholder -> original
        self._counts: dict[str, int] = {}
        alternatives: dict[str, int] = {}  # pattern -> the length of its value, for order
        for value in {k.strip() for k in known if k and len(k.strip()) > 1}:
            for pattern, length in _known_patterns(value):
                alternatives[pattern] = max(alternatives.get(pattern, 0), length)
        # One pass over the folded text, the longest value first at each position: "Jane
        # Doe" before "Jane", "12 April 1987" before "12 April".
        ordered = sorted(alternatives, key=lambda p: (-alternatives[p], p))
        self._known: re.Pattern[str] | None = (
            re.compile(r"(?<!\w)(?:" + "|".join(ordered) + r")(?!\w)") if ordered else None)

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
        text = self._redact_known(text)
        for kind, pattern in _AFTER_KNOWN:
            text = pattern.sub(self._replacer(kind), text)
        return text

    def _redact_known(self, text: str) -> str:
        """The known values, matched on the folded text ("Zoe" for "Zoë", "O'Neill" for
        "O’Neill"); what is replaced, and later restored, is the text's own spelling."""
        if self._known is None:
            return text
        folded, origin = _fold_with_origin(text)
        taken = [m.span() for m in _PLACEHOLDER_SPAN.finditer(text)]
        parts: list[str] = []
        last = 0
        for match in self._known.finditer(folded):
            if match.start() == match.end():
                continue
            start, end = origin[match.start()], origin[match.end() - 1] + 1
            while end < len(text) and not _fold_char(text[end]):  # a combining accent
                end += 1
            if start < last or any(start < b and a < end for a, b in taken):
                continue  # inside an email's or a URL's placeholder
            found = text[start:end]
            parts += [text[last:start], self._placeholder(self._kind_of_known(found), found)]
            last = end
        return "".join(parts) + text[last:]

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
