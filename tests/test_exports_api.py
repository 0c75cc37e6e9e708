"""Exports over the API: a FHIR R4 Bundle an EHR can file, the printable PDF, the .ics."""

from __future__ import annotations

import datetime as dt
import json
import re
import zlib
from contextlib import nullcontext
from dataclasses import dataclass

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.task import Task
from icalendar import Calendar
from sqlalchemy import select

from service.clock import today
from service.db import transaction
from service.models import AuditEvent
from tests.factories import Tenant, days_earlier, make_draft
from tests.test_workflow import _fix_errors

CLIENT_NAME, PREFERRED = "Rosalind Quartermaine", "Roz"
NOTES = {"partial": "the rain started halfway", "skipped": "my sister visited all day"}


@dataclass(frozen=True)
class World:
    client: dict[str, object]
    resource: dict[str, object]
    approved: dict[str, object]


def _world(http, tenant: Tenant, *, check_ins: bool = True,  # type: ignore[no-untyped-def]
           **fields: object) -> World:
    c = http.put("/api/v1/clients", headers=tenant.integration, json={
        "external_id": "PMS-7731", "name": CLIENT_NAME, "preferred_name": PREFERRED}).json()
    draft = _fix_errors(http, tenant, make_draft(http, tenant, c["id"]))
    if fields:  # the clinician's edits, approved as the revision the client gets
        edited = http.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician, json={
            "base_revision": draft["current_revision"],
            "worksheet": {**draft["revision"]["worksheet"], **fields}})
        assert edited.status_code == 200, edited.text
        draft = edited.json()
    # approved two days ago, so the check-ins below may be dated back to then
    with days_earlier(2) if check_ins else nullcontext():
        response = http.post(f"/api/v1/drafts/{draft['id']}/approve",
                             headers=tenant.clinician,
                             json={"revision": draft["current_revision"]})
    assert response.status_code == 201, response.text
    resource = response.json()
    if check_ins:
        for days_ago, outcome in ((2, "done"), (1, "partial"), (0, "skipped")):
            logged = http.post(f"/api/v1/resources/{resource['id']}/check-ins",
                               headers=tenant.integration, json={
                                   "outcome": outcome, "note": NOTES.get(outcome),
                                   "check_in_date": str(today() - dt.timedelta(days=days_ago))})
            assert logged.status_code == 201, logged.text
    return World(c, resource, draft["revision"]["worksheet"])


