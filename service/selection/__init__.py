"""Template selection: which evidence-based template fits a plain-language request."""

from service.selection.ranker import Candidate, rank_templates

__all__ = ["Candidate", "rank_templates"]
