"""The homework review that opens the next session: what was logged, day by day, in words.

Non-completion is data: the page built from this starts with the review, quotes what got
in the way, and, after a persistent pattern, suggests replacing the task rather than
repeating it. Every sentence keeps the ids of the check-ins it came from, so the clinician
can check it against the entries themselves.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import audit
from service.auth.principal import Principal
from service.clock import today
from service.history import ResourceView, list_resources
from service.models import Approval, CheckIn, Client, Draft, Resource
from service.scope import load

STRIP_DAYS = 28  # the calendar strip shows at most the last four weeks of an item
PATTERN_LENGTH = 3  # check-ins, or review periods, in a row that make a pattern "persistent"
PATTERN_SKIPS = 2  # of which at least this many were skipped outright
RANK = {"done": 3, "partial": 2, "skipped": 1}


@dataclass(frozen=True)
class StripDay:
    """One day of the calendar strip: the best outcome logged that day, or none."""

    day: dt.date
    outcome: str | None
    check_in_id: int | None


@dataclass(frozen=True)
class Sentence:
    """A sentence of the summary and the check-ins it was drawn from (anchors to link)."""

    text: str
    sources: tuple[CheckIn, ...] = ()


@dataclass(frozen=True)
class ItemReview:
    view: ResourceView
    follows_resource_id: int | None
    strip: list[StripDay]
    summary: list[Sentence]
    pattern: tuple[CheckIn, ...] | None
    follow_up_drafts: list[Draft]
    # The items of PATTERN_LENGTH review periods in a row with little done, oldest first,
    # this one last: kept, shrunk or changed, and still not happening.
    stalled_chain: tuple[int, ...] | None = None

    @property
    def id(self) -> int:
        return self.view.resource.id

    @property
    def title(self) -> str:
        return str(self.view.worksheet.get("title") or f"Item {self.id}")

    @property
    def active(self) -> bool:
        return self.view.resource.status == "active"

    @property
    def notes(self) -> list[CheckIn]:
        """What got in the way, in the client's own words, newest first."""
        return [c for c in reversed(self.view.check_ins) if c.note]

    @property
    def entries(self) -> list[CheckIn]:
        return list(reversed(self.view.check_ins))

    @property
    def suggest_replacing(self) -> bool:
        return self.pattern is not None or self.stalled_chain is not None


@dataclass(frozen=True)
class ClientReview:
    client: Client
    items: list[ItemReview]

    @property
    def summary(self) -> list[tuple[ItemReview, Sentence]]:
        return [(item, s) for item in self.items for s in item.summary]


def calendar_strip(view: ResourceView, until: dt.date) -> list[StripDay]:
    """Every day of the item's period (at most STRIP_DAYS), blank where nothing was logged."""
    first = min([view.resource.created_at.date(), *(c.check_in_date for c in view.check_ins)])
    last = max([until, *(c.check_in_date for c in view.check_ins)]) if view.check_ins else until
    start = max(first, last - dt.timedelta(days=STRIP_DAYS - 1))
    best = {c.check_in_date: c for c in best_per_day(view.check_ins)}
    days = [start + dt.timedelta(days=n) for n in range((last - start).days + 1)]
    return [StripDay(d, best[d].outcome if d in best else None,
                     best[d].id if d in best else None) for d in days]


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def summary_sentences(title: str, check_ins: Sequence[CheckIn]) -> list[Sentence]:
    """Plain sentences of what was logged, each naming the check-ins it counts."""
    if not check_ins:
        return [Sentence(f"{title}: nothing logged yet.")]
    by_outcome = {o: tuple(c for c in check_ins if c.outcome == o) for o in RANK}
    sentences = [Sentence(f"{title}: logged {len(check_ins)} time"
                          f"{'' if len(check_ins) == 1 else 's'}.", tuple(check_ins))]
    words = {"done": "Done on", "partial": "Partly done on", "skipped": "Skipped on"}
    for outcome, rows in by_outcome.items():
        if rows:
            days = len({c.check_in_date for c in rows})
            sentences.append(Sentence(f"{words[outcome]} {_days(days)}.", rows))
    notes = tuple(c for c in check_ins if c.note)
    if notes:
        sentences.append(Sentence(
            f"{len(notes)} note{'' if len(notes) == 1 else 's'} on what got in the way.", notes))
    return sentences


