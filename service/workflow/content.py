"""Canonical bytes of a worksheet: what is approved, hashed and shown to the client."""

from __future__ import annotations

import hashlib
import json
from itertools import pairwise
from typing import Any


def canonical(worksheet: dict[str, Any]) -> str:
    return json.dumps(worksheet, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _changed_by(history: list[tuple[str, dict[str, Any]]], key: str) -> list[str]:
    """Who moved a field on the way: the clinician, or the drafter re-drafting on request."""
    who: list[str] = []
    for (_, before), (author, after) in pairwise(history):
        if before.get(key) != after.get(key):
            name = "drafter" if author.startswith("ai:") else "clinician"
            if name not in who:
                who.append(name)
    return who


def changes(history: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Field-level provenance from the first draft to the last of `history` (author,
    worksheet pairs, oldest first): each field that differs, both values, and who changed
    it, so a clinician's own edits are not confused with a re-draft they asked for. No
    revision yet (still drafting) means no changes."""
    if not history:
        return []
    first, final = history[0][1], history[-1][1]
    return [
        {"field": key, "ai": first.get(key), "final": final.get(key),
         "by": _changed_by(history, key)}
        for key in sorted(set(first) | set(final))
        if first.get(key) != final.get(key)
    ]
