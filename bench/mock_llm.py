"""A mock OpenAI-compatible chat-completions server for the benchmark and tests.

POST /v1/chat/completions answers with a worksheet (JSON) for the template named in the
prompt, built from that template's catalog card so it passes the validator. Latency
(fixed or lognormal) and fault injection (invalid JSON, schema-invalid, validator-failing,
429, timeout) are configurable by CLI flags, MOCK_LLM_* environment variables, or at run
time with POST /config. GET /stats reports calls and prompt tokens; POST /reset clears them.

Run:  python -m bench.mock_llm --port 8900 --latency-ms 2000 --fault validator_fail=0.05
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import math
import os
import random
import re
import time
import uuid
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = ROOT / "evidence_templates"
FAULTS = ("invalid_json", "schema_invalid", "validator_fail", "rate_limit", "timeout")
MAX_CALL_RECORDS = 100_000
_GOLDEN = (math.sqrt(5) - 1) / 2


@dataclass
class MockConfig:
    latency_ms: float = 0.0
    distribution: str = "fixed"          # "fixed" or "lognormal" (median latency_ms)
    sigma: float = 0.25                  # lognormal shape
    faults: dict[str, float] = field(default_factory=dict)  # fault name -> rate in [0, 1]
    timeout_sleep_s: float = 30.0        # how long a "timeout" fault stalls
    seed: int = 1234

    @classmethod
    def from_env(cls) -> MockConfig:
        env = os.environ
        faults = {}
        for name in FAULTS:
            value = env.get(f"MOCK_LLM_FAULT_{name.upper()}")
            if value:
                faults[name] = float(value)
        return cls(latency_ms=float(env.get("MOCK_LLM_LATENCY_MS", "0")),
                   distribution=env.get("MOCK_LLM_DISTRIBUTION", "fixed"),
                   sigma=float(env.get("MOCK_LLM_SIGMA", "0.25")), faults=faults,
                   timeout_sleep_s=float(env.get("MOCK_LLM_TIMEOUT_SLEEP_S", "30")),
                   seed=int(env.get("MOCK_LLM_SEED", "1234")))

    def update(self, data: dict[str, Any]) -> None:
        for key in ("latency_ms", "sigma", "timeout_sleep_s"):
            if key in data:
                setattr(self, key, float(data[key]))
        if "distribution" in data:
            if data["distribution"] not in ("fixed", "lognormal"):
                raise ValueError("distribution must be fixed or lognormal")
            self.distribution = data["distribution"]
        if "seed" in data:
            self.seed = int(data["seed"])
        if "faults" in data:
            unknown = set(data["faults"]) - set(FAULTS)
            if unknown:
                raise ValueError(f"unknown faults: {sorted(unknown)}")
            self.faults = {k: float(v) for k, v in data["faults"].items()}
        if sum(self.faults.values()) > 1.0:
            raise ValueError("fault rates add up to more than 1")


# --- templates and worksheets ---------------------------------------------------------------

@lru_cache
def load_templates(directory: str = str(TEMPLATES_DIR)) -> dict[str, dict[str, Any]]:
    templates = {}
    for path in sorted(Path(directory).glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        templates[data["id"]] = data
    return templates


_ID_FIELD = re.compile(r"""\b(?:template_id|template|id)\b["']?\s*[:=]\s*["']?([a-z][a-z0-9_]*)""")
_DATE = re.compile(r"review[_ ]date\D{0,40}?(\d{4}-\d{2}-\d{2})", re.IGNORECASE)


def find_template_id(text: str, templates: dict[str, dict[str, Any]]) -> str:
    """The template the prompt asks for: an `id: x` / `template_id: x` first, else the
    earliest catalog id mentioned, else the first template."""
    for match in _ID_FIELD.finditer(text):
        if match.group(1) in templates:
            return match.group(1)
    best, best_at = None, math.inf
    for template_id in templates:
        m = re.search(rf"\b{re.escape(template_id)}\b", text)
        if m and m.start() < best_at:
            best, best_at = template_id, m.start()
    return best or next(iter(templates))


def build_worksheet(template: dict[str, Any], review_date: dt.date) -> dict[str, Any]:
    """A worksheet that passes the validator, from the template's own card."""
    practice = template["default_practice"]
    goal = "Feel a little more able to do the things that matter to you, one small step at a time"
    rationale = template["rationale_skeleton"].replace("{goal}", "that goal")
    return {
        "template_id": template["id"],
        "title": template["name"],
        "goal": goal,
        "rationale": rationale,
        "task": practice["task"],
        "when": practice["cue"],
        "where": practice["where"],
        "duration_minutes": practice["duration_minutes"],
        "frequency": practice["frequency"],
        "done_criteria": practice["done_criteria"],
        "tracking": template["tracking"],
        "obstacles": [{"obstacle": o["obstacle"], "plan": o["plan"]}
                      for o in template["obstacles"]],
        "confidence": 8,
        "review_date": review_date.isoformat(),
        "modality": "paper",
        "steps": list(template["steps"]),
        "fields": list(template["fields"]),
    }


def _review_date(text: str) -> dt.date:
    match = _DATE.search(text)
    if match:
        try:
            return dt.date.fromisoformat(match.group(1))
        except ValueError:
            pass
    return dt.date.today() + dt.timedelta(days=7)


# --- token counting -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _encoder() -> Any:
    try:
        import importlib.util  # litellm bundles tiktoken's files: no download, no import

        spec = importlib.util.find_spec("litellm")
        if spec and spec.origin and "TIKTOKEN_CACHE_DIR" not in os.environ:
            cache = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
            if cache.is_dir():
                os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
        import tiktoken

        return tiktoken.get_encoding("cl100k_base")
    except Exception:
        return None


@lru_cache(maxsize=4096)
def count_tokens(text: str) -> int:
    encoder = _encoder()
    if encoder is None:
        return max(1, len(text) // 4)
    return len(encoder.encode(text, disallowed_special=()))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return "" if content is None else str(content)


# --- the app --------------------------------------------------------------------------------

class MockState:
    def __init__(self, config: MockConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.rng = random.Random(self.config.seed)
        self.offset = self.rng.random()
        self.draws = 0
        self.calls = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.mock_seconds = 0.0
        self.by_outcome: dict[str, int] = {}
        self.records: list[dict[str, Any]] = []
        self.last_request: dict[str, Any] | None = None

    def pick_fault(self) -> str | None:
        """A golden-ratio sequence, offset by the seed, instead of independent draws: every
        run of n calls gets each fault at its rate (within one call), so a 5 % fault rate
        is 5 % in a 60-draft smoke run too, not whatever a seed happens to give (7.7 %)."""
        self.draws += 1
        u = (self.offset + self.draws * _GOLDEN) % 1.0
        acc = 0.0
        for name in FAULTS:
            acc += self.config.faults.get(name, 0.0)
            if u < acc:
                return name
        return None

    def latency_s(self) -> float:
        base = self.config.latency_ms / 1000.0
        if base <= 0:
            return 0.0
        if self.config.distribution == "lognormal":
            return base * math.exp(self.rng.gauss(0.0, self.config.sigma))
        return base

    def stats(self, include_calls: bool) -> dict[str, Any]:
        hashes: dict[str, int] = {}
        for r in self.records:
            hashes[r["first_message_sha256"]] = hashes.get(r["first_message_sha256"], 0) + 1
        out: dict[str, Any] = {
            "calls": self.calls, "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "mock_seconds": round(self.mock_seconds, 6), "by_outcome": dict(self.by_outcome),
            "first_message_hashes": hashes, "config": asdict(self.config),
        }
        if include_calls:
            out["records"] = self.records
        return out


def _error(status: int, message: str, kind: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": kind, "code": kind}},
                        status_code=status)


def _completion(model: str, content: str, prompt_tokens: int, body: dict[str, Any]) -> dict:
    completion_tokens = count_tokens(content)
    message: dict[str, Any] = {"role": "assistant", "content": content}
    finish = "stop"
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("function", {}).get("name", "worksheet")
        message = {"role": "assistant", "content": None, "tool_calls": [{
            "id": f"call_{uuid.uuid4().hex[:12]}", "type": "function",
            "function": {"name": name, "arguments": content}}]}
        finish = "tool_calls"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
        "created": int(time.time()), "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def answer_content(worksheet: dict[str, Any], fault: str | None) -> str:
    """The assistant's text: the worksheet, or the fault's broken version of it."""
    if fault == "invalid_json":
        return "Here is the worksheet: {" + json.dumps(worksheet)[1:-40]
    if fault == "schema_invalid":
        return json.dumps({**worksheet, "confidence": "very", "steps": "do it",
                           "obstacles": "none", "review_date": "next week"})
    if fault == "validator_fail":
        return json.dumps({**worksheet, "when": "sometime"})
    return json.dumps(worksheet)


def _record(state: MockState, messages: list[Any], texts: list[str], prompt_tokens: int,
            template_id: str, outcome: str) -> dict[str, Any]:
    first = texts[0] if texts else ""
    record = {
        "n": state.calls, "prompt_tokens": prompt_tokens,
        "first_message_sha256": hashlib.sha256(first.encode()).hexdigest()[:16],
        "first_message_tokens": count_tokens(first), "n_messages": len(messages),
        "repair": any(isinstance(m, dict) and m.get("role") == "assistant"
                      for m in messages) or len(texts) > 2,
        "template_id": template_id, "outcome": outcome,
    }
    if len(state.records) < MAX_CALL_RECORDS:
        state.records.append(record)
    return record


def create_mock_app(config: MockConfig | None = None) -> Starlette:
    state = MockState(config or MockConfig.from_env())
    templates = load_templates()

    async def chat(request: Request) -> Response:
        started = time.perf_counter()
        try:
            body = await request.json()
            messages = body["messages"]
            assert isinstance(messages, list) and messages
        except Exception:
            return _error(400, "body must be JSON with a non-empty messages list",
                          "invalid_request_error")
        texts = [_content_text(m.get("content")) for m in messages if isinstance(m, dict)]
        prompt_tokens = sum(count_tokens(t) + 4 for t in texts) + 3
        user_text = "\n".join(_content_text(m.get("content")) for m in messages
                              if isinstance(m, dict) and m.get("role") == "user")
        template_id = find_template_id(user_text or "\n".join(texts), templates)
        fault = state.pick_fault()
        delay = state.latency_s()
        state.calls += 1
        state.prompt_tokens += prompt_tokens
        state.last_request = body
        outcome = fault or "ok"
        state.by_outcome[outcome] = state.by_outcome.get(outcome, 0) + 1
        record = _record(state, messages, texts, prompt_tokens, template_id, outcome)
        try:
            if fault == "timeout":
                await asyncio.sleep(state.config.timeout_sleep_s)
            elif delay:
                await asyncio.sleep(delay)
            if fault == "rate_limit":
                response: Response = _error(429, "Rate limit reached (mock)",
                                            "rate_limit_exceeded")
                response.headers["retry-after-ms"] = "20"
                response.headers["retry-after"] = "0"
                return response
            content = answer_content(
                build_worksheet(templates[template_id], _review_date(user_text)), fault)
            payload = _completion(str(body.get("model", "mock-model")), content,
                                  prompt_tokens, body)
            state.completion_tokens += payload["usage"]["completion_tokens"]
            return JSONResponse(payload)
        finally:
            elapsed = time.perf_counter() - started
            state.mock_seconds += elapsed
            record["mock_ms"] = round(elapsed * 1000, 3)

    async def stats(request: Request) -> Response:
        include = request.query_params.get("calls") in ("1", "true")
        out = state.stats(include)
        if request.query_params.get("last") in ("1", "true"):
            out["last_request"] = state.last_request
        return JSONResponse(out)

    async def reset(_: Request) -> Response:
        state.reset()
        return JSONResponse({"reset": True})

    async def configure(request: Request) -> Response:
        try:
            state.config.update(await request.json())
        except (ValueError, TypeError) as exc:
            return _error(400, str(exc), "invalid_request_error")
        state.reset()
        return JSONResponse(asdict(state.config))

    async def models(_: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": "mock-model", "object": "model", "owned_by": "bench"}]})

    app = Starlette(routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/chat/completions", chat, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/stats", stats, methods=["GET"]),
        Route("/reset", reset, methods=["POST"]),
        Route("/config", configure, methods=["POST"]),
    ])
    app.state.mock = state
    return app


def _parse_fault(text: str) -> tuple[str, float]:
    name, _, rate = text.partition("=")
    if name not in FAULTS:
        raise argparse.ArgumentTypeError(f"fault must be one of {FAULTS}")
    return name, float(rate)


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(prog="python -m bench.mock_llm")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument("--distribution", choices=["fixed", "lognormal"])
    parser.add_argument("--sigma", type=float)
    parser.add_argument("--timeout-sleep-s", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--fault", action="append", type=_parse_fault, default=[],
                        help="name=rate, e.g. validator_fail=0.05 (repeatable)")
    args = parser.parse_args(argv)
    config = MockConfig.from_env()
    for key in ("latency_ms", "distribution", "sigma", "timeout_sleep_s", "seed"):
        if getattr(args, key) is not None:
            setattr(config, key, getattr(args, key))
    if args.fault:
        config.faults.update(dict(args.fault))
    count_tokens("warm up")
    uvicorn.run(create_mock_app(config), host=args.host, port=args.port, log_level="warning",
                access_log=False, backlog=4096)


if __name__ == "__main__":
    main()
