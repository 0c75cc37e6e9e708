"""Response bodies as OpenAI and Anthropic send them, and a worksheet that passes."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import respx

from service.catalog import Template


def openai_body(content: str | None, *, prompt_tokens: int = 1200,
                completion_tokens: int = 300, finish_reason: str = "stop",
                model: str = "test-model", refusal: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if refusal is not None:
        message["refusal"] = refusal
    return {
        "id": "chatcmpl-test", "object": "chat.completion", "created": 1_700_000_000,
        "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": message}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def anthropic_body(content: str, *, input_tokens: int = 1200, output_tokens: int = 300,
                   stop_reason: str = "end_turn",
                   model: str = "claude-3-5-haiku-20241022") -> dict[str, Any]:
    return {
        "id": "msg_test", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "text", "text": content}],
        "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def anthropic_tool_body(worksheet: dict[str, Any], *, name: str = "json_tool_call",
                        input_tokens: int = 1200, output_tokens: int = 300,
                        model: str = "claude-sonnet-4-20250514") -> dict[str, Any]:
    """Anthropic's answer when structured output is asked for as a forced tool call."""
    return {
        "id": "msg_test", "type": "message", "role": "assistant", "model": model,
        "content": [{"type": "tool_use", "id": "toolu_test", "name": name, "input": worksheet}],
        "stop_reason": "tool_use", "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": output_tokens},
    }


def good_worksheet(template: Template, *, review_date: dt.date,
                   goal: str = "feel less anxious about work") -> dict[str, Any]:
    """A worksheet that passes the validator with no error (confidence is left null)."""
    dose = template.minimum_viable_dose
    return {
        "template_id": template.id,
        "title": f"Your practice: {template.name}",
        "goal": goal[0].upper() + goal[1:],
        "rationale": (f"When I do this small step, I learn what is really going on, so I can "
                      f"{goal}. Doing it a little, often, builds the habit."),
        "task": dose.task,
        "when": "Right after dinner, when I put my plate in the sink",
        "where": "At the kitchen table",
        "duration_minutes": min(dose.duration_minutes, template.max_duration_minutes),
        "frequency": "3 days a week",
        "done_criteria": dose.done_criteria,
        "tracking": "Tick the day on the sheet when I do it.",
        "obstacles": [{"obstacle": o.obstacle, "plan": o.plan} for o in template.obstacles[:2]],
        "confidence": None,
        "review_date": review_date.isoformat(),
        "modality": "paper",
        "steps": list(template.steps[:4]),
        "fields": list(template.fields),
        "backup_cue": None, "reward": None, "support_person": None,
    }


def as_text(worksheet: dict[str, Any]) -> str:
    return json.dumps(worksheet)


# --- the whole app with a configured model, every provider call answered by respx -------

LLM_BASE = "http://llm.test/v1"
LLM_URL = f"{LLM_BASE}/chat/completions"


@contextlib.contextmanager
def pipeline_llm(app: Any, **overrides: Any) -> Iterator[respx.MockRouter]:
    """The app's real drafting pipeline (redaction, prompt, litellm, parse, validate, store)
    with an OpenAI-compatible model configured; mock `LLM_URL` on the yielded router."""
    from service.config import Settings, get_settings

    values: dict[str, Any] = {"llm_model": "openai/test-model", "llm_api_base": LLM_BASE,
                              "llm_max_retries": 0, "llm_backoff_seconds": 0,
                              "llm_timeout_seconds": 5,
                              "llm_repair_rounds": 1, **overrides}
    cfg = Settings(**values)
    app.dependency_overrides[get_settings] = lambda: cfg
    try:
        with respx.mock(assert_all_called=False) as router:
            yield router
    finally:
        app.dependency_overrides.pop(get_settings, None)


def prompt_of(request: httpx.Request) -> str:
    """Every message of an outgoing chat request, as one text."""
    return "\n".join(str(m.get("content")) for m in json.loads(request.content)["messages"])


def good_answer(request: httpx.Request, *, prompt_tokens: int = 1200,
                completion_tokens: int = 300, model: str = "test-model",
                **changes: Any) -> httpx.Response:
    """A passing worksheet for the template the prompt names, as a good model answers;
    `changes` are worksheet fields, the rest the answer's usage and model."""
    from service.catalog import get_template
    from service.clock import today

    named = re.search(r"^- id: (\w+)", prompt_of(request), re.M)
    template = get_template(named.group(1) if named else "behavioral_activation")
    worksheet = good_worksheet(template, review_date=today() + dt.timedelta(days=7))
    return httpx.Response(200, json=openai_body(
        json.dumps({**worksheet, **changes}), prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens, model=model))
