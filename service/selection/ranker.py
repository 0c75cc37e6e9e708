"""Offline template ranking: BM25 over each template's catalog text, plus shorthand
expansion, typo correction and a boost for named techniques."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import yaml
from pydantic import BaseModel
from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from service.catalog import Template, get_catalog

_LEXICON = yaml.safe_load((Path(__file__).parent / "lexicon.yaml").read_text(encoding="utf-8"))
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")
_STOP = frozenset(_LEXICON["stopwords"].split())
TECHNIQUE_BOOST = 0.6


class Candidate(BaseModel):
    template_id: str
    score: float
    reason: str


def _tokens(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _document(template: Template) -> str:
    parts = [template.name, *template.for_, *template.for_, *template.techniques,
             *template.keywords, *template.fields]
    return " ".join(parts)


class _Index:
    def __init__(self, catalog: dict[str, Template]) -> None:
        self.ids = list(catalog)
        self.catalog = catalog
        corpus = [_tokens(_document(t)) for t in catalog.values()]
        self.vocab = sorted({w for doc in corpus for w in doc})
        self.vocab_set = frozenset(self.vocab)
        self.retriever = bm25s.BM25()
        self.retriever.index([corpus_doc for corpus_doc in corpus], show_progress=False)

    def correct(self, word: str) -> str:
        """Map a misspelt word to the nearest catalog word (one or two edits)."""
        if word in self.vocab_set or len(word) < 5:
            return word
        match = process.extractOne(word, self.vocab, scorer=Levenshtein.distance,
                                   score_cutoff=2 if len(word) > 7 else 1)
        return match[0] if match else word

    def scores(self, tokens: list[str]) -> np.ndarray:
        known = [t for t in tokens if t in self.vocab_set]
        if not known:
            return np.zeros(len(self.ids))
        return np.asarray(self.retriever.get_scores(known), dtype=float)


@lru_cache(maxsize=4)
def _index(catalog_key: int) -> _Index:
    return _Index(get_catalog())


def _expand(request: str, index: _Index) -> list[str]:
    words = [index.correct(w) for w in _tokens(request)]
    expanded: list[str] = []
    for word in words:
        expanded.append(word)
        extra = _LEXICON["expansions"].get(word)
        if extra:
            expanded.extend(_tokens(extra))
    return expanded


def _named(request: str) -> dict[str, str]:
    """Techniques the request names, by template id (first phrase found wins the reason)."""
    text = request.lower()
    found: dict[str, str] = {}
    for phrase, template_id in _LEXICON["techniques"].items():
        if re.search(r"(?<![a-z])" + re.escape(phrase), text):
            found.setdefault(template_id, phrase)
    return found


def _reason(template: Template, matched: list[str], named: str | None) -> str:
    if named:
        return f"Names “{named}”, a {template.name.lower()} technique → {template.id}."
    if matched:
        words = ", ".join(dict.fromkeys(matched[:3]))
        return f"Mentions {words}, which fit {template.name.lower()} → {template.id}."
    return f"A general fit for the request → {template.id}."


def rank_templates(request: str, catalog: dict[str, Template] | None = None,
                   limit: int = 5) -> list[Candidate]:
    """Best first, at least three candidates, each with a score in 0..1 and a reason."""
    catalog = catalog or get_catalog()
    index = _index(id(catalog)) if catalog is get_catalog() else _Index(catalog)
    tokens = _expand(request, index)
    raw = index.scores(tokens)
    top = float(raw.max()) if raw.size and raw.max() > 0 else 1.0
    named = _named(request)
    scored = []
    for i, template_id in enumerate(index.ids):
        score = raw[i] / top * (1 - TECHNIQUE_BOOST)
        if template_id in named:
            score += TECHNIQUE_BOOST
        scored.append((score, template_id))
    scored.sort(key=lambda pair: (-pair[0], pair[1]))
    doc_words = {tid: set(_tokens(_document(catalog[tid]))) for _, tid in scored[:limit]}
    return [
        Candidate(template_id=tid, score=round(min(1.0, max(0.0, s)), 4),
                  reason=_reason(catalog[tid], [t for t in tokens if t in doc_words[tid]],
                                 named.get(tid)))
        for s, tid in scored[:max(3, limit)]
    ]
