"""One problem-details JSON shape (RFC 9457) for every 4xx and 5xx."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from service.errors import DomainError

log = logging.getLogger("homework.api")
JSON_PATHS = ("/api/", "/openapi.json", "/docs", "/redoc", "/healthz")
RETRY_AFTER_SECONDS = 5


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str
    field: str | None = None
    errors: list[dict[str, Any]] | None = None


def problem(status: int, title: str, detail: str, **extra: Any) -> JSONResponse:
    body = Problem(title=title, status=status, detail=detail, **extra)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type="application/problem+json")


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    """Say where and what, never echo the submitted value (it may be PHI)."""
    return [{"loc": [str(p) for p in e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()]


def _respond(request: Request, status: int, title: str, detail: str,
             exc: Exception | None = None, **extra: Any) -> Response:
    """Problem JSON for the API; the pages (if installed) render their own error page."""
    html_error = getattr(request.app.state, "html_error", None)
    if html_error is not None and not request.url.path.startswith(JSON_PATHS):
        return html_error(request, status, title, detail, exc)  # type: ignore[no-any-return]
    return problem(status, title, detail, **extra)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        return _respond(request, exc.status, exc.title, exc.detail, exc, field=exc.field)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        first = errors[0] if errors else {"loc": [], "msg": "invalid input"}
        detail = f"{'.'.join(first['loc'][1:]) or 'body'}: {first['msg']}"
        return _respond(request, 422, "Unprocessable content", detail, exc, errors=errors)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        return _respond(request, exc.status_code, str(exc.detail), str(exc.detail), exc)

    @app.exception_handler(DBAPIError)
    async def _database(request: Request, exc: DBAPIError) -> Response:
        """A lost or refused database connection is the server's transient fault: 503 with
        Retry-After. The transaction was rolled back, so nothing was half-written."""
        if isinstance(exc, DataError):  # e.g. a NUL in a form field or query parameter
            return _respond(request, 422, "Unprocessable content", "the input holds a value "
                            "the database cannot store (such as a NUL character); nothing "
                            "was saved", exc)
        if isinstance(exc, IntegrityError):  # a unique row another request wrote first
            return _respond(request, 409, "Conflict", "another request changed the same "
                            "record at the same moment; nothing was saved, retry", exc)
        if not (exc.connection_invalidated or isinstance(exc, OperationalError)):
            return await _crash(request, exc)
        return _unavailable(request, exc)

    @app.exception_handler(PoolTimeout)
    async def _pool_exhausted(request: Request, exc: PoolTimeout) -> Response:
        return _unavailable(request, exc)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.error("unhandled %s", type(exc).__name__)
        return _respond(request, 500, "Internal error", "something went wrong; nothing was saved")


def _unavailable(request: Request, exc: Exception) -> Response:
    log.warning("database unavailable: %s", type(exc).__name__)  # never the SQL or its values
    response = _respond(request, 503, "Service unavailable",
                        "the database is unreachable; nothing was saved, retry shortly", exc)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
