"""The benchmark's mock LLM behaves as documented (no timing assertions: it is not a bench)."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import httpx
import pytest

from bench.mock_llm import FAULTS, MockConfig, create_mock_app, load_templates
from service.catalog import get_template
from service.worksheet import Worksheet

SYSTEM = "You draft between-session practice worksheets. Answer with JSON only."


def _messages(template_id: str, extra: str = "") -> list[dict[str, str]]:
    card = f"Template card:\nid: {template_id}\nname: whatever\n{extra}"
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"Request: coffee on the porch.\n{card}"}]


async def _post_many(app, bodies: list[dict]) -> list[httpx.Response]:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
        return [await http.post("/v1/chat/completions", json=b) for b in bodies]


async def _get(app, path: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
        return await http.get(path)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.mark.parametrize("template_id", ["behavioral_activation", "thought_record",
                                         "sleep_diary"])
def test_answers_a_valid_worksheet_for_the_requested_template(template_id: str) -> None:
    app = create_mock_app(MockConfig())
    [response] = run(_post_many(app, [{"model": "mock-model",
                                       "messages": _messages(template_id)}]))
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["usage"]["prompt_tokens"] > 0
    worksheet = Worksheet.model_validate(json.loads(body["choices"][0]["message"]["content"]))
    template = get_template(template_id)
    assert worksheet.template_id == template_id
    assert worksheet.task == template.default_practice.task
    assert worksheet.confidence == 8
    assert worksheet.review_date == dt.date.today() + dt.timedelta(days=7)
    assert worksheet.steps == list(template.steps)
    assert worksheet.fields == list(template.fields)
    assert len(worksheet.obstacles) == len(template.obstacles)
    assert "{goal}" not in worksheet.rationale


def test_review_date_in_the_prompt_is_used() -> None:
    app = create_mock_app(MockConfig())
    [response] = run(_post_many(app, [{"messages": _messages(
        "grounding", "review_date: 2031-02-03")}]))
    content = json.loads(response.json()["choices"][0]["message"]["content"])
    assert content["review_date"] == "2031-02-03"


def test_every_catalog_template_can_be_answered() -> None:
    templates = load_templates()
    app = create_mock_app(MockConfig())
    responses = run(_post_many(app, [{"messages": _messages(t)} for t in templates]))
    for template_id, response in zip(templates, responses, strict=True):
        content = json.loads(response.json()["choices"][0]["message"]["content"])
        assert content["template_id"] == template_id


def _outcomes(responses: list[httpx.Response]) -> dict[str, int]:
    counts = {"ok": 0, "invalid_json": 0, "schema_invalid": 0, "validator_fail": 0,
              "rate_limit": 0}
    for r in responses:
        if r.status_code == 429:
            counts["rate_limit"] += 1
            continue
        content = r.json()["choices"][0]["message"]["content"]
        try:
            data = json.loads(content)
        except json.JSONDecodeError:
            counts["invalid_json"] += 1
            continue
        if data["confidence"] == "very":
            counts["schema_invalid"] += 1
        elif data["when"] == "sometime":
            counts["validator_fail"] += 1
        else:
            counts["ok"] += 1
    return counts


def test_fault_rates_are_honoured_with_a_fixed_seed() -> None:
    rates = {"invalid_json": 0.1, "schema_invalid": 0.1, "validator_fail": 0.1,
             "rate_limit": 0.1}
    n = 1000
    app = create_mock_app(MockConfig(faults=rates, seed=7))
    responses = run(_post_many(app, [{"messages": _messages("mood_log")}] * n))
    counts = _outcomes(responses)
    for name, rate in rates.items():
        assert abs(counts[name] / n - rate) < 0.04, (name, counts)
    assert counts["ok"] + sum(counts[k] for k in rates) == n
    stats = run(_get(app, "/stats")).json()
    assert stats["calls"] == n
    assert sum(stats["by_outcome"].values()) == n
    for name in rates:
        assert stats["by_outcome"][name] == counts[name]
    # the same seed gives the same sequence
    again = create_mock_app(MockConfig(faults=rates, seed=7))
    assert _outcomes(run(_post_many(again, [{"messages": _messages("mood_log")}] * n))) == counts


def test_schema_invalid_fails_the_contract_and_validator_fail_parses() -> None:
    app = create_mock_app(MockConfig(faults={"schema_invalid": 1.0}))
    [r] = run(_post_many(app, [{"messages": _messages("worry_time")}]))
    with pytest.raises(ValueError):
        Worksheet.model_validate(json.loads(r.json()["choices"][0]["message"]["content"]))
    app = create_mock_app(MockConfig(faults={"validator_fail": 1.0}))
    [r] = run(_post_many(app, [{"messages": _messages("worry_time")}]))
    sheet = Worksheet.model_validate(json.loads(r.json()["choices"][0]["message"]["content"]))
    assert sheet.when == "sometime"


def test_timeout_fault_stalls_for_the_configured_time() -> None:
    app = create_mock_app(MockConfig(faults={"timeout": 1.0}, timeout_sleep_s=0.01))
    [r] = run(_post_many(app, [{"messages": _messages("grounding")}]))
    assert r.status_code == 200
    assert app.state.mock.by_outcome == {"timeout": 1}


def test_stats_count_calls_tokens_and_first_message_hashes_and_reset() -> None:
    app = create_mock_app(MockConfig())
    bodies = [{"messages": _messages("grounding")}, {"messages": _messages("mood_log")},
              {"messages": [*_messages("mood_log"), {"role": "assistant", "content": "{}"},
                            {"role": "user", "content": "fix: when is vague"}]}]
    responses = run(_post_many(app, bodies))
    stats = run(_get(app, "/stats?calls=1")).json()
    assert stats["calls"] == 3
    assert stats["prompt_tokens"] == sum(r.json()["usage"]["prompt_tokens"] for r in responses)
    assert len(stats["first_message_hashes"]) == 1  # same system message each time
    assert [rec["repair"] for rec in stats["records"]] == [False, False, True]
    assert [rec["template_id"] for rec in stats["records"]] == ["grounding", "mood_log",
                                                                  "mood_log"]

    async def reset_and_read() -> dict:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
            assert (await http.post("/reset")).status_code == 200
            return (await http.get("/stats")).json()

    after = run(reset_and_read())
    assert after["calls"] == 0 and after["prompt_tokens"] == 0


def test_config_endpoint_changes_faults_and_refuses_unknown_ones() -> None:
    app = create_mock_app(MockConfig())

    async def go() -> tuple[int, int, int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mock") as http:
            ok = await http.post("/config", json={"faults": {"rate_limit": 1.0}})
            bad = await http.post("/config", json={"faults": {"nope": 1.0}})
            r = await http.post("/v1/chat/completions",
                                json={"messages": _messages("grounding")})
            return ok.status_code, bad.status_code, r.status_code

    assert run(go()) == (200, 400, 429)
    assert set(FAULTS) >= set(app.state.mock.config.faults)


def test_bad_body_is_a_400() -> None:
    app = create_mock_app(MockConfig())
    [r] = run(_post_many(app, [{"nomessages": True}]))
    assert r.status_code == 400
