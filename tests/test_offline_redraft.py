"""Offline re-drafts build on the revision they follow: each change keeps the earlier ones."""

from __future__ import annotations

import datetime as dt

from service.catalog import get_template
from service.drafting.offline import draft_offline
from service.validation import validate_worksheet
from service.worksheet import Preferences, Worksheet
from tests.factories import make_client, make_draft

TODAY = dt.date(2026, 3, 2)
REVIEW = TODAY + dt.timedelta(days=7)
DOG = ("Low mood since the divorce; she walks the dog every morning. Something to get her "
       "doing things again.")
BA = get_template("behavioral_activation")


def _redraft(http, tenant, draft_id: int, instruction: str) -> Worksheet:  # type: ignore[no-untyped-def]
    response = http.post(f"/api/v1/drafts/{draft_id}/redraft",
                         json={"instruction": instruction}, headers=tenant.clinician)
    assert response.status_code in (200, 201, 202), response.text
    return Worksheet.model_validate(response.json()["revision"]["worksheet"])


def test_edit_then_smaller_then_form_then_cue_keeps_every_earlier_change(client, tenant):
    c = make_client(client, tenant)
    first = make_draft(client, tenant, c["id"], request=DOG)
    original = Worksheet.model_validate(first["revision"]["worksheet"])
    edited = {**first["revision"]["worksheet"], "when": "Right after the school run",
              "where": "At the school gates"}
    response = client.patch(f"/api/v1/drafts/{first['id']}", headers=tenant.clinician,
                            json={"base_revision": 1, "worksheet": edited})
    assert response.status_code == 200, response.text

    small = _redraft(client, tenant, first["id"], "make it smaller")
    assert (small.when, small.where) == ("Right after the school run", "At the school gates")
    assert small.duration_minutes is not None and original.duration_minutes is not None
    assert small.duration_minutes < original.duration_minutes
    assert small.task != original.task and small.confidence is None

    voice = _redraft(client, tenant, first["id"], "change the form: voice note")
    assert voice.modality == "voice_note" and voice.tracking != small.tracking
    assert (voice.when, voice.task, voice.duration_minutes, voice.frequency) == (
        small.when, small.task, small.duration_minutes, small.frequency)

    cued = _redraft(client, tenant, first["id"], "tie it to this cue: after she feeds the dog")
    assert cued.when == "After you feed the dog"
    assert (cued.modality, cued.task, cued.duration_minutes, cued.frequency, cued.tracking) == (
        "voice_note", small.task, small.duration_minutes, small.frequency, voice.tracking)
    latest = client.get(f"/api/v1/drafts/{first['id']}", headers=tenant.clinician).json()
    assert latest["current_revision"] == 5


def test_redraft_on_another_template_drafts_afresh(client, tenant):
    c = make_client(client, tenant)
    first = make_draft(client, tenant, c["id"], request=DOG)
    edited = {**first["revision"]["worksheet"], "when": "Right after the school run"}
    client.patch(f"/api/v1/drafts/{first['id']}", headers=tenant.clinician,
                 json={"base_revision": 1, "worksheet": edited})
    response = client.post(f"/api/v1/drafts/{first['id']}/redraft", headers=tenant.clinician,
                           json={"template_id": "values_action"})
    ws = Worksheet.model_validate(response.json()["revision"]["worksheet"])
    assert ws.template_id == "values_action"
    assert ws.when == "Right after you walk the dog in the morning"


def _first() -> Worksheet:
    return draft_offline(request_text=DOG, template=BA, preferences=Preferences(),
                         review_date=REVIEW)


def test_without_an_instruction_or_on_another_template_previous_is_not_reused() -> None:
    edited = _first().model_copy(update={"when": "Right after the school run"})
    again = draft_offline(request_text=DOG, template=BA, preferences=Preferences(),
                          review_date=REVIEW, previous=edited)
    assert again.when == _first().when
    other = draft_offline(request_text=DOG, template=get_template("values_action"),
                          preferences=Preferences(), review_date=REVIEW, previous=edited,
                          instruction="make it smaller")
    assert other.template_id == "values_action" and other.when != "Right after the school run"


def test_smaller_shrinks_step_by_step_and_never_grows() -> None:
    ws = _first()
    sizes = []
    for _ in range(6):
        ws = draft_offline(request_text=DOG, template=BA, preferences=Preferences(),
                           review_date=REVIEW, previous=ws, instruction="even smaller")
        sizes.append((ws.duration_minutes, ws.frequency))
    minutes = [m for m, _ in sizes]
    assert minutes == sorted(minutes, reverse=True) and minutes[-1] == 1
    assert sizes[-1][1] == "once a week"


def test_minutes_and_a_place_bound_cue_change_only_what_they_name() -> None:
    ws = _first().model_copy(update={"modality": "app", "confidence": 8})
    out = draft_offline(request_text=DOG, template=BA, preferences=Preferences(),
                        review_date=REVIEW, previous=ws, instruction="make it 7 minutes")
    assert out.duration_minutes == 7 and out.modality == "app" and out.task == ws.task
    assert out.confidence is None and out.review_date == REVIEW
    out = draft_offline(request_text=DOG, template=BA, preferences=Preferences(),
                        review_date=REVIEW, previous=ws,
                        instruction="tie it to this cue: on the train to work")
    assert (out.when, out.where) == ("On the train to work", "On the train")
    findings = validate_worksheet(out, today=TODAY, request_text=DOG)
    assert not [f for f in findings if f.severity == "error" and f.code != "missing_confidence"]
