"""Passwords (argon2id), API keys and client-link tokens (stored as SHA-256)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.clock import now
from service.errors import Invalid, TooManyRequests, Unauthorized
from service.models import ApiKey, Clinician, Organisation

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Hashed on the first unknown-email login, not at import (argon2 costs ~0.2 s of start-up)."""
    return _hasher.hash("dummy password for constant-time login")


MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(32)}"


def create_organisation(session: Session, *, name: str) -> Organisation:
    org = Organisation(name=name)
    session.add(org)
    session.flush()
    return org


def create_clinician(
    session: Session, *, organisation_id: int, email: str, name: str, password: str
) -> Clinician:
    if len(password) < 10:
        raise Invalid("password must be at least 10 characters", field="password")
    email = email.strip().lower()
    if session.scalar(select(Clinician).where(Clinician.email == email)):
        raise Invalid(f"a clinician with email {email} already exists", field="email")
    clinician = Clinician(
        organisation_id=organisation_id, email=email, name=name,
        password_hash=_hasher.hash(password),
    )
    session.add(clinician)
    session.flush()
    return clinician


def authenticate_clinician(session: Session, *, email: str, password: str) -> Clinician:
    """Verify against a dummy hash when the email is unknown, so timing reveals nothing."""
    clinician = session.scalar(select(Clinician).where(Clinician.email == email.strip().lower()))
    if clinician is None:
        with contextlib.suppress(VerificationError):
            _hasher.verify(_dummy_hash(), password)
        raise Unauthorized("wrong email or password")
    if clinician.locked_until_at and clinician.locked_until_at > now():
        raise TooManyRequests("too many failed logins; try again in 15 minutes")
    try:
        _hasher.verify(clinician.password_hash, password)
    except VerificationError:
        _count_failure(session, clinician.id)
        raise Unauthorized("wrong email or password") from None
    clinician.failed_logins = 0
    clinician.locked_until_at = None
    return clinician


def _count_failure(session: Session, clinician_id: int) -> None:
    """One atomic increment, so guesses sent in parallel cannot slip past the limit."""
    failures = session.execute(
        update(Clinician).where(Clinician.id == clinician_id)
        .values(failed_logins=Clinician.failed_logins + 1)
        .returning(Clinician.failed_logins).execution_options(synchronize_session=False)
    ).scalar_one()
    if failures >= MAX_FAILED_LOGINS:
        session.execute(update(Clinician).where(Clinician.id == clinician_id)
                        .values(locked_until_at=now() + LOCKOUT, failed_logins=0)
                        .execution_options(synchronize_session=False))


def create_api_key(
    session: Session, *, organisation_id: int, name: str, clinician_id: int | None = None
) -> str:
    """Return the new key; only its hash is stored, so it is shown once."""
    key = new_token("hw")
    session.add(ApiKey(organisation_id=organisation_id, clinician_id=clinician_id, name=name,
                       key_hash=hash_token(key)))
    session.flush()
    return key


def principal_for_key(session: Session, key: str) -> Principal:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(key)))
    if row is None or row.revoked_at is not None:
        raise Unauthorized("invalid or revoked API key")
    kind = "clinician" if row.clinician_id else "integration"
    return Principal(organisation_id=row.organisation_id, clinician_id=row.clinician_id, kind=kind)


def revoke_api_key(session: Session, *, key: str) -> None:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_token(key)))
    if row is None:
        raise Invalid("no such key")
    row.revoked_at = now()


def principal_for_clinician(clinician: Clinician) -> Principal:
    return Principal(organisation_id=clinician.organisation_id, clinician_id=clinician.id,
                     kind="clinician")
