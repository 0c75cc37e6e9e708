"""Organisation scope in one place: every load of client data is filtered here.

Anything outside the caller's organisation is answered "not found", never "forbidden",
so ids of other organisations' records leak nothing.
"""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.errors import NotFound
from service.models import Client, Draft, Resource

Scoped = TypeVar("Scoped", Client, Draft, Resource)


def load(session: Session, principal: Principal, model: type[Scoped], object_id: int,
         *, for_update: bool = False) -> Scoped:
    row = session.get(model, object_id, with_for_update=for_update)
    if row is None or row.organisation_id != principal.organisation_id:
        raise NotFound(f"{model.__name__.lower()} {object_id} not found")
    return row