def best_per_day(check_ins: Sequence[CheckIn]) -> list[CheckIn]:
    """One check-in per day logged, the best of that day (as the strip shows it), oldest
    first: three "skipped" taps on one day are one skipped day, not a pattern."""
    best: dict[dt.date, CheckIn] = {}
    for c in sorted(check_ins, key=lambda c: (c.check_in_date, c.id)):
        kept = best.get(c.check_in_date)
        if kept is None or RANK.get(c.outcome, 0) > RANK.get(kept.outcome, 0):
            best[c.check_in_date] = c
    return [best[day] for day in sorted(best)]


def persistent_pattern(check_ins: Sequence[CheckIn]) -> tuple[CheckIn, ...] | None:
    """The last PATTERN_LENGTH days logged when they were mostly skipped, else None.

    "Mostly skipped": none of them done in full, and at least PATTERN_SKIPS skipped
    outright. Repeating such a task rarely helps; replacing it is the suggestion.
    """
    recent = tuple(best_per_day(check_ins)[-PATTERN_LENGTH:])
    if len(recent) < PATTERN_LENGTH or any(c.outcome == "done" for c in recent):
        return None
    if sum(1 for c in recent if c.outcome == "skipped") < PATTERN_SKIPS:
        return None
    return recent


def little_done(check_ins: Sequence[CheckIn]) -> bool:
    """A review period with little done: no day done in full, or more days skipped than done
    (nothing logged at all counts too)."""
    done = {c.check_in_date for c in check_ins if c.outcome == "done"}
    skipped = {c.check_in_date for c in check_ins if c.outcome == "skipped"}
    return not done or len(skipped) > len(done)


def stalled_chain(session: Session, view: ResourceView) -> tuple[int, ...] | None:
    """This item and the ones it follows up, when PATTERN_LENGTH reviews in a row had little
    done. The current period counts only once something is logged, so a new item is given
    its chance before the suggestion appears."""
    if not view.check_ins or not little_done(view.check_ins):
        return None
    chain = [view.resource.id]
    while len(chain) < PATTERN_LENGTH:
        earlier = _follows(session, chain[-1])
        if earlier is None or not little_done(list(session.scalars(
                select(CheckIn).where(CheckIn.resource_id == earlier)))):
            return None
        chain.append(earlier)
    return tuple(reversed(chain))


def _follows(session: Session, resource_id: int) -> int | None:
    """The earlier item the approved draft behind this resource followed up, if any."""
    return session.scalar(select(Draft.follows_resource_id)
                          .join(Approval, Approval.draft_id == Draft.id)
                          .join(Resource, Resource.approval_id == Approval.id)
                          .where(Resource.id == resource_id))


def _follow_up_drafts(session: Session, resource_id: int) -> list[Draft]:
    """Drafts already following this item up and not yet decided, so none is made twice."""
    return list(session.scalars(select(Draft).where(
        Draft.follows_resource_id == resource_id,
        Draft.status.not_in(("approved", "rejected"))).order_by(Draft.id)))


def review_item(session: Session, view: ResourceView) -> ItemReview:
    title = str(view.worksheet.get("title") or f"Item {view.resource.id}")
    return ItemReview(view=view, follows_resource_id=_follows(session, view.resource.id),
                      strip=calendar_strip(view, today()),
                      summary=summary_sentences(title, view.check_ins),
                      pattern=persistent_pattern(view.check_ins),
                      follow_up_drafts=_follow_up_drafts(session, view.resource.id),
                      stalled_chain=stalled_chain(session, view))


def _client_review(session: Session, principal: Principal, client_id: int, action: str, *,
                   active_only: bool) -> ClientReview:
    client = load(session, principal, Client, client_id)
    views = list_resources(session, principal, client, limit=500)
    if active_only:
        views = [v for v in views if v.resource.status == "active"]
    audit.record(session, principal, action, "client", client.id, client_id=client.id)
    return ClientReview(client, [review_item(session, v) for v in reversed(views)])


def client_history(session: Session, principal: Principal, client_id: int) -> ClientReview:
    """Every approved item of the client, newest first, retired ones included."""
    return _client_review(session, principal, client_id, "client.history_read",
                          active_only=False)


def next_session_review(session: Session, principal: Principal,
                        client_id: int) -> ClientReview:
    """The active items only: what the next session reviews and decides on."""
    return _client_review(session, principal, client_id, "client.next_session_read",
                          active_only=True)
