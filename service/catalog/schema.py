"""Strict schema for one evidence template file (evidence_templates/<id>.yaml)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

TemplateModality = Literal[
    "CBT", "BA", "ACT", "DBT", "IFS", "CBT-I", "EFT/Gottman", "MBRP", "general"
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Practice(Strict):
    """A practice dose: what, on which cue, how long, how often."""

    task: str
    cue: str
    where: str
    duration_minutes: float = Field(gt=0)
    frequency: str
    done_criteria: str


class ObstaclePlan(Strict):
    obstacle: str
    plan: str = Field(pattern=r"(?i)\bif\b")


class Variations(Strict):
    paper: str
    app: str
    voice_note: str
    conversation: str


class Template(Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    modality: TemplateModality
    for_: list[str] = Field(alias="for", min_length=1)
    not_for: list[str] = Field(min_length=1)
    techniques: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    fields: list[str] = Field(min_length=1)
    default_practice: Practice
    minimum_viable_dose: Practice
    max_duration_minutes: float = Field(gt=0)
    tracking: str
    obstacles: list[ObstaclePlan] = Field(min_length=2)
    rationale_skeleton: str
    variations: Variations
    steps: list[str] = Field(min_length=1)
    evidence: list[str] = Field(min_length=1)
