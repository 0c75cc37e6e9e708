"""Offline template ranking: which catalog template fits a clinician's plain-language request.

Three kinds of evidence, each explainable in the candidate's reason:

1. a named technique ("DEAR MAN", "ERP", "thought record", any template's `techniques`);
2. indications: the request's clinical descriptions ("stays in bed", "can't say no") mapped
   by the lexicon's concept groups to the catalog's own indication phrases (`for`,
   `keywords`), plus those phrases when the request uses them verbatim; rarer phrases
   count more;
3. word overlap (BM25 over each template's catalog text, indications weighted above the
   worksheet's field names), with shorthand expansion and typo correction.

Context is down-weighted: a mention of the client's routine ("coffee on the porch every
morning", "journals most nights") is for the drafter's `when`, not evidence for a
template; an aside ("fyi ...") counts half; the clinician's stated aim ("wants to ...")
counts a little more. Everything is deterministic, offline, and well under 5 ms.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from pydantic import BaseModel
from rapidfuzz import process
from rapidfuzz.distance import OSA

from service.catalog import Template, get_catalog


def _pattern(text: str) -> str:
    """A lexicon pattern: lines are joined with a space, or with nothing after a `|`."""
    out = ""
    for line in (part.strip() for part in text.splitlines()):
        out += line if not out or out.endswith("|") else " " + line
    return out


_LEXICON = yaml.safe_load((Path(__file__).parent / "lexicon.yaml").read_text(encoding="utf-8"))
_STOP = frozenset(_LEXICON["stopwords"].split())
_DOSE = frozenset(_LEXICON["dose_words"].split())
_ACRONYMS = [(re.compile(r"(?<![A-Za-z])" + re.escape(k) + r"(?![A-Za-z])"), v)
             for k, v in _LEXICON["acronyms"].items()]
_ROUTINE = re.compile(_pattern(_LEXICON["context"]["routine"]))
_ANCHOR = re.compile(_pattern(_LEXICON["context"]["anchor"]))
_OTHERS = re.compile(_pattern(_LEXICON["context"]["others"]))
_FORMAT = re.compile(_pattern(_LEXICON["context"]["format"]))
_ASIDE = re.compile(_pattern(_LEXICON["aside"]))
_SET_ASIDE = re.compile(_pattern(_LEXICON["set_aside"]))
_GOAL = re.compile(_pattern(_LEXICON["goal"]))
_NEGATION = re.compile(_LEXICON["negation"])
_DENIED_AFTER = re.compile(r"\s(?:free|ruled out|negative)\b")
_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE = re.compile(r"[^.;!?]+[.;!?]*")

TECHNIQUE_WEIGHT = 0.6  # a named technique
INDICATION_WEIGHT = 0.25  # one concept or indication phrase, scaled by its rarity
WORDS_WEIGHT = 0.35  # word overlap, scaled to the best template
FIELD_WEIGHTS = {"indications": 1.0, "techniques": 0.8, "fields": 0.25}
SET_ASIDE, CONTEXT, ASIDE, AIM = 0.1, 0.3, 0.5, 1.3  # position multipliers


class Candidate(BaseModel):
    template_id: str
    score: float
    reason: str


# --- normalising text ------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower-case text the lexicon's patterns are written against (see lexicon.yaml)."""
    for pattern, replacement in _ACRONYMS:
        text = pattern.sub(replacement, text)
    text = text.lower().replace("’", "'").replace("‘", "'")
    text = re.sub(r"\bcan ?not\b", "cant", text)
    text = re.sub(r"n't\b", "nt", text)
    text = re.sub(r"'ll\b", " will", text)
    text = re.sub(r"'re\b", " are", text)
    text = re.sub(r"'ve\b", " have", text)
    text = re.sub(r"'d\b", " would", text)
    text = re.sub(r"'m\b", " am", text)
    text = re.sub(r"'s\b", "", text)
    text = re.sub(r"\s[-–—]+\s|—|–", " ; ", text)
    text = re.sub(r"[-/_'\"“”()\[\]*+=~`]", " ", text)
    text = re.sub(r"practis(?=e|ed|es|ing)", "practic", text)
    text = re.sub(r"\b([a-z]{4,})is(e|ed|es|ing|ation|ations)\b", r"\1iz\2", text)
    text = re.sub(r"(?<=[a-z]{3})our(?=s?\b)", "or", text)
    text = re.sub(r"\bpart time\b", "parttime", text)
    return re.sub(r"\s+", " ", text).strip()


