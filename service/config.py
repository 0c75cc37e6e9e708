"""Settings from HOMEWORK_* environment variables; unsafe values refused at start-up."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOMEWORK_", extra="ignore")

    database_url: str = f"sqlite:///{ROOT / 'var' / 'homework.db'}"
    llm_model: str | None = None
    llm_fallback_model: str | None = None
    llm_api_base: str | None = None
    llm_timeout_seconds: float = 60.0
    llm_max_retries: int = 2
    # first wait before a retry on 429/5xx; it doubles per attempt, with jitter, up to 30 s
    llm_backoff_seconds: float = Field(default=1.0, ge=0)
    llm_repair_rounds: int = 2
    llm_allowed_models: list[str] | None = None
    secret_key: str = "dev-insecure-change-me"
    environment: str = "development"
    session_idle_minutes: int = 30
    # PostgreSQL only: jobs each app server's in-process worker runs at once (0: none)
    queue_concurrency: int = Field(default=20, ge=0)
    # Webhooks: each app server polls the outbox (false: leave sending to other servers)
    webhook_dispatch: bool = True
    webhook_poll_seconds: float = Field(default=1.0, gt=0)
    webhook_timeout_seconds: float = Field(default=5.0, gt=0)
    # delay before retry n (then ±10% jitter); attempts stop after len + 1 tries
    webhook_retry_seconds: list[int] = Field(
        default=[30, 120, 600, 3600, 6 * 3600, 24 * 3600], min_length=1)
    # Receivers on loopback/private/link-local addresses, and plain http: refused in
    # production unless set true (a webhook URL must not reach into the service's network)
    webhook_private_urls: bool | None = None
    templates_dir: Path = ROOT / "evidence_templates"
    prompts_dir: Path = ROOT / "prompts"
    ui_dir: Path = ROOT / "review_ui"

    @property
    def webhooks_may_reach_private(self) -> bool:
        if self.webhook_private_urls is not None:
            return self.webhook_private_urls
        return self.environment != "production"

    @model_validator(mode="after")
    def _refuse_unsafe(self) -> Settings:
        if self.environment == "production" and self.secret_key.startswith("dev-"):
            raise ValueError("HOMEWORK_SECRET_KEY must be set in production")
        allowed = self.llm_allowed_models
        if allowed is not None:
            for model in (self.llm_model, self.llm_fallback_model):
                if model and model not in allowed:
                    raise ValueError(f"model {model!r} is not in HOMEWORK_LLM_ALLOWED_MODELS")
        return self


@lru_cache
def get_settings() -> Settings:
    return Settings()
