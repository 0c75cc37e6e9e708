"""The principal every domain service takes: who, which organisation, may they approve."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    organisation_id: int
    clinician_id: int | None
    kind: str  # "clinician" (session or personal key) or "integration" (organisation key)

    @property
    def can_approve(self) -> bool:
        return self.clinician_id is not None

    @property
    def actor(self) -> str:
        if self.clinician_id is not None:
            return f"clinician:{self.clinician_id}"
        return f"integration:{self.organisation_id}"
