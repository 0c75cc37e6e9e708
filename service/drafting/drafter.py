"""Draft a worksheet: offline, or with the configured LLM and a bounded repair loop."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from service.catalog import Template
from service.config import Settings
from service.drafting.offline import draft_offline
from service.drafting.parse import ParseError, parse_worksheet
from service.drafting.redaction import Redactor
from service.validation import validate_worksheet
from service.worksheet import Finding, Modality, Preferences, Worksheet

# Errors only the clinician can settle in session; re-asking the model cannot fix them.
_CLINICIAN_CODES = frozenset({"low_confidence", "missing_confidence"})
_TAG = re.compile(r"<\s*(/?)\s*clinician_request\s*>", re.I)


@dataclass
class DraftOutcome:
    worksheet: Worksheet | None
    findings: list[Finding]
    drafter: str
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error: str | None = None
    notes: list[str] = field(default_factory=list)


@lru_cache
def _env(prompts_dir: str) -> Environment:
    return Environment(loader=FileSystemLoader(prompts_dir), undefined=StrictUndefined,
                       autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=1)
def _schema_json() -> str:
    """Pydantic builds a JSON schema in milliseconds, a third of a draft's own CPU: once."""
    return json.dumps(Worksheet.model_json_schema(), separators=(",", ":"), sort_keys=True)


def worksheet_schema() -> dict[str, Any]:
    """The worksheet's JSON schema for `response_format`; a fresh copy, since litellm may
    adjust the schema it is given for a provider."""
    loaded: dict[str, Any] = json.loads(_schema_json())
    return loaded


def _shape(node: dict[str, Any], defs: dict[str, Any]) -> Any:
    """A JSON skeleton with each value's type in its place: what the model needs from the
    schema in a third of the tokens (titles, defaults and length limits left out)."""
    if "$ref" in node:
        return _shape(defs[node["$ref"].rsplit("/", 1)[1]], defs)
    if "anyOf" in node:
        kinds = [_shape(n, defs) for n in node["anyOf"] if n.get("type") != "null"]
        return f"{kinds[0]} or null"
    if "enum" in node:
        return " | ".join(node["enum"])
    kind = node.get("type")
    if kind == "object":
        return {k: _shape(v, defs) for k, v in node["properties"].items()}
    if kind == "array":
        return [_shape(node["items"], defs)]
    if node.get("format") == "date":
        return "YYYY-MM-DD"
    return "text" if kind == "string" else kind


def prompt_shape() -> str:
    """The worksheet's JSON schema as the prompt carries it: derived from
    `Worksheet.model_json_schema()` (the same schema `response_format` sends), reduced to a
    skeleton by `_shape`, so it names every contract field and enum value and cannot drift
    from the model the answer is parsed into."""
    schema = Worksheet.model_json_schema()
    return json.dumps(_shape(schema, schema.get("$defs", {})), ensure_ascii=False)


@lru_cache
def system_prompt(prompts_dir: str) -> str:
    """Static, so it is byte-identical across drafts and provider prompt caches hit."""
    return _env(prompts_dir).get_template("system.jinja").render(schema=prompt_shape())


def escape_request(text: str) -> str:
    """The request can never close (or reopen) its own data block."""
    return _TAG.sub(lambda m: f"[{m.group(1)}clinician_request]", text)


def user_prompt(prompts_dir: str, *, request: str, template: Template,
                preferences: Preferences, review_date: dt.date, redactor: Redactor,
                instruction: str | None = None, previous: Worksheet | None = None) -> str:
    previous_json = None
    if previous is not None:
        data = previous.model_dump(mode="json", exclude={"confidence"})
        data["template_id"] = template.id
        previous_json = redactor.redact(json.dumps(data, ensure_ascii=False))
    return _env(prompts_dir).get_template("user.jinja").render(
        template=template, request=escape_request(redactor.redact(request)),
        homework_word=redactor.redact(preferences.homework_word or "practice"),
        preferred_modality=preferences.preferred_modality,
        known_cues=[redactor.redact(c) for c in preferences.known_cues],
        review_date=review_date.isoformat(), previous=previous_json,
        instruction=escape_request(redactor.redact(instruction or "revise as needed")))


def repair_prompt(prompts_dir: str, *, findings: list[Finding] | None = None,
                  parse_problem: str | None = None) -> str:
    return _env(prompts_dir).get_template("repair.jinja").render(
        findings=findings or [], parse_problem=parse_problem)


def _offline(request_text: str, template: Template, preferences: Preferences,
             review_date: dt.date, today: dt.date, instruction: str | None,
             previous: Worksheet | None = None) -> DraftOutcome:
    """A re-draft sees the revision it follows, so the clinician's edits survive it."""
    worksheet = draft_offline(request_text=request_text, template=template,
                              preferences=preferences, review_date=review_date,
                              instruction=instruction, previous=previous)
    findings = validate_worksheet(worksheet, today=today, request_text=request_text)
    return DraftOutcome(worksheet, findings, "offline")


def _prompts_dir(settings: Settings) -> str:
    return str(Path(settings.prompts_dir))


