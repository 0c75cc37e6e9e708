"""The client's own pages, reached by an unguessable, revocable link: no account, no drafts.

Everything shown here is read from `Resource` rows, which only an approval creates, so no
URL of these pages can reach a draft or an unapproved revision. Every "not found" (bad or
revoked token, another client's item, a draft id) answers the same friendly 404 page.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import history
from service.api.deps import SessionDep
from service.clients import client_for_link, link_principal
from service.clock import today
from service.errors import DomainError
from service.history import ResourceView
from service.history.streak import days_per_week
from service.models import Approval, Client, Draft, Organisation, Resource
from service.web.forms import PostedForm
from service.web.security import CsrfDep
from service.web.templating import render

router = APIRouter(include_in_schema=False)

DEFAULT_WORD = "practice"
MAX_TOKEN = 200
MAX_NOTE = 2000
OUTCOMES = {"done": "Done", "partial": "Partly", "skipped": "Skipped this time"}
THANKS = {
    "done": "Thank you, that's saved. Well done for making the time.",
    "partial": "Thank you, that's saved. Part of it still counts.",
    "skipped": "Thank you for logging it. Days that don't happen are useful to talk about too.",
}
NO_INDEX = {"X-Robots-Tag": "noindex, nofollow"}


@dataclass(frozen=True)
class Item:
    """One approved resource as the client sees it."""

    view: ResourceView
    word: str

    @property
    def id(self) -> int:
        return self.view.resource.id

    @property
    def active(self) -> bool:
        return self.view.resource.status == "active"

    @property
    def ws(self) -> dict[str, Any]:
        return self.view.worksheet

    @property
    def streak_text(self) -> str:
        return streak_text(self.view.streak)

    @property
    def this_week(self) -> int:
        start = today() - dt.timedelta(days=today().weekday())
        return len({c.check_in_date for c in self.view.check_ins
                    if c.outcome in ("done", "partial") and c.check_in_date >= start})

    @property
    def week_target(self) -> int:
        """Days a week that keep the streak going (the frequency less one skip day)."""
        return max(1, days_per_week(str(self.ws.get("frequency") or "")) - 1)

    @property
    def recent(self) -> list[Any]:
        return list(reversed(self.view.check_ins))[:10]


def streak_text(weeks: int) -> str:
    """Weeks in a row, said kindly; no streak is a fresh start, never a failure."""
    if weeks <= 0:
        return "Every week is a fresh start. Any try you log counts, even a partial one."
    if weeks == 1:
        return "1 week on track. Nice start."
    return f"{weeks} weeks in a row."


def _client(session: Session, token: str) -> Client | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    return client_for_link(session, token)


def _words(session: Session, client: Client) -> dict[int, str]:
    """Each resource's word for "homework", from the preferences of the draft approved."""
    rows = session.execute(
        select(Resource.id, Draft.preferences)
        .join(Approval, Approval.id == Resource.approval_id)
        .join(Draft, Draft.id == Approval.draft_id)
        .where(Resource.client_id == client.id))
    words: dict[int, str] = {}
    for resource_id, preferences in rows:
        word = (preferences or {}).get("homework_word") if isinstance(preferences, dict) else None
        words[resource_id] = str(word).strip() if word and str(word).strip() else DEFAULT_WORD
    return words


def _item(session: Session, client: Client, raw_id: str) -> Item | None:
    """The client's own approved resource with this id, or None (never another's, or a draft)."""
    if not raw_id.isdigit() or len(raw_id) > 12:
        return None
    resource_id = int(raw_id)
    views = history.list_resources(session, link_principal(client), client,
                                   after=resource_id - 1, limit=1)
    if not views or views[0].resource.id != resource_id:
        return None
    return Item(views[0], _words(session, client).get(resource_id, DEFAULT_WORD))


def not_found(request: Request, token: str | None = None) -> Response:
    """The same page whether the link never existed, was revoked, or the item isn't theirs."""
    return _page(request, "client/not_found.html", status_code=404, home=token)


def _page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
    response = render(request, name, status_code=status_code, signed_in=False, **context)
    response.headers.update(NO_INDEX)
    return response


@router.get("/c/{token}")
def client_home(request: Request, token: str, session: SessionDep) -> Response:
    client = _client(session, token)
    if client is None:
        return not_found(request)
    words = _words(session, client)
    items = [Item(v, words.get(v.resource.id, DEFAULT_WORD))
             for v in history.list_resources(session, link_principal(client), client, limit=200)]
    active = [i for i in items if i.active]
    word = (active or items)[-1].word if items else DEFAULT_WORD
    return _page(request, "client/index.html", token=token, home=token, word=word, active=active,
                 finished=[i for i in items if not i.active])


