"""Drafting: a worksheet from a request and a template, offline or through litellm.

litellm is slow to import, so `complete`, `Completion` and `LLMError` load on first use;
the offline drafter (service.drafting.offline) is imported lazily by the drafter.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from service.drafting.drafter import DraftOutcome, draft_worksheet

if TYPE_CHECKING:
    from service.drafting.llm import Completion, LLMError, complete

__all__ = ["Completion", "DraftOutcome", "LLMError", "complete", "draft_worksheet"]


def __getattr__(name: str) -> Any:
    if name in {"Completion", "LLMError", "complete"}:
        from service.drafting import llm

        return getattr(llm, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
