"""Canonical bytes of a worksheet: what is approved, hashed and shown to the client."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical(worksheet: dict[str, Any]) -> str:
    return json.dumps(worksheet, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def changes(ai: dict[str, Any], final: dict[str, Any]) -> list[dict[str, Any]]:
    """Field-level provenance: what the clinician changed from the AI's first draft."""
    return [
        {"field": key, "ai": ai.get(key), "final": final.get(key)}
        for key in sorted(set(ai) | set(final))
        if ai.get(key) != final.get(key)
    ]