_RULES = (("iety", "i"), ("iers", "y"), ("ies", "y"), ("ied", "y"), ("ier", "y"),
          ("ying", "y"), ("ations", ""), ("ation", ""), ("ating", ""), ("ates", ""),
          ("ated", ""), ("ate", ""), ("itions", ""), ("ition", ""), ("sions", "s"),
          ("sion", "s"), ("ments", ""), ("ment", ""), ("ness", ""), ("ingly", ""),
          ("edly", ""), ("ings", ""), ("ing", ""), ("ances", ""), ("ance", ""),
          ("ences", ""), ("ence", ""), ("ives", ""), ("ive", ""), ("ful", ""), ("ity", ""),
          ("ous", ""), ("ly", ""), ("ed", ""), ("es", ""), ("s", ""), ("e", ""))


@lru_cache(maxsize=8192)
def stem(word: str) -> str:
    """A small suffix stripper: enough to match avoid/avoids/avoidance, worry/worries."""
    if len(word) <= 3 or not word.isalpha():
        return word
    for suffix, replacement in _RULES:
        if word.endswith(suffix) and not (suffix == "s" and word.endswith(("ss", "us", "is"))):
            base = word[: -len(suffix)] + replacement
            if len(base) >= 3:
                word = base
                break
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


_GENERIC = frozenset(stem(w) for w in [*_STOP, *_LEXICON["generic"].split()])


def _key(phrase: str) -> tuple[str, ...]:
    return tuple(stem(w) for w in _WORD.findall(normalise(phrase)))


# --- where in the request a word sits ----------------------------------------------------


@dataclass
class _Request:
    text: str  # normalised and typo-corrected
    spans: list[tuple[int, int, float]] = field(default_factory=list)

    def denied(self, start: int, end: int | None = None) -> bool:
        """Whether what starts here is denied ("no flashbacks", "OCD-free")."""
        if end is not None and _DENIED_AFTER.match(self.text, end):
            return True
        return bool(_NEGATION.search(self.text[max(0, start - 30):start]))

    def weight(self, start: int, end: int | None = None) -> float:
        """The position multiplier of text[start:end]: set aside < context < aside < plain
        < aim."""
        end = start + 1 if end is None else end
        found = [w for s, e, w in self.spans if s < end and start < e]
        if SET_ASIDE in found:
            return SET_ASIDE
        if CONTEXT in found:
            return CONTEXT
        if ASIDE in found:
            return ASIDE
        return AIM if AIM in found else 1.0


def _analyse(text: str) -> _Request:
    request = _Request(text)
    for pattern in (_ROUTINE, _ANCHOR, _OTHERS, _FORMAT):
        request.spans += [(m.start(), m.end(), CONTEXT) for m in pattern.finditer(text)]
    request.spans += [(m.start(), m.end(), SET_ASIDE) for m in _SET_ASIDE.finditer(text)]
    for sentence in _SENTENCE.finditer(text):
        if _ASIDE.search(sentence.group(0)):
            request.spans.append((sentence.start(), sentence.end(), ASIDE))
        elif aim := _GOAL.search(sentence.group(0)):
            request.spans.append((sentence.start() + aim.start(), sentence.end(), AIM))
    return request


# --- the index ---------------------------------------------------------------------------


@dataclass
class _Concept:
    pattern: re.Pattern[str]
    means: list[tuple[str, ...]]
    weight: float


def _concepts() -> list[_Concept]:
    return [_Concept(re.compile(_pattern(c["pattern"])), [_key(m) for m in c["means"]],
                     float(c.get("weight", 1.0))) for c in _LEXICON["concepts"]]


_CONCEPTS = _concepts()


