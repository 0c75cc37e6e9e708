"""Errors on pages: an HTML page (or a redirect to log in), never problem JSON."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from service.web.security import LoginRequired


def render(request: Request, status: int, title: str, detail: str,
           exc: Exception | None = None) -> Response:
    from service.web.templating import render as render_page

    if isinstance(exc, LoginRequired) or (status == 401 and request.method == "GET"):
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)
    return render_page(request, "web/error.html", status_code=status, title=title,
                       detail=detail)
