"""Dependency aliases: one session (one transaction) and one principal per request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.auth.credentials import principal_for_key
from service.auth.principal import Principal
from service.config import Settings, get_settings
from service.db import transaction
from service.errors import Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer hw_...`")


def _session() -> Iterator[Session]:
    with transaction() as session:
        yield session


SessionDep = Annotated[Session, Depends(_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(get_settings)]


def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Its own short transaction: an async route awaiting the LLM must hold no connection."""
    if credentials is None:
        raise Unauthorized("send an API key as `Authorization: Bearer <key>`")
    with transaction() as session:
        principal = principal_for_key(session, credentials.credentials)
    request.state.actor = principal.actor
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]