def _fhir(http, tenant: Tenant, resource_id: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    response = http.get(f"/api/v1/resources/{resource_id}/fhir", headers=tenant.integration)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    return response.json()


def _parse(bundle_json: dict[str, object]) -> tuple[Task, list[Observation]]:
    """Validate the bundle and each entry as its R4B class (a wrong field fails here)."""
    bundle = Bundle.model_validate(bundle_json)
    assert bundle.type == "collection"
    entries = bundle_json["entry"]
    assert isinstance(entries, list)
    task = Task.model_validate(entries[0]["resource"])
    observations = [Observation.model_validate(e["resource"]) for e in entries[1:]]
    return task, observations


def test_fhir_bundle_is_a_valid_task_with_one_observation_per_check_in(client, tenant):
    world = _world(client, tenant)
    bundle = _fhir(client, tenant, world.resource["id"])
    task, observations = _parse(bundle)
    task_url = bundle["entry"][0]["fullUrl"]  # type: ignore[index]
    assert task_url.startswith("urn:uuid:")
    assert (task.status, task.intent) == ("in-progress", "order")
    assert task.description == world.approved["task"]
    assert task.for_fhir.identifier.value == "PMS-7731"
    assert task.requester.identifier.value == str(tenant.clinician_id)
    assert task.owner.identifier.value == str(tenant.clinician_id)
    assert task.restriction.period.end.isoformat() == world.approved["review_date"]
    assert world.approved["rationale"] in task.note[0].text
    assert {i.value for i in task.identifier} == {str(world.resource["id"]),
                                                  world.resource["content_sha256"]}
    assert [o.valueCodeableConcept.coding[0].code for o in observations] == [
        "done", "partial", "skipped"]
    for obs in observations:
        assert obs.status == "final"
        assert obs.focus[0].reference == task_url
        assert obs.subject.identifier.value == "PMS-7731"
        assert obs.code.text == "Between-session practice completion"
    assert observations[2].note[0].text == NOTES["skipped"]
    assert observations[0].effectiveDateTime.isoformat() == str(today() - dt.timedelta(days=2))


def test_fhir_export_never_names_the_client(client, tenant):
    world = _world(client, tenant)
    text = json.dumps(_fhir(client, tenant, world.resource["id"]))
    assert CLIENT_NAME.split()[0] not in text
    assert CLIENT_NAME.split()[1] not in text
    assert f'"{PREFERRED}' not in text and f" {PREFERRED} " not in text


def test_task_status_follows_the_resource(client, tenant):
    world = _world(client, tenant, check_ins=False)
    rid = world.resource["id"]
    task, observations = _parse(_fhir(client, tenant, rid))
    assert (task.status, observations) == ("requested", [])
    client.post(f"/api/v1/resources/{rid}/check-ins", headers=tenant.integration,
                json={"outcome": "done"})
    assert _parse(_fhir(client, tenant, rid))[0].status == "in-progress"
    assert client.post(f"/api/v1/resources/{rid}/retire",
                       headers=tenant.clinician).status_code == 200
    assert _parse(_fhir(client, tenant, rid))[0].status == "completed"


def test_another_organisation_gets_404_for_every_export(client, tenant, other_tenant):
    world = _world(client, tenant)
    for kind in ("fhir", "pdf", "ics"):
        response = client.get(f"/api/v1/resources/{world.resource['id']}/{kind}",
                              headers=other_tenant.clinician)
        assert response.status_code == 404, kind
        assert response.headers["content-type"] == "application/problem+json"
        assert "PMS-7731" not in response.text


def test_pdf_export_is_the_printable_worksheet(client, tenant):
    world = _world(client, tenant, check_ins=False)
    response = client.get(f"/api/v1/resources/{world.resource['id']}/pdf",
                          headers=tenant.clinician)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert "filename=" in response.headers["content-disposition"]


def test_ics_export_is_a_recurring_event_with_reminders(client, tenant):
    world = _world(client, tenant, check_ins=False)
    response = client.get(f"/api/v1/resources/{world.resource['id']}/ics",
                          headers=tenant.integration)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/calendar")
    event = Calendar.from_ical(response.content).walk("VEVENT")[0]
    assert event.get("rrule") is not None
    assert str(event.get("summary")) == world.approved["title"]
    assert len(event.walk("VALARM")) == 2


def test_ics_of_a_retired_resource_is_a_conflict(client, tenant):
    world = _world(client, tenant, check_ins=False)
    client.post(f"/api/v1/resources/{world.resource['id']}/retire", headers=tenant.clinician)
    response = client.get(f"/api/v1/resources/{world.resource['id']}/ics",
                          headers=tenant.integration)
    assert response.status_code == 409
    assert response.json()["status"] == 409


def test_every_export_is_an_audited_read(client, tenant):
    world = _world(client, tenant, check_ins=False)
    for kind in ("fhir", "pdf", "ics"):
        client.get(f"/api/v1/resources/{world.resource['id']}/{kind}",
                   headers=tenant.integration)
    with transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "resource",
            AuditEvent.object_id == str(world.resource["id"]),
            AuditEvent.actor == f"integration:{tenant.organisation_id}")))
    for kind in ("fhir", "pdf", "ics"):
        assert f"resource.exported.{kind}" in actions
    assert actions.count("resource.read") >= 3


