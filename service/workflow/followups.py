"""One-click follow-ups at the next session: each a new draft linked to the item it follows.

Non-completion is data, so the usual answers are to shrink the task, change its form or tie
it to another cue; "keep" repeats it for another period and "retire" ends it. Each new
draft starts from the approved worksheet (the exact resource the client had), is validated
like any edit, and waits for the clinician's approval: nothing reaches the client before.
"""

from __future__ import annotations

import datetime as dt
import json
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from service import audit, history
from service.auth.principal import Principal
from service.catalog import Template, get_template
from service.clock import today
from service.drafting.offline.revise import other_cue as on_cue
from service.drafting.offline.revise import other_form as in_form
from service.drafting.offline.revise import smaller as shrink
from service.errors import Conflict, Invalid, NotFound
from service.models import Approval, Draft, Resource
from service.scope import load
from service.workflow import drafts
from service.workflow.states import DraftStatus, move
from service.worksheet import MODALITIES, Modality, Preferences, Worksheet

REVIEW_AFTER = dt.timedelta(days=7)
FALLBACK_FORMS: tuple[Modality, ...] = ("voice_note", "paper", "app", "conversation")


class FollowUp(StrEnum):
    SMALLER = "smaller"
    FORM = "form"
    CUE = "cue"
    KEEP = "keep"
    RETIRE = "retire"


LABELS = {FollowUp.SMALLER: "make it smaller", FollowUp.FORM: "change its form",
          FollowUp.CUE: "tie it to another cue", FollowUp.KEEP: "keep it",
          FollowUp.RETIRE: "retire it"}


def _active_item(session: Session, principal: Principal, client_id: int,
                 resource_id: int) -> Resource:
    """The client's own active item; another client's (or organisation's) is "not found"."""
    resource = load(session, principal, Resource, resource_id)
    if resource.client_id != client_id:
        raise NotFound(f"resource {resource_id} not found")
    if resource.status != "active":
        raise Conflict(f"item {resource.id} is retired; follow it up from an active item")
    return resource


def _approved_draft(session: Session, resource: Resource) -> Draft:
    return session.scalars(select(Draft).join(Approval, Approval.draft_id == Draft.id)
                           .where(Approval.id == resource.approval_id)).one()


def smaller(worksheet: Worksheet, template: Template) -> Worksheet:
    """The template's minimum viable dose; once the task is the dose, the same task for half
    the time on fewer days (the rule re-drafts use too). Never longer or more often."""
    shrunk = shrink(worksheet, template)
    if shrunk == worksheet:
        raise Invalid("this task is already one minute once a week; change its form or its cue "
                      "instead", field="kind")
    return shrunk.model_copy(update={"confidence": None})


def other_form(worksheet: Worksheet, template: Template, modality: Modality) -> Worksheet:
    """The same task in another form, logged the way the template's variation says."""
    if modality == worksheet.modality:
        raise Invalid(f"the item is already a {modality.replace('_', ' ')}; pick another form",
                      field="modality")
    return in_form(worksheet, template, modality).model_copy(
        update={"confidence": None})


def other_cue(worksheet: Worksheet, cue: str) -> Worksheet:
    """The same task on a new daily cue; the validator judges whether the cue is specific."""
    if not cue.strip():
        raise Invalid("name the new cue, e.g. \"right after brushing your teeth\"", field="cue")
    return on_cue(worksheet, cue.strip()[:500]).model_copy(update={"confidence": None})


def choose_form(current: Modality, preferred: Modality | None) -> Modality:
    """The client's preferred form when it differs from the current one, else the next one."""
    if preferred is not None and preferred != current:
        return preferred
    return next(m for m in FALLBACK_FORMS if m != current)


def _next_worksheet(worksheet: Worksheet, kind: FollowUp, preferences: Preferences, *,
                    cue: str | None, modality: Modality | None) -> Worksheet:
    template = get_template(worksheet.template_id)
    if kind == FollowUp.SMALLER:
        return smaller(worksheet, template)
    if kind == FollowUp.FORM:
        chosen = modality or choose_form(worksheet.modality, preferences.preferred_modality)
        return other_form(worksheet, template, chosen)
    if kind == FollowUp.CUE:
        return other_cue(worksheet, cue or "")
    if kind == FollowUp.KEEP:
        return worksheet
    raise Invalid(f"{kind.value!r} makes no new draft", field="kind")


def _parse(kind: str, modality: str | None) -> tuple[FollowUp, Modality | None]:
    try:
        choice = FollowUp(kind)
    except ValueError:
        raise Invalid("choose a follow-up: " + ", ".join(LABELS.values()), field="kind") from None
    if modality is not None and modality not in MODALITIES:
        raise Invalid(f"no form {modality!r}; choose one of {', '.join(MODALITIES)}",
                      field="modality")
    return choice, modality  # type: ignore[return-value]


def follow_up(session: Session, principal: Principal, *, client_id: int, resource_id: int,
              kind: str, cue: str | None = None, modality: str | None = None,
              review_date: dt.date | None = None) -> Draft | Resource:
    """The new draft, or the retired item; the item is loaded (and scoped) before any input
    is judged, so another organisation's item is "not found" whatever the form says."""
    principal.require_clinician("a follow-up")
    resource = _active_item(session, principal, client_id, resource_id)
    choice, form = _parse(kind, modality)
    if choice == FollowUp.RETIRE:
        return history.retire_resource(session, principal, resource.id)
    return _new_draft(session, principal, resource, choice, cue=cue, modality=form,
                      review_date=review_date)


def _new_draft(session: Session, principal: Principal, resource: Resource, kind: FollowUp, *,
               cue: str | None, modality: Modality | None,
               review_date: dt.date | None) -> Draft:
    """A new draft, in review, whose first revision (by the clinician) follows the item."""
    source = _approved_draft(session, resource)
    preferences = Preferences.model_validate(source.preferences)
    approved = Worksheet.model_validate(json.loads(resource.content))
    review = review_date or today() + REVIEW_AFTER
    worksheet = _next_worksheet(approved, kind, preferences, cue=cue, modality=modality)
    worksheet = worksheet.model_copy(update={"review_date": review})
    draft = drafts.create_draft(
        session, principal, client_id=resource.client_id, preferences=preferences,
        request_text=f"Follow-up of item {resource.id} ({approved.title}): {LABELS[kind]}.",
        next_session_date=review, template_id=approved.template_id,
        follows_resource_id=resource.id, instruction=f"Follow-up: {LABELS[kind]}")
    # Written here, not by the drafter: the claim a drafting worker would make, then the
    # revision, all in this transaction, so no worker ever sees it as requested.
    move(draft, DraftStatus.DRAFTING)
    findings = drafts.findings_for(worksheet, draft.request_text)
    drafts.add_revision(session, draft, worksheet, principal.actor, findings)
    audit.record(session, principal, "resource.followed_up", "resource", resource.id,
                 client_id=resource.client_id)
    return draft