def _fallback_modality(preferences: Preferences) -> tuple[Modality, str]:
    """The form to use when the model never gave a valid one, and where it came from.
    Templates carry no default form, so without a preference it is the worksheet's own
    default (the one the offline drafter uses too)."""
    if preferences.preferred_modality:
        return preferences.preferred_modality, "the client's preferred form"
    default: Modality = Worksheet.model_fields["modality"].default
    return default, "the default form (no preferred form is recorded)"


def _modality_note(modality: Modality, source: str) -> Finding:
    """A warning on the draft, shown with the modality field on the review screen: the form
    was chosen by the service, not the model, and the clinician should check it."""
    return Finding(code="modality_defaulted", severity="warning", field="modality",
                   message=(f"The model gave no valid form (modality) after being asked "
                            f"again, so it was set to \"{modality}\", {source}. Check it."))


def _read(text: str, finish_reason: str | None, template_id: str,
          fallback: tuple[Modality, str] | None) -> tuple[Worksheet, Finding | None]:
    """The worksheet in an answer. With `fallback` (the last answer), an answer whose only
    fault is its form is kept with that form and a note saying so."""
    try:
        return parse_worksheet(text, template_id=template_id, finish_reason=finish_reason), None
    except ParseError as exc:
        if fallback is None or "modality" not in exc.fields:
            raise
    worksheet = parse_worksheet(text, template_id=template_id, finish_reason=finish_reason,
                                fallback_modality=fallback[0])
    return worksheet, _modality_note(*fallback)


def _correctable_errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == "error" and f.code not in _CLINICIAN_CODES]


async def draft_worksheet(*, request_text: str, template: Template, preferences: Preferences,
                          review_date: dt.date, today: dt.date, identifiers: list[str],
                          settings: Settings, instruction: str | None = None,
                          previous: Worksheet | None = None) -> DraftOutcome:
    """Never raises for LLM trouble: the outcome says what went wrong and keeps what parsed.

    At most `settings.llm_repair_rounds` correction requests follow the first call, whether
    the answer could not be read (parse problem) or had error findings: one budget, so the
    issue's "once or twice" holds whatever goes wrong.
    """
    if not settings.llm_model:
        return _offline(request_text, template, preferences, review_date, today, instruction,
                        previous)
    # litellm takes seconds to import: only a configured LLM pays for it.
    from service.drafting.llm import MAX_TOKENS, LLMError, complete, more_tokens

    prompts = _prompts_dir(settings)
    redactor = Redactor(identifiers)
    request = [
        {"role": "system", "content": system_prompt(prompts)},
        {"role": "user", "content": user_prompt(
            prompts, request=request_text, template=template, preferences=preferences,
            review_date=review_date, redactor=redactor, instruction=instruction,
            previous=previous)},
    ]
    messages = list(request)
    schema = worksheet_schema()
    outcome = DraftOutcome(None, [], settings.llm_model)
    corrections_left = max(0, settings.llm_repair_rounds)
    max_tokens = MAX_TOKENS
    while True:
        try:
            answer = await complete(messages, settings=settings, json_schema=schema,
                                    max_tokens=max_tokens)
        except LLMError as exc:
            outcome.error = f"llm_{exc.kind}"
            outcome.notes.append(exc.detail)
            return outcome
        outcome.llm_calls += 1
        outcome.prompt_tokens += answer.prompt_tokens
        outcome.completion_tokens += answer.completion_tokens
        outcome.cost_usd += answer.cost_usd
        if answer.finish_reason == "length":
            max_tokens = more_tokens(max_tokens)
        last = corrections_left <= 0
        # A repair carries only the latest answer, so its prompt stays bounded (request +
        # one answer + findings) however many rounds it takes.
        messages = [*request, {"role": "assistant", "content": answer.text}]
        try:
            parsed, note = _read(answer.text, answer.finish_reason, template.id,
                                 _fallback_modality(preferences) if last else None)
        except ParseError as exc:
            outcome.error = f"llm_output_{exc.reason}: {exc}"
            if last:
                return outcome
            corrections_left -= 1
            messages.append({"role": "user", "content": redactor.redact(
                repair_prompt(prompts, parse_problem=str(exc)))})
            continue
        data = redactor.restore(parsed.model_dump(mode="json"))
        if data.get("confidence") is not None:  # the client rates it in session, not the model
            outcome.notes.append("model-supplied confidence dropped")
            data["confidence"] = None
        worksheet = Worksheet.model_validate(data)
        findings = validate_worksheet(worksheet, today=today, request_text=request_text)
        if note is not None:
            findings.append(note)
            outcome.notes.append(note.message)
        outcome.worksheet, outcome.findings, outcome.error = worksheet, findings, None
        errors = _correctable_errors(findings)
        if not errors:
            return outcome
        if last:
            outcome.error = "validation_failed: " + ", ".join(sorted({f.code for f in errors}))
            return outcome
        corrections_left -= 1
        messages.append({"role": "user", "content": redactor.redact(
            repair_prompt(prompts, findings=errors))})