def _field_texts(template: Template) -> dict[str, list[str]]:
    return {"indications": [*template.for_, *template.keywords],
            "techniques": [template.name, *template.techniques],
            "fields": list(template.fields)}


class _BM25:
    """Okapi BM25 term weights, one row a stem, one column a template."""

    def __init__(self, docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> None:
        n = len(docs)
        avg = sum(len(d) for d in docs) / max(1, n) or 1.0
        vocab = sorted({w for d in docs for w in d})
        self.row = {w: i for i, w in enumerate(vocab)}
        self.matrix = np.zeros((len(vocab), n))
        for j, doc in enumerate(docs):
            norm = k1 * (1 - b + b * len(doc) / avg)
            for word in set(doc):
                tf = doc.count(word)
                self.matrix[self.row[word], j] = tf * (k1 + 1) / (tf + norm)
        df = (self.matrix > 0).sum(axis=1)
        self.matrix *= np.log(1 + (n - df + 0.5) / (df + 0.5))[:, None]


class _Index:
    def __init__(self, catalog: dict[str, Template]) -> None:
        self.ids = list(catalog)
        self.catalog = catalog
        n = len(self.ids)
        texts = [_field_texts(t) for t in catalog.values()]
        self.bm25 = {name: _BM25([_stems(" ".join(t[name])) for t in texts])
                     for name in FIELD_WEIGHTS}
        catalog_words = {w for t in catalog.values() for texts in _field_texts(t).values()
                         for w in _WORD.findall(normalise(" ".join(texts)))}
        self.long_words = sorted(w for w in catalog_words if len(w) >= 7 and w.isalpha())
        self.vocab_set = frozenset(catalog_words | _lexicon_words())
        self.stem_set = frozenset(stem(w) for w in self.vocab_set)
        # indication phrase -> templates, and technique phrase -> templates
        self.names: dict[tuple[str, ...], str] = {}  # the catalog's own wording, for reasons
        self.indications: dict[tuple[str, ...], set[int]] = {}
        self.families: dict[str, set[int]] = {}  # "dbt" -> the DBT templates
        self.techniques: dict[tuple[str, ...], set[int]] = {}
        for j, t in enumerate(catalog.values()):
            if t.modality != "general":  # "CBT", "CBT-I", "DBT", "ACT" name a family
                self.indications.setdefault(_key(t.modality), set()).add(j)
                self.families.setdefault(" ".join(_key(t.modality)), set()).add(j)
            for phrase in (*t.for_, *t.keywords, *t.techniques):
                self.names.setdefault(_key(phrase), phrase)
            for phrase in (*t.for_, *t.keywords):
                self.indications.setdefault(_key(phrase), set()).add(j)
            for phrase in t.techniques:
                self.techniques.setdefault(_key(phrase), set()).add(j)
                self.indications.setdefault(_key(phrase), set()).add(j)
        for phrase, template_id in _LEXICON["techniques"].items():
            if template_id in catalog:
                self.techniques.setdefault(_key(phrase), set()).add(self.ids.index(template_id))
        self.rarity = {k: math.log((n + 1) / len(v)) / math.log(n + 1)
                       for k, v in self.indications.items()}
        self.firsts: dict[str, list[tuple[str, ...]]] = {}
        for words in {*self.indications, *self.techniques}:
            if words:
                self.firsts.setdefault(words[0], []).append(words)

    def correct(self, word: str) -> str:
        """A misspelt clinical word ("insomina", "anxeity") becomes the catalog's word.

        Only long words, one slip away (a swapped, missing, extra or wrong letter) from a
        long catalog word with the same first letter, and never a word that is itself an
        inflection of a known one ("replaying" stays, it is not "replying"); prefixes in the
        lexicon's patterns ("ruminat", "avoid") already cover most other misspellings.
        """
        if len(word) < 7 or word in self.vocab_set or not word.isalpha():
            return word
        if stem(word) in self.stem_set or any(word[:n] in self.vocab_set
                                               for n in range(5, len(word))):
            return word
        match = process.extractOne(word, self.long_words, scorer=OSA.distance,
                                   score_cutoff=2 if len(word) >= 10 else 1)
        if not match or match[0][0] != word[0] or match[0].startswith(word):
            return word
        # a slip into another short everyday word ("waiting" / "writing") is no typo
        swapped = sorted(match[0]) == sorted(word)
        return match[0] if swapped or len(match[0]) >= 8 else word


def _stems(text: str) -> list[str]:
    return [stem(w) for w in _WORD.findall(normalise(text)) if w not in _STOP]


def _lexicon_words() -> set[str]:
    words: set[str] = set(_LEXICON["expansions"])
    for concept in _LEXICON["concepts"]:
        literal = re.sub(r"\\[a-zA-Z]|\(\?[:!<=]+", " ", concept["pattern"])
        words |= set(re.findall(r"[a-z]{5,}", literal))
    return words


@lru_cache(maxsize=4)
def _index(catalog_key: int) -> _Index:
    return _Index(get_catalog())


# --- scoring -----------------------------------------------------------------------------


@dataclass
class _Evidence:
    named: dict[int, str] = field(default_factory=dict)
    indications: dict[int, list[str]] = field(default_factory=dict)
    words: dict[int, list[str]] = field(default_factory=dict)


def _prepare(request: str, index: _Index) -> _Request:
    text = normalise(request)
    text = re.sub(r"[a-z]{5,}", lambda m: index.correct(m.group(0)), text)
    return _analyse(text)


_Word = tuple[str, str, float, bool, int]


def _word_positions(req: _Request) -> list[_Word]:
    """(word, stem, position weight, denied before it, end) for every word of the request."""
    return [(m.group(0), stem(m.group(0)), req.weight(m.start(), m.end()), req.denied(m.start()),
             m.end()) for m in _WORD.finditer(req.text)]


def _phrases(words: list[_Word], index: _Index, text: str,
             ) -> Iterable[tuple[tuple[str, ...], float, str]]:
    """Catalog phrases the request uses verbatim (and does not deny): longest first,
    never overlapping."""
    stems = [w[1] for w in words]
    taken = [False] * len(stems)
    found = []
    for i, first in enumerate(stems):
        for phrase in index.firsts.get(first, ()):
            if tuple(stems[i:i + len(phrase)]) == phrase:
                found.append((i, phrase))
    for i, phrase in sorted(found, key=lambda f: (-len(f[1]), f[0])):
        span = range(i, i + len(phrase))
        if any(taken[k] for k in span) or (len(phrase) == 1 and phrase[0] in _GENERIC):
            continue
        for k in span:
            taken[k] = True
        if not words[i][3] and not _DENIED_AFTER.match(text, words[span[-1]][4]):
            yield phrase, min(words[k][2] for k in span), " ".join(words[k][0] for k in span)


def _score_named_and_phrases(words: list[_Word], req: _Request, index: _Index,
                             scores: np.ndarray, ev: _Evidence) -> None:
    for phrase, weight, said in _phrases(words, index, req.text):
        if phrase in index.techniques:
            owners = index.techniques[phrase]
            for j in owners:
                scores[j] += TECHNIQUE_WEIGHT * min(weight, 1.0) / len(owners)
                ev.named.setdefault(j, said)
        elif phrase in index.indications:
            for j in index.indications[phrase]:
                scores[j] += INDICATION_WEIGHT * weight * index.rarity[phrase]
                ev.indications.setdefault(j, []).append(f"“{said}”")


def _score_denied_families(words: list[_Word], index: _Index, scores: np.ndarray) -> None:
    """A family the request rules out ("isn't in a DBT programme") counts against its
    templates, as a named one counts for them."""
    for _, stem_, _, denied, _ in words:
        if denied and stem_ in index.families:
            for j in index.families[stem_]:
                scores[j] -= INDICATION_WEIGHT


def _score_concepts(req: _Request, index: _Index, scores: np.ndarray, ev: _Evidence) -> None:
    for concept in _CONCEPTS:
        matches = [m for m in concept.pattern.finditer(req.text)
                   if not req.denied(m.start(), m.end())]
        if not matches:
            continue
        best = max(matches, key=lambda m: req.weight(m.start(), m.end()))
        weight = concept.weight * req.weight(best.start(), best.end())
        per_template: dict[int, tuple[float, tuple[str, ...]]] = {}
        for phrase in concept.means:
            for j in index.indications.get(phrase, ()):
                if index.rarity[phrase] > per_template.get(j, (0.0, ()))[0]:
                    per_template[j] = (index.rarity[phrase], phrase)
        for j, (rarity, phrase) in per_template.items():
            scores[j] += INDICATION_WEIGHT * weight * rarity
            said = best.group(0).strip()
            if len(said) > 50:  # a pattern spanning a sentence ("... safety plan") is cited short
                said = said[:47].rsplit(" ", 1)[0] + "…"
            name = index.names.get(phrase, " ".join(phrase))
            ev.indications.setdefault(j, []).append(
                f"“{said}”" if name.lower() == said else f"“{said}” ({name})")


def _score_words(words: list[_Word], index: _Index, ev: _Evidence) -> np.ndarray:
    query: dict[str, float] = {}
    for word, stem_, weight, denied, _ in words:
        if denied or word in _STOP or word in _DOSE or len(word) < 2:
            continue
        query[stem_] = max(query.get(stem_, 0.0), weight)
        for extra in _LEXICON["expansions"].get(word, "").split():
            s = stem(normalise(extra))
            query[s] = max(query.get(s, 0.0), 0.8 * weight)
    raw = np.zeros(len(index.ids))
    for name, field_weight in FIELD_WEIGHTS.items():
        bm25 = index.bm25[name]
        for s, weight in query.items():
            if s in bm25.row:
                row = bm25.matrix[bm25.row[s]]
                raw += field_weight * weight * row
                for j in np.flatnonzero(row):
                    ev.words.setdefault(int(j), []).append(s)
    top = float(raw.max()) if raw.size else 0.0
    return raw / top if top > 0 else raw


def _reason(template: Template, j: int, ev: _Evidence) -> str:
    if j in ev.named:
        return f"Names “{ev.named[j]}”, a {template.name.lower()} technique → {template.id}."
    if j in ev.indications:
        seen: dict[str, str] = {}  # one entry per quoted request text, the explained one wins
        for item in ev.indications[j]:
            quoted = item.split(" (")[0]
            if quoted not in seen or "(" in item:
                seen[quoted] = item
        said = ", ".join(list(seen.values())[:3])
        return f"Describes {said}, which {template.name.lower()} is for → {template.id}."
    if j in ev.words:
        words = ", ".join(dict.fromkeys(ev.words[j][:3]))
        return f"Mentions {words}, which fit {template.name.lower()} → {template.id}."
    return f"A general fit for the request → {template.id}."


def rank_templates(request: str, catalog: dict[str, Template] | None = None,
                   limit: int = 5) -> list[Candidate]:
    """Best first, at least three candidates, each with a score in 0..1 and a reason."""
    catalog = catalog or get_catalog()
    index = _index(id(catalog)) if catalog is get_catalog() else _Index(catalog)
    req = _prepare(request, index)
    words = _word_positions(req)
    ev = _Evidence()
    scores = WORDS_WEIGHT * _score_words(words, index, ev)
    _score_named_and_phrases(words, req, index, scores, ev)
    _score_concepts(req, index, scores, ev)
    _score_denied_families(words, index, scores)
    order = sorted(range(len(index.ids)), key=lambda j: (-scores[j], index.ids[j]))
    top = max(1.0, float(scores[order[0]]))
    return [
        Candidate(template_id=index.ids[j], score=round(max(0.0, float(scores[j])) / top, 4),
                  reason=_reason(catalog[index.ids[j]], j, ev))
        for j in order[:max(3, limit)]
    ]


def unknown_concept_phrases(catalog: dict[str, Template]) -> list[str]:
    """Lexicon `means` phrases no template lists (a data check for tests)."""
    known = {_key(p) for t in catalog.values() for p in (*t.for_, *t.keywords, *t.techniques)}
    return sorted({" ".join(m) for c in _CONCEPTS for m in c.means if m not in known})
