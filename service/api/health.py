"""Readiness for load balancers and orchestrators: the app is up and its database answers."""

from __future__ import annotations

import threading

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from service.db import transaction

router = APIRouter(tags=["health"])
# Set once start-up's slow first uses (litellm's import, the validator's and the selection
# index's tables) are paid; until then the first drafts share the CPU with them.
WARM = threading.Event()


class Health(BaseModel):
    status: str = "ok"
    warm: bool = False


@router.get("/healthz", operation_id="health", responses={503: {"description": "The database "
            "does not answer (problem details, Retry-After)"}})
def health() -> Health:
    """No credential and no client data; a lost database is the same 503 as everywhere."""
    with transaction() as session:
        session.execute(text("SELECT 1"))
    return Health(warm=WARM.is_set())
