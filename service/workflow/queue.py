"""Background drafting: a procrastinate job queue on PostgreSQL, in-process on SQLite.

On PostgreSQL a request for background drafting defers one `homework.draft` job (its
queueing lock keeps at most one waiting job per draft) and any worker of any server, or a
standalone `homework worker`, runs it. The job calls `run_drafting`, whose guarded claim
(`requested → drafting`) keeps drafting at most once even if a job is duplicated or retried.
On the embedded SQLite default nothing is queued: the draft runs in-process after the
response, as before. procrastinate is imported only on the PostgreSQL path.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from fastapi import BackgroundTasks
from sqlalchemy.engine import make_url

from service.config import Settings, get_settings
from service.db import transaction
from service.workflow.drafts import drafts_to_resume, run_drafting

if TYPE_CHECKING:
    import procrastinate

TASK = "homework.draft"
QUEUE = "drafting"
STALE_CLAIM = dt.timedelta(minutes=5)
SHUTDOWN_GRACE_SECONDS = 30.0
logger = logging.getLogger("homework.queue")

_deferrer_lock = threading.Lock()
_deferrers: dict[str, procrastinate.App] = {}


def uses_queue(settings: Settings) -> bool:
    """The job queue needs PostgreSQL; any other database drafts in-process."""
    return make_url(settings.database_url).get_backend_name() == "postgresql"


def conninfo(database_url: str) -> str:
    """The libpq URI psycopg wants, from the SQLAlchemy URL (`postgresql+psycopg://…`)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


def queueing_lock(draft_id: int) -> str:
    return f"draft-{draft_id}"


async def _draft_job(draft_id: int) -> None:
    """The job body; a draft already claimed (or gone) makes it a no-op."""
    await run_drafting(draft_id, get_settings())


@lru_cache
def worker_app(database_url: str) -> procrastinate.App:
    """The app whose (async) connector runs jobs; opened by whoever runs a worker."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.PsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=6))
    app.task(name=TASK, queue=QUEUE,
             retry=procrastinate.RetryStrategy(max_attempts=3, wait=5))(_draft_job)
    return app


def _deferrer(database_url: str) -> procrastinate.App:
    """A synchronous app for deferring from any thread (sync routes, async routes, start-up)."""
    with _deferrer_lock:
        app = _deferrers.get(database_url)
        if app is None:
            import procrastinate

            app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(
                conninfo=conninfo(database_url), min_size=1, max_size=5))
            app.open()
            _deferrers[database_url] = app
        return app


def close_deferrers() -> None:
    with _deferrer_lock:
        while _deferrers:
            _, app = _deferrers.popitem()
            app.close()


def defer_drafting(draft_id: int, settings: Settings) -> bool:
    """Queue one job for the draft; False if one is already waiting (same queueing lock)."""
    from procrastinate.exceptions import AlreadyEnqueued

    deferrer = _deferrer(settings.database_url)
    try:
        deferrer.configure_task(TASK, queue=QUEUE, queueing_lock=queueing_lock(draft_id)
                                ).defer(draft_id=draft_id)
    except AlreadyEnqueued:
        return False
    return True


def enqueue_drafting(draft_id: int, settings: Settings, background: BackgroundTasks) -> None:
    """Draft in the background: a queued job on PostgreSQL, after the response on SQLite."""
    if uses_queue(settings):
        defer_drafting(draft_id, settings)
    else:
        background.add_task(run_drafting, draft_id, settings)


def pending_drafts() -> list[int]:
    """Drafts never started, or claimed so long ago that their worker must have died."""
    with transaction() as session:
        return drafts_to_resume(session, stale_after=STALE_CLAIM)


def resume_pending(settings: Settings) -> list[int]:
    """Re-queue pending drafts that have no waiting job; returns the ones queued now."""
    return [draft_id for draft_id in pending_drafts() if defer_drafting(draft_id, settings)]


def _worker_options(concurrency: int, *, signals: bool) -> dict[str, Any]:
    return {"concurrency": concurrency, "queues": [QUEUE], "delete_jobs": "successful",
            "install_signal_handlers": signals,
            "shutdown_graceful_timeout": SHUTDOWN_GRACE_SECONDS}


@contextlib.asynccontextmanager
async def in_process_worker(settings: Settings) -> Any:
    """Run a worker inside the app server for as long as the context lasts (its lifespan)."""
    if settings.queue_concurrency < 1:
        yield
        return
    app = worker_app(settings.database_url)
    async with app.open_async():
        task = asyncio.create_task(app.run_worker_async(
            name="homework-serve", **_worker_options(settings.queue_concurrency, signals=False)))
        task.add_done_callback(_log_worker_exit)
        try:
            yield
        finally:
            task.cancel()  # procrastinate stops gracefully: running jobs get time to finish
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(task, return_exceptions=True)


def _log_worker_exit(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("the in-process queue worker stopped", exc_info=task.exception())


async def run_worker(settings: Settings, *, concurrency: int) -> None:
    """A standalone worker (`homework worker`) until SIGINT/SIGTERM; re-queues pending drafts
    first."""
    resumed = resume_pending(settings)
    if resumed:
        logger.info("re-queued %d pending drafts", len(resumed))
    app = worker_app(settings.database_url)
    async with app.open_async():
        await app.run_worker_async(name="homework-worker",
                                   **_worker_options(concurrency, signals=True))


def apply_schema(database_url: str) -> bool:
    """Create procrastinate's tables unless present; True if they were created now."""
    import procrastinate

    app = procrastinate.App(connector=procrastinate.SyncPsycopgConnector(
        conninfo=conninfo(database_url), min_size=1, max_size=1))
    with app.open():
        present = app.connector.get_sync_connector().execute_query_one(
            "SELECT to_regclass('procrastinate_jobs') IS NOT NULL AS present")["present"]
        if present:
            return False
        app.schema_manager.apply_schema()
        return True
