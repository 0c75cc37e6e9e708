"""The worksheet: the contract's draft content, shared by every domain."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Modality = Literal["paper", "app", "voice_note", "conversation", "calendar"]
MODALITIES: tuple[Modality, ...] = get_args(Modality)
Severity = Literal["error", "warning"]

CLIENT_TEXT_FIELDS = (
    "title", "goal", "rationale", "task", "when", "where", "frequency",
    "done_criteria", "tracking", "backup_cue", "reward", "support_person",
)


def _unstorable(value: Any) -> str | None:
    """Why no database could store this text (a lone surrogate, a NUL), or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text contains an unpaired surrogate; send valid UTF-8"
        return "text contains a NUL character (U+0000); remove it" if "\x00" in value else None
    if isinstance(value, dict):
        return next(filter(None, (_unstorable(k) or _unstorable(v)
                                  for k, v in value.items())), None)
    if isinstance(value, list | tuple):
        return next(filter(None, map(_unstorable, value)), None)
    return None


class Inbound(BaseModel):
    """Base of every model parsed from outside (API bodies, LLM output).

    JSON may escape a lone UTF-16 surrogate or a NUL, which SQLite or PostgreSQL cannot
    store; refusing them here turns what would be a storage crash into a 422 naming the
    problem. Other control characters are stored as sent and rendered escaped.
    """

    @model_validator(mode="before")
    @classmethod
    def _encodable_text(cls, data: Any) -> Any:
        if (problem := _unstorable(data)) is not None:
            raise ValueError(problem)
        return data


class Obstacle(Inbound):
    model_config = ConfigDict(extra="ignore")

    obstacle: str = Field(default="", max_length=2000)
    plan: str = Field(default="", max_length=2000)


# What an offline draft's title says about itself: honest to the clinician, and a warning
# until they take it out, since the client sees the title.
OFFLINE_MARK = "(drafted offline)"


class Worksheet(Inbound):
    """A homework worksheet exactly as the public contract names its fields.

    Fields are lenient (empty allowed) so the validator, not the parser, judges
    missing content and can tell the clinician what to change.
    """

    model_config = ConfigDict(extra="ignore")

    template_id: str = Field(default="", max_length=100)
    title: str = Field(default="", max_length=300)
    goal: str = Field(default="", max_length=2000)
    rationale: str = Field(default="", max_length=4000)
    task: str = Field(default="", max_length=2000)
    when: str = Field(default="", max_length=500)
    where: str = Field(default="", max_length=500)
    duration_minutes: float | None = None
    frequency: str = Field(default="", max_length=500)
    done_criteria: str = Field(default="", max_length=2000)
    tracking: str = Field(default="", max_length=2000)
    obstacles: list[Obstacle] = Field(default_factory=list, max_length=20)
    confidence: int | None = Field(default=None, ge=1, le=10)
    review_date: dt.date | None = None
    modality: Modality = "paper"
    steps: list[Annotated[str, Field(max_length=500)]] = Field(default_factory=list,
                                                               max_length=30)
    fields: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list,
                                                                max_length=40)
    backup_cue: str | None = Field(default=None, max_length=500)
    reward: str | None = Field(default=None, max_length=500)
    support_person: str | None = Field(default=None, max_length=500)

    @field_validator("title", "goal", "rationale", "task", "when", "where", "frequency",
                     "done_criteria", "tracking", "template_id", mode="before")
    @classmethod
    def _null_is_empty(cls, value: object) -> object:
        """A null text field is judged as missing by the validator, not refused by the parser."""
        return "" if value is None else value

    @field_validator("obstacles", "steps", "fields", mode="before")
    @classmethod
    def _null_is_empty_list(cls, value: object) -> object:
        return [] if value is None else value


class Finding(BaseModel):
    """One validator finding; `suggested_fix` is a one-click repair (field -> value)."""

    code: str
    severity: Severity
    field: str
    message: str
    suggested_fix: dict[str, object] | None = None


def has_error(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)


class Preferences(Inbound):
    """What the clinician knows of the client that shapes the draft."""

    model_config = ConfigDict(extra="forbid")

    homework_word: str = Field(default="practice", max_length=40)
    preferred_modality: Modality | None = None
    known_cues: list[str] = Field(default_factory=list, max_length=10)


def if_then(obstacle: object, plan: object) -> str:
    """One if-then plan as a line. The catalog's plans already read "If ..., then ...", so
    such a plan follows its obstacle as it is; a bare plan gets the "If ..., then ..." frame."""
    what = str(obstacle or "").strip().rstrip(".").strip()
    then = str(plan or "").strip()
    if not then:
        return what
    if not what:
        return then
    if then[:2].lower() == "if" and (len(then) == 2 or not then[2].isalnum()):
        return f"{what}: {then}"
    return f"If {what}, then {then}"
