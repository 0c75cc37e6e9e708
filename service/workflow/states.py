"""Draft states and their allowed transitions: one table, one guarded setter."""

from __future__ import annotations

from enum import StrEnum

from service.errors import Conflict
from service.models import Draft


class DraftStatus(StrEnum):
    REQUESTED = "requested"          # request stored, nothing drafted yet
    DRAFTING = "drafting"            # claimed by exactly one worker
    DRAFTING_FAILED = "drafting_failed"  # the drafter failed; retry is possible
    IN_REVIEW = "in_review"          # a revision awaits the clinician
    APPROVED = "approved"
    REJECTED = "rejected"


TRANSITIONS: dict[DraftStatus, frozenset[DraftStatus]] = {
    DraftStatus.REQUESTED: frozenset({DraftStatus.DRAFTING, DraftStatus.REJECTED}),
    DraftStatus.DRAFTING: frozenset({DraftStatus.IN_REVIEW, DraftStatus.DRAFTING_FAILED,
                                     DraftStatus.REQUESTED}),
    DraftStatus.DRAFTING_FAILED: frozenset({DraftStatus.REQUESTED, DraftStatus.REJECTED}),
    DraftStatus.IN_REVIEW: frozenset({DraftStatus.IN_REVIEW, DraftStatus.APPROVED,
                                      DraftStatus.REJECTED, DraftStatus.REQUESTED}),
    DraftStatus.APPROVED: frozenset(),
    DraftStatus.REJECTED: frozenset(),
}


def move(draft: Draft, target: DraftStatus) -> None:
    current = DraftStatus(draft.status)
    if target not in TRANSITIONS[current]:
        raise Conflict(f"draft {draft.id} is {current.value}; it cannot become {target.value}")
    draft.status = target.value
