"""The only module that imports litellm: one chat call, configured to call nothing else.

Before litellm is imported: the bundled cost map is used (no fetch at import) and the
async path uses httpx, not aiohttp (`litellm.disable_aiohttp_transport`, read in
`litellm/llms/custom_httpx/http_handler.py: should_use_aiohttp_transport`), so one
transport serves production and the respx-mocked tests alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

os.environ["LITELLM_LOCAL_MODEL_COST_MAP"] = "True"
os.environ["DISABLE_AIOHTTP_TRANSPORT"] = "True"

import litellm
import tenacity

from service.config import Settings

litellm.telemetry = False
litellm.disable_aiohttp_transport = True
litellm.turn_off_message_logging = True
litellm.callbacks = []
litellm.success_callback = []
litellm.failure_callback = []
litellm.suppress_debug_info = True
litellm.drop_params = True  # a provider that lacks a parameter gets the call without it

MAX_TOKENS = 2000
# A worksheet cut off at the length limit is asked for again with more room, up to this.
MAX_TOKENS_CEILING = 8000
_OPENAI_COMPATIBLE = frozenset({
    "openai", "azure", "hosted_vllm", "vllm", "ollama", "ollama_chat", "lm_studio", "groq",
    "together_ai", "deepseek", "mistral", "fireworks_ai", "openrouter", "deepinfra",
    "perplexity", "xai", "litellm_proxy", "custom_openai",
})


class LLMError(Exception):
    """kind: timeout, rate_limited, server_error, unavailable, bad_request.

    `detail` is the exception's type and status only: never message content.
    """

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    finish_reason: str | None
    model: str


def _kind(exc: Exception) -> str:
    if isinstance(exc, litellm.Timeout):
        return "timeout"
    if isinstance(exc, litellm.RateLimitError):
        return "rate_limited"
    if isinstance(exc, litellm.InternalServerError | litellm.ServiceUnavailableError
                  | litellm.BadGatewayError):
        return "server_error"
    if isinstance(exc, litellm.APIConnectionError):
        status = getattr(exc, "status_code", None)
        return "server_error" if isinstance(status, int) and status >= 500 else "unavailable"
    if isinstance(exc, litellm.AuthenticationError | litellm.PermissionDeniedError):
        return "auth"
    if isinstance(exc, litellm.BadRequestError | litellm.NotFoundError):
        return "bad_request"
    status = getattr(exc, "status_code", None)
    if isinstance(status, int) and status >= 500:
        return "server_error"
    return "unavailable"


@lru_cache(maxsize=64)
def _provider(model: str) -> str:
    """Cached: litellm resolves the provider by scanning its model lists, per call otherwise."""
    try:
        return litellm.get_llm_provider(model=model)[1] or ""
    except Exception:
        return model.split("/", 1)[0] if "/" in model else ""


@lru_cache(maxsize=64)
def _supports_response_schema(model: str) -> bool:
    """Cached: a model-map lookup that cannot change while the process runs."""
    try:
        return bool(litellm.supports_response_schema(model=model))
    except Exception:
        return False


def response_format(model: str, json_schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """A JSON schema where the provider takes one, else JSON mode where it is OpenAI-like."""
    if json_schema is None:
        return None
    provider = _provider(model)
    if _supports_response_schema(model):
        return {"type": "json_schema",
                "json_schema": {"name": "worksheet", "schema": json_schema, "strict": False}}
    if provider in _OPENAI_COMPATIBLE:
        return {"type": "json_object"}
    return None


def more_tokens(max_tokens: int) -> int:
    """The budget for re-asking after an answer hit the length limit: the same budget would
    only cut the same answer off again, so double it, within the ceiling."""
    return min(max(max_tokens, 1) * 2, MAX_TOKENS_CEILING)


def _params(model: str, settings: Settings, json_schema: dict[str, Any] | None,
            max_tokens: int = MAX_TOKENS) -> dict[str, Any]:
    params: dict[str, Any] = {"model": model, "timeout": settings.llm_timeout_seconds,
                              "temperature": 0.2, "max_tokens": max_tokens}
    # HOMEWORK_LLM_API_BASE is the primary's; a fallback of another provider uses its own.
    same_provider = _provider(model) == _provider(settings.llm_model or model)
    if settings.llm_api_base and same_provider:
        params["api_base"] = settings.llm_api_base
        if _provider(model) == "openai" and not os.environ.get("OPENAI_API_KEY"):
            params["api_key"] = "no-key"  # a local OpenAI-compatible server needs none
    if (fmt := response_format(model, json_schema)) is not None:
        params["response_format"] = fmt
    return params


@lru_cache(maxsize=16)
def _router(primary: str, fallback: str, api_base: str | None, timeout: float, retries: int,
            schema_json: str) -> litellm.Router:
    settings = Settings(llm_model=primary, llm_fallback_model=fallback, llm_api_base=api_base,
                        llm_timeout_seconds=timeout, llm_max_retries=retries)
    schema = json.loads(schema_json)
    model_list = [{"model_name": "primary", "litellm_params": _params(primary, settings, schema)},
                  {"model_name": "fallback",
                   "litellm_params": _params(fallback, settings, schema)}]
    return litellm.Router(model_list=model_list, fallbacks=[{"primary": ["fallback"]}],
                          num_retries=retries, timeout=timeout, retry_after=0)


def _cost(response: Any) -> float:
    """litellm already priced the response (`_hidden_params["response_cost"]`); pricing it
    again walks the whole cost map a second time, a fifth of a call's own overhead."""
    hidden = getattr(response, "_hidden_params", None) or {}
    stamped = (hidden.get("response_cost") if isinstance(hidden, dict)
               else getattr(hidden, "response_cost", None))
    if isinstance(stamped, int | float):
        return float(stamped)
    if isinstance(hidden, dict) and "response_cost" in hidden:
        return 0.0  # litellm tried and has no price for this model: asking again finds none
    try:
        return float(litellm.completion_cost(completion_response=response) or 0.0)
    except Exception:
        return 0.0


