"""Server-rendered pages: the clinician's review screen and the client's own view.

Pages call the same domain services as /api/v1; this package only parses forms,
checks the session and CSRF token, and renders Jinja2 templates from review_ui/.
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from service.config import ROOT, get_settings
from service.web import client_pages, clinician, errors, history_pages, login


def install(app: FastAPI) -> None:
    settings = get_settings()
    app.add_middleware(
        SessionMiddleware, secret_key=settings.secret_key, session_cookie="homework_session",
        max_age=settings.session_idle_minutes * 60, same_site="lax",
        https_only=settings.environment == "production")
    app.mount("/static", StaticFiles(directory=ROOT / "review_ui" / "static"), name="static")
    app.state.html_error = errors.render
    for module in (login, clinician, client_pages, history_pages):
        app.include_router(module.router)
