"""The ASGI application: API, review screen and client view over one domain core."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from service.api import (
    catalog_routes,
    client_view,
    export_routes,
    health,
    idempotency,
    problems,
    routes,
    webhook_routes,
)
from service.api.headers import SecurityHeaders
from service.api.limits import BodySizeLimit
from service.catalog import get_catalog
from service.config import get_settings
from service.logs import configure_logging

logger = logging.getLogger("homework.app")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Resume pending drafts and send webhooks from the outbox while the server runs."""
    from service.webhooks import dispatcher

    settings = get_settings()
    warming = asyncio.get_running_loop().run_in_executor(None, _warm_up, settings.llm_model)
    async with dispatcher.running(settings), _resume_drafting(app):
        yield
    await warming


def _warm_up(llm_model: str | None) -> None:
    """Pay the slow first uses (textstat, the selection index, litellm's import) on a thread
    once the server is up, instead of before it is ready or inside the first request."""
    from service.selection import rank_templates
    from service.validation.validator import warm_up

    try:
        warm_up()
        rank_templates("warm-up")
        if llm_model:
            import service.drafting.llm  # noqa: F401
    except Exception:  # the first request will meet (and report) the same problem
        logger.exception("warm-up failed")
    # What start-up loaded (litellm's model tables, the catalog, the lexicons) lives as long
    # as the process: keep it out of the collector's full passes, which otherwise walk it all
    # and put a long pause on a request now and then.
    gc.collect()
    gc.freeze()
    health.WARM.set()


@asynccontextmanager
async def _resume_drafting(_: FastAPI) -> AsyncIterator[None]:
    """Resume drafts left pending by a restart; each is claimed by exactly one worker.

    On PostgreSQL pending drafts go back on the job queue (unless a job already waits) and
    this server runs a queue worker; on SQLite they are drafted by tasks of this process.
    """
    from service.workflow import queue
    from service.workflow.drafts import run_drafting

    settings = get_settings()
    if queue.uses_queue(settings):
        queue.resume_pending(settings)
        try:
            async with queue.in_process_worker(settings):
                yield
        finally:
            queue.close_deferrers()
        return
    pending = queue.pending_drafts()
    tasks = {asyncio.create_task(run_drafting(draft_id, settings)) for draft_id in pending}
    yield
    for task in tasks:
        task.cancel()


def create_app() -> FastAPI:
    """Build the app; the catalog is loaded (and schema-checked) here, so a bad file stops it."""
    configure_logging()
    get_catalog()
    app = FastAPI(title="Homework drafting with clinician sign-off", version="1.0.0",
                  description="Evidence-based between-session practice, drafted by an LLM or "
                  "offline, validated, and visible to the client only after a clinician "
                  "approves the exact revision.", lifespan=lifespan)
    problems.install(app)
    idempotency.install(app)
    app.include_router(health.router)
    app.include_router(routes.router)
    app.include_router(catalog_routes.router)
    app.include_router(export_routes.router)
    app.include_router(webhook_routes.router)
    app.include_router(client_view.router)
    _install_web(app)

    app.add_middleware(SecurityHeaders)
    app.add_middleware(BodySizeLimit)
    return app


def _install_web(app: FastAPI) -> None:
    try:
        from service.web import install
    except ImportError:
        return
    install(app)
