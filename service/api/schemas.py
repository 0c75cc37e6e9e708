"""Request and response models of the public API (the OpenAPI document is built from these)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from service.clock import today
from service.worksheet import Finding, Inbound, Preferences, Worksheet

MAX_ID = 2**31 - 1  # the Integer primary keys are 32-bit on PostgreSQL
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]


class Strict(Inbound):
    model_config = ConfigDict(extra="forbid")


class ClientIn(Strict):
    external_id: str = Field(min_length=1, max_length=200, examples=["PMS-000123"])
    name: str = Field(min_length=1, max_length=200, examples=["Alex Example"])
    preferred_name: str | None = Field(default=None, max_length=200)
    date_of_birth: dt.date | None = None

    @field_validator("name", "preferred_name")
    @classmethod
    def _stripped(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Names are stored without surrounding whitespace; a blank name is refused, a blank
        preferred name means none."""
        if value is None:
            return None
        value = value.strip()
        if not value and info.field_name == "name":
            raise ValueError("must not be blank")
        return value or None

    @field_validator("date_of_birth")
    @classmethod
    def _not_in_the_future(cls, value: dt.date | None) -> dt.date | None:
        if value is not None and value > today():
            raise ValueError("must not be in the future")
        return value


class ClientOut(BaseModel):
    id: int
    external_id: str
    name: str
    preferred_name: str | None
    date_of_birth: dt.date | None


class DraftIn(Strict):
    client_id: RowId
    request: str = Field(min_length=1, max_length=8000, examples=[
        "She's stopped going out since the layoff; something tiny to get her moving, "
        "she has coffee on the porch every morning."])
    preferences: Preferences = Field(default_factory=Preferences)
    next_session_date: dt.date | None = None
    template_id: str | None = Field(default=None, max_length=100)


class CandidateOut(BaseModel):
    template_id: str
    score: float
    reason: str


class RevisionOut(BaseModel):
    number: int
    worksheet: Worksheet
    findings: list[Finding]
    ok: bool
    author: str
    created_at: dt.datetime


class DraftOut(BaseModel):
    id: int
    client_id: int
    status: Literal["requested", "drafting", "drafting_failed", "in_review", "approved", "rejected"]
    request: str
    template_id: str
    instruction: str | None = Field(
        description="The clinician's instruction for the current revision, if any")
    candidates: list[CandidateOut]
    current_revision: int
    revision: RevisionOut | None
    error: str | None
    reject_reason: str | None
    drafter: str | None
    llm_calls: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    follows_resource_id: int | None
    created_at: dt.datetime


class EditIn(Strict):
    base_revision: int = Field(ge=1, le=MAX_ID)
    worksheet: Worksheet


class RedraftIn(Strict):
    template_id: str | None = Field(default=None, max_length=100)
    instruction: str | None = Field(default=None, max_length=500,
                                    examples=["smaller", "change the form: voice note"])


class ApproveIn(Strict):
    revision: int = Field(ge=1, le=MAX_ID, description="The revision number being approved")
    safety_acknowledged: bool = False


class RejectIn(Strict):
    reason: str = Field(min_length=1, max_length=2000)


class CheckInIn(Strict):
    outcome: Literal["done", "partial", "skipped"]
    check_in_date: dt.date | None = None
    note: str | None = Field(default=None, max_length=2000,
                             description="What got in the way, in the client's words")


class CheckInOut(BaseModel):
    id: int
    check_in_date: dt.date
    outcome: str
    note: str | None


class ApprovalOut(BaseModel):
    """The sign-off behind a resource: the clinician, and the exact revision approved."""

    draft_id: int
    revision: int
    clinician_id: int
    approved_at: dt.datetime
    safety_acknowledged: bool


class ResourceOut(BaseModel):
    id: int
    client_id: int
    status: str
    worksheet: dict[str, Any]
    content_sha256: str
    streak: int
    check_ins: list[CheckInOut]
    created_at: dt.datetime
    approval: ApprovalOut | None = Field(
        default=None, description="Who approved it (null in the client's own view)")


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class SelectIn(Strict):
    request: str = Field(min_length=1, max_length=8000)


class SelectOut(BaseModel):
    candidates: list[CandidateOut]


class ValidateIn(Worksheet):
    today: dt.date | None = None


class ValidateOut(BaseModel):
    ok: bool
    findings: list[Finding]


class LinkOut(BaseModel):
    url: str
    token: str
