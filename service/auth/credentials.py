"""Passwords (argon2id), API keys and client-link tokens (stored as SHA-256)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from service.auth.principal import Principal
from service.clock import now
from service.errors import Invalid, TooManyRequests, Unauthorized
from service.models import ApiKey, Clinician, LoginFailure, Organisation

_hasher = PasswordHasher()


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """Hashed on the first unknown-email login, not at import (argon2 costs ~0.2 s of start-up)."""
    return _hasher.hash("dummy password for constant-time login")


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


MAX_FAILED_LOGINS = 5
LOCKOUT = dt.timedelta(minutes=15)
MAX_FAILURES_PER_ADDRESS = 20
ADDRESS_WINDOW = dt.timedelta(minutes=15)
# One answer for an unknown email, a wrong password and a locked account, so that
# guessing cannot tell which accounts exist or which one it has locked.
_MINUTES = f"{LOCKOUT.total_seconds() / 60:g} minutes"
REFUSED = (f"wrong email or password (after {MAX_FAILED_LOGINS} failed attempts an account "
           f"is locked for {_MINUTES})")


def authenticate_clinician(session: Session, *, email: str, password: str,
                           address: str = "unknown") -> Clinician:
    """The clinician, if the password is right, the account not locked and the address
    under its failure limit.

    Every refusal costs one argon2 verification (a dummy hash when there is no account to
    check), so timing reveals nothing either.
    """
    if _recent_failures(session, address) >= MAX_FAILURES_PER_ADDRESS:
        raise TooManyRequests("too many failed logins from this network; try again in "
                              f"{ADDRESS_WINDOW.total_seconds() / 60:g} minutes")
    clinician = session.scalar(select(Clinician).where(Clinician.email == email.strip().lower()))
    locked = bool(clinician and clinician.locked_until_at and clinician.locked_until_at > now())
    checked = _dummy_hash() if clinician is None or locked else clinician.password_hash
    try:
        _hasher.verify(checked, password)
    except VerificationError:
        pass
    else:
        if clinician is not None and not locked:
            clinician.failed_logins = 0
            clinician.locked_until_at = None
            return clinician
    session.add(LoginFailure(address=address[:64]))
    if clinician is not None and not locked:
        _count_failure(session, clinician.id)
    raise Unauthorized(REFUSED)


def _recent_failures(session: Session, address: str) -> int:
    """Failures from this address in the window; older rows are deleted on the way."""
    since = now() - ADDRESS_WINDOW
    session.execute(delete(LoginFailure).where(LoginFailure.at < since))
    return session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.address == address[:64], LoginFailure.at >= since)) or 0


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