def test_openapi_documents_the_export_media_types(client):
    paths = client.get("/openapi.json").json()["paths"]
    media = {kind: set(paths[f"/api/v1/resources/{{resource_id}}/{kind}"]["get"]["responses"]
                       ["200"]["content"]) for kind in ("fhir", "pdf", "ics")}
    assert "application/fhir+json" in media["fhir"]
    assert "application/pdf" in media["pdf"]
    assert any(m.startswith("text/calendar") for m in media["ics"])
    not_found = paths["/api/v1/resources/{resource_id}/fhir"]["get"]["responses"]["404"]
    assert "application/problem+json" in not_found["content"]



def _pdf_text(pdf: bytes) -> str:
    """The text the PDF's content streams draw (fpdf2 with core fonts: `(…) Tj` strings),
    one drawn line after another, whitespace collapsed."""
    shown = []
    for match in re.finditer(rb"<<(.*?)>>\s*stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        data = match.group(2)
        if b"/FlateDecode" in match.group(1):
            data = zlib.decompress(data)
        for string in re.findall(rb"\(((?:\\.|[^\\)])*)\)\s*Tj", data, re.S):
            text = re.sub(rb"\\([0-7]{1,3})", lambda m: bytes([int(m.group(1), 8)]), string)
            shown.append(re.sub(rb"\\(.)", rb"\1", text).decode("latin-1"))
    return " ".join(" ".join(shown).split())


def test_pdf_prints_the_approved_worksheet_text(client, tenant):
    world = _world(client, tenant, check_ins=False,
                   task="Step onto the porch (coffee in hand) and stay for two full minutes",
                   obstacles=[{"obstacle": "it rains", "plan": "I stand in the doorway"}])
    response = client.get(f"/api/v1/resources/{world.resource['id']}/pdf",
                          headers=tenant.clinician)
    assert response.status_code == 200
    text = _pdf_text(response.content)
    assert "Step onto the porch (coffee in hand) and stay for two full minutes" in text
    assert world.approved["title"] in text
    assert " ".join(world.approved["rationale"].split()) in text
    assert "If it rains, then I stand in the doorway" in text
    assert f"We'll look at how it went on {world.approved['review_date']}." in text


def _pdf_of(http, tenant: Tenant, **fields: object) -> tuple[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    world = _world(http, tenant, check_ins=False, **fields)
    response = http.get(f"/api/v1/resources/{world.resource['id']}/pdf",
                        headers=tenant.clinician)
    assert response.status_code == 200, response.text
    return _pdf_text(response.content), world.approved


def test_pdf_shows_the_steps_cue_reward_and_helper_in_the_pages_order(client, tenant):
    text, approved = _pdf_of(
        client, tenant, steps=["Pour the coffee", "Open the porch door", "Sit for two minutes"],
        when="after breakfast", done_criteria="two minutes outside",
        backup_cue="a sticky note on the kettle", reward="a second cup of coffee",
        support_person="my sister Jo", fields=["time", "mood"], confidence=7)
    expected = [str(approved["task"]), "1. Pour the coffee", "2. Open the porch door",
                "3. Sit for two minutes", "When: after breakfast",
                "What counts as done: two minutes outside",
                "Back-up reminder: a sticky note on the kettle",
                "Afterwards: a second cup of coffee", "Who can help: my sister Jo",
                " ".join(str(approved["rationale"]).split()),
                "Things to write down: time, mood",
                "How sure you felt you could do it: 7 out of 10",
                f"We'll look at how it went on {approved['review_date']}."]
    positions = [text.find(part) for part in expected]
    assert -1 not in positions, [p for p, at in zip(expected, positions, strict=True) if at < 0]
    assert positions == sorted(positions), list(zip(expected, positions, strict=True))


def test_pdf_leaves_out_the_fields_that_are_absent(client, tenant):
    text, _ = _pdf_of(client, tenant, steps=[], backup_cue=None, reward="",
                      support_person=None, fields=[])
    for label in ("1. ", "Back-up reminder", "Afterwards:", "Who can help",
                  "Things to write down"):
        assert label not in text, label


def test_pdf_if_then_plans_are_not_doubled(client, tenant):
    text, _ = _pdf_of(client, tenant, obstacles=[
        {"obstacle": "Something else takes up the planned time.",
         "plan": "If the planned time is taken, then I move it to right after lunch."},
        {"obstacle": "I don't feel like it.",
         "plan": "if I don't feel like it, then I do just the first two minutes."},
        {"obstacle": "it rains.", "plan": "I stand in the doorway"}])
    assert "If Something" not in text and "then If" not in text and "then if" not in text
    assert ("Something else takes up the planned time: If the planned time is taken, "
            "then I move it to right after lunch.") in text
    assert ("I don't feel like it: if I don't feel like it, then I do just the first "
            "two minutes.") in text
    assert "If it rains, then I stand in the doorway" in text
    assert "rains.," not in text and "time.:" not in text


def _ics_event(http, tenant: Tenant, world: World):  # type: ignore[no-untyped-def]
    response = http.get(f"/api/v1/resources/{world.resource['id']}/ics",
                        headers=tenant.integration)
    assert response.status_code == 200, response.text
    events = Calendar.from_ical(response.content).walk("VEVENT")
    assert len(events) == 1  # one recurring event, not one per day
    return events[0]


@pytest.mark.parametrize(("frequency", "freq", "byday"), [
    ("once a day", "DAILY", None),
    ("3 times a week", "WEEKLY", ["MO", "WE", "FR"]),
    ("twice a week", "WEEKLY", ["MO", "TH"]),
])
def test_ics_books_protected_time_with_a_reminder_and_a_log_prompt(client, tenant, frequency,
                                                                   freq, byday):
    review = today() + dt.timedelta(days=12)
    world = _world(client, tenant, check_ins=False, frequency=frequency,
                   review_date=str(review), duration_minutes=15)
    event = _ics_event(client, tenant, world)
    rule = event.get("rrule")
    assert rule["FREQ"] == [freq]
    assert rule.get("BYDAY") == byday
    assert [u.date() for u in rule["UNTIL"]] == [review]  # ends with the review date
    start, end = event.decoded("dtstart"), event.decoded("dtend")
    assert today() <= start.date() <= review
    assert end - start == dt.timedelta(minutes=15)
    assert str(event.get("transp")) == "OPAQUE"  # busy: protected time, not free
    alarms = event.walk("VALARM")
    assert len(alarms) == 2
    before = [a for a in alarms if a["TRIGGER"].params.get("RELATED", "START") == "START"]
    at_end = [a for a in alarms if a["TRIGGER"].params.get("RELATED") == "END"]
    assert len(before) == 1 and len(at_end) == 1
    assert before[0].decoded("trigger") < dt.timedelta(0)  # a reminder before it starts
    assert at_end[0].decoded("trigger") >= dt.timedelta(0)
    assert "log" in str(at_end[0]["DESCRIPTION"]).lower()
    assert all(str(a["ACTION"]) == "DISPLAY" for a in alarms)


@pytest.mark.parametrize(("frequency", "byday"), [
    ("every Monday", ["MO"]), ("on Tuesdays and Saturdays", ["TU", "SA"]),
    ("every weekday", ["MO", "TU", "WE", "TH", "FR"]), ("Mon, Wed, Fri", ["MO", "WE", "FR"]),
    ("every day except Sunday", ["MO", "TU", "WE", "TH", "FR", "SA"])])
def test_ics_books_the_named_weekdays(client, tenant, frequency, byday):
    world = _world(client, tenant, check_ins=False, frequency=frequency)
    rule = _ics_event(client, tenant, world).get("rrule")
    assert (rule["FREQ"], rule.get("BYDAY")) == (["WEEKLY"], byday)