def _item_page(request: Request, token: str, item: Item, status_code: int = 200,
               **extra: Any) -> Response:
    form = {"outcome": "", "note": "", "check_in_date": today().isoformat(), **extra.pop(
        "form", {})}
    return _page(request, "client/item.html", status_code=status_code, token=token, home=token,
                 item=item,
                 word=item.word, outcomes=OUTCOMES, form=form, today=today().isoformat(),
                 max_note=MAX_NOTE, **extra)


def _slug(word: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", word.lower()).strip("-")[:40] or DEFAULT_WORD


@router.get("/c/{token}/items/{resource_id}.ics")
def item_calendar(request: Request, token: str, resource_id: str,
                  session: SessionDep) -> Response:
    """The practice as a protected appointment: a reminder before, a log-it prompt at its end."""
    client = _client(session, token)
    item = _item(session, client, resource_id) if client else None
    if client is None or item is None or not item.active:
        return not_found(request, token if client else None)
    from service.exports.ics import practice_calendar

    practice = session.get(Organisation, client.organisation_id)
    body = practice_calendar(item.view, practice_name=practice.name if practice else "")
    return Response(body, media_type="text/calendar; charset=utf-8", headers={
        **NO_INDEX,
        "Content-Disposition": f'attachment; filename="{_slug(item.word)}-{item.id}.ics"'})


@router.get("/c/{token}/items/{resource_id}.pdf")
def item_pdf(request: Request, token: str, resource_id: str, session: SessionDep) -> Response:
    client = _client(session, token)
    item = _item(session, client, resource_id) if client else None
    if client is None or item is None:
        return not_found(request, token if client else None)
    from service.exports.pdf import resource_pdf

    body = resource_pdf(item.view, homework_word=item.word)
    return Response(body, media_type="application/pdf", headers={
        **NO_INDEX,
        "Content-Disposition": f'inline; filename="{_slug(item.word)}-{item.id}.pdf"'})


@router.get("/c/{token}/items/{resource_id}")
def item_page(request: Request, token: str, resource_id: str, session: SessionDep,
              saved: str = "") -> Response:
    client = _client(session, token)
    item = _item(session, client, resource_id) if client else None
    if client is None or item is None:
        return not_found(request, token if client else None)
    return _item_page(request, token, item, thanks=THANKS.get(saved))


def _check_in_form(form: Any) -> tuple[dict[str, str], str | None]:
    """The form's values (kept on error) and the first problem, in plain words."""
    values = {name: str(form.get(name) or "").strip()
              for name in ("outcome", "note", "check_in_date")}
    if values["outcome"] not in OUTCOMES:
        return values, "Please choose how it went: done, partly, or skipped."
    if len(values["note"]) > MAX_NOTE:
        return values, f"The note is a little long: please keep it under {MAX_NOTE} characters."
    try:
        day = dt.date.fromisoformat(values["check_in_date"] or today().isoformat())
    except ValueError:
        return values, "Please give the day as a date, for example 2026-03-31."
    if day > today():
        return values, "That day hasn't happened yet: please pick today or an earlier day."
    values["check_in_date"] = day.isoformat()
    return values, None


@router.post("/c/{token}/items/{resource_id}/check-in", dependencies=[CsrfDep])
def check_in(request: Request, token: str, resource_id: str, session: SessionDep,
             form: PostedForm) -> Response:
    client = _client(session, token)
    item = _item(session, client, resource_id) if client else None
    if client is None or item is None:
        return not_found(request, token if client else None)
    values, problem = _check_in_form(form)
    if not item.active:
        return _item_page(request, token, item, status_code=409, form=values,
                          error="This one is finished, so there's nothing more to log here.")
    if problem is None:
        try:
            history.record_check_in(
                session, link_principal(client),
                item.view.resource, outcome=values["outcome"],  # type: ignore[arg-type]
                check_in_date=dt.date.fromisoformat(values["check_in_date"]),
                note=values["note"] or None)
        except DomainError as exc:  # checked above; kept so a new rule still reads kindly
            problem = exc.detail
        else:
            return RedirectResponse(
                f"/c/{token}/items/{item.id}?saved={values['outcome']}#check-in",
                status_code=303, headers=NO_INDEX)
    return _item_page(request, token, item, status_code=422, form=values, error=problem)


@router.get("/c/{token}/{rest:path}")
def anything_else(request: Request, token: str, rest: str, session: SessionDep) -> Response:
    """Unknown addresses under a link get the same friendly page as a bad link."""
    return not_found(request, token if _client(session, token) else None)