@contextlib.contextmanager
def _no_success_logging() -> Iterator[None]:
    """Skip litellm's success logging for this call: with no callbacks it only re-prices the
    response (a second walk of the cost map) on the event loop and again on a logging
    thread, a third of litellm's own CPU per call. litellm marks its nested calls the same
    way (`litellm._internal_context.is_internal_call`); the price stamped on the response,
    retries and error mapping are unaffected. If a litellm release drops the flag, calls
    simply take the slower path."""
    try:
        from litellm._internal_context import is_internal_call
    except ImportError:
        yield
        return
    token = is_internal_call.set(True)
    try:
        yield
    finally:
        is_internal_call.reset(token)


def _with_cache_marks(messages: list[dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """Anthropic caches a prefix only when asked: mark the static system prompt."""
    models = [m for m in (settings.llm_model, settings.llm_fallback_model) if m]
    if not all(_provider(m) == "anthropic" for m in models):
        return messages
    return [{**m, "content": [{"type": "text", "text": m["content"],
                               "cache_control": {"type": "ephemeral"}}]}
            if m["role"] == "system" and isinstance(m["content"], str) else m
            for m in messages]


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, Exception) and _kind(exc) in ("rate_limited", "server_error")


async def _sleep(seconds: float) -> None:
    """The wait between retries; a module function so tests can see the delays."""
    await asyncio.sleep(seconds)


def _backoff(first: float) -> tenacity.wait.wait_base:
    """first, 2*first, 4*first ... (up to 30 s), each plus up to first/2 of jitter: the
    jitter spreads clients that failed together, and is small enough that every wait is
    longer than the one before."""
    return tenacity.wait_exponential_jitter(initial=first, max=30, jitter=first / 2)


async def _with_retries(messages: list[dict[str, Any]], settings: Settings,
                        json_schema: dict[str, Any] | None, max_tokens: int) -> Any:
    """Retries on 429/5xx with exponential backoff, the same for every provider.
    litellm's own retries differ by provider (the OpenAI SDK retries, Anthropic's handler
    does not), so they are off and tenacity does it. A timeout is not retried here: the
    draft stays retryable, and a second wait of the full timeout helps no one."""
    retrying = tenacity.AsyncRetrying(
        sleep=_sleep, stop=tenacity.stop_after_attempt(settings.llm_max_retries + 1),
        wait=_backoff(settings.llm_backoff_seconds),
        retry=tenacity.retry_if_exception(_retryable), reraise=True)
    async for attempt in retrying:
        with attempt, _no_success_logging():
            return await litellm.acompletion(
                messages=messages, num_retries=0, max_retries=0,
                **_params(settings.llm_model or "", settings, json_schema, max_tokens))
    raise AssertionError("unreachable: tenacity re-raises the last failure")


async def complete(messages: list[dict[str, Any]], *, settings: Settings,
                   json_schema: dict[str, Any] | None = None,
                   max_tokens: int = MAX_TOKENS) -> Completion:
    """One chat call: retries with backoff on 429/5xx, then the fallback model if one is set.

    The fallback path retries through litellm's Router (its own policy), not `_backoff`."""
    if not settings.llm_model:
        raise LLMError("bad_request", "no model configured")
    messages = _with_cache_marks(messages, settings)
    try:
        if settings.llm_fallback_model:
            key = json.dumps(json_schema, sort_keys=True)
            router = _router(settings.llm_model, settings.llm_fallback_model,
                             settings.llm_api_base, settings.llm_timeout_seconds,
                             settings.llm_max_retries, key)
            response = await router.acompletion(model="primary", messages=messages,  # type: ignore[arg-type]
                                                max_tokens=max_tokens)
        else:
            response = await _with_retries(messages, settings, json_schema, max_tokens)
    except Exception as exc:
        status = getattr(exc, "status_code", None)
        raise LLMError(_kind(exc), f"{type(exc).__name__} status={status}") from None
    choice = response.choices[0]
    usage = getattr(response, "usage", None)
    return Completion(
        text=getattr(choice.message, "content", None)
        or getattr(choice.message, "refusal", None) or "",
        finish_reason=getattr(choice, "finish_reason", None),
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cost_usd=_cost(response), model=str(getattr(response, "model", "") or settings.llm_model),
    )


def count_tokens(model: str, text: str) -> int:
    return int(litellm.token_counter(model=model, text=text))
