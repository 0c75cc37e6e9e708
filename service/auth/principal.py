"""The principal every domain service takes: who, which organisation, may they approve."""

from __future__ import annotations

from dataclasses import dataclass

from service.errors import Forbidden


@dataclass(frozen=True)
class Principal:
    organisation_id: int
    clinician_id: int | None
    kind: str  # "clinician" (session or personal key), "integration" (organisation key),
    #            or "client_link" (a client's own link: their approved items, their check-ins)
    client_id: int | None = None  # the link's client, for "client_link"

    def require_clinician(self, action: str) -> int:
        """Clinical decisions (approving, editing, re-drafting, rejecting, retiring) are a
        named clinician's; an integration key only brings requests in and reads results."""
        if self.clinician_id is None:
            raise Forbidden(f"{action} needs a clinician's own credential, not an integration key")
        return self.clinician_id

    @property
    def actor(self) -> str:
        if self.clinician_id is not None:
            return f"clinician:{self.clinician_id}"
        if self.kind == "client_link":
            return f"client_link:{self.client_id}"
        return f"integration:{self.organisation_id}"
