"""Readiness for load balancers and orchestrators: the app is up and its database answers."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import text

from service.db import transaction

router = APIRouter(tags=["health"])


class Health(BaseModel):
    status: str = "ok"


@router.get("/healthz", operation_id="health", responses={503: {"description": "The database "
            "does not answer (problem details, Retry-After)"}})
def health() -> Health:
    """No credential and no client data; a lost database is the same 503 as everywhere."""
    with transaction() as session:
        session.execute(text("SELECT 1"))
    return Health()
