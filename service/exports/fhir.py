"""An approved resource as FHIR R4: one `Task` for the practice, one `Observation` per check-in.

Plain dicts (a `Bundle` of type `collection`), so the runtime needs no FHIR library; the tests
validate the output with `fhir.resources`. The client appears only as a Patient *identifier*
(the practice-management system's own external id), never by name, so the EHR files the
bundle against the patient it already knows.

Status mapping (the resource's status, and whether anything was logged yet):

| resource | check-ins | Task.status |
|---|---|---|
| active | none | `requested` (assigned, not started) |
| active | some | `in-progress` |
| retired | any | `completed` (the clinician closed it at review; skipping is data, not failure) |
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from service.clock import now
from service.exports.source import ExportSource
from service.models import CheckIn

URN = "urn:homework"
OUTCOME_SYSTEM = f"{URN}:fhir:CodeSystem:practice-outcome"
TEMPLATE_SYSTEM = f"{URN}:fhir:CodeSystem:evidence-template"
INPUT_SYSTEM = f"{URN}:fhir:CodeSystem:practice-input"
COMPLETION_CODE = {"system": f"{URN}:fhir:CodeSystem:observation-code",
                   "code": "practice-completion", "display": "Between-session practice completion"}
ACTIVITY = {"system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "activity", "display": "Activity"}
OUTCOMES = {"done": "Done", "partial": "Partly done", "skipped": "Skipped"}
INPUTS = (("when", "When"), ("where", "Where"), ("frequency", "How often"),
          ("done_criteria", "What counts as done"), ("tracking", "What to record"))
_NAMESPACE = uuid.UUID("5b0c1d52-8f3e-4d3a-9a57-0f2d7c1e6b10")


def patient_system(organisation_id: int) -> str:
    """The identifier system of the practice's own client ids: stable per organisation."""
    return f"{URN}:organisation:{organisation_id}:client-external-id"


def practitioner_system(organisation_id: int) -> str:
    return f"{URN}:organisation:{organisation_id}:clinician-id"


def _full_url(kind: str, object_id: int) -> str:
    """A stable urn:uuid, so exporting twice gives the EHR the same entries to de-duplicate."""
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}/{object_id}')}"


def _instant(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


def _task_status(source: ExportSource) -> str:
    if source.view.resource.status != "active":
        return "completed"
    return "in-progress" if source.view.check_ins else "requested"


def _inputs(ws: dict[str, object]) -> list[dict[str, Any]]:
    """The practice's when/where/how-often as Task inputs an EHR can show next to the task."""
    inputs = [{"type": {"coding": [{"system": INPUT_SYSTEM, "code": field}], "text": label},
               "valueString": str(ws[field])} for field, label in INPUTS if ws.get(field)]
    minutes = ws.get("duration_minutes")
    if isinstance(minutes, int | float) and minutes > 0:
        inputs.append({"type": {"coding": [{"system": INPUT_SYSTEM, "code": "duration"}],
                                "text": "How long"},
                       "valueDuration": {"value": minutes, "unit": "min",
                                         "system": "http://unitsofmeasure.org", "code": "min"}})
    return inputs


def task(source: ExportSource, patient: dict[str, Any]) -> dict[str, Any]:
    """The assigned between-session practice, as an order the clinician placed for the client."""
    resource, ws = source.view.resource, source.view.worksheet
    practitioner = {"type": "Practitioner", "identifier": {
        "system": practitioner_system(source.organisation_id), "value": str(source.clinician_id)}}
    body: dict[str, Any] = {
        "resourceType": "Task",
        "identifier": [{"system": f"{URN}:resource-id", "value": str(resource.id)},
                       {"system": f"{URN}:content-sha256", "value": resource.content_sha256}],
        "status": _task_status(source),
        "intent": "order",
        "code": {"coding": [{"system": TEMPLATE_SYSTEM, "code": str(ws.get("template_id"))}],
                 "text": str(ws.get("title") or "Between-session practice")},
        "description": str(ws.get("task") or ""),
        "for": patient,
        "executionPeriod": {"start": _instant(resource.created_at)},
        "authoredOn": _instant(source.approved_at),
        "lastModified": _instant(max([resource.created_at]
                                     + [c.created_at for c in source.view.check_ins])),
        "requester": practitioner,
        "owner": practitioner,
        "input": _inputs(ws),
    }
    if ws.get("review_date"):
        body["restriction"] = {"period": {"end": str(ws["review_date"])}}
    if ws.get("rationale"):
        body["note"] = [{"text": f"Why this helps: {ws['rationale']}"}]
    return body


def observation(check_in: CheckIn, task_url: str, patient: dict[str, Any]) -> dict[str, Any]:
    """One logged attempt; "skipped" and its note are recorded as plainly as "done"."""
    body: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": f"{URN}:check-in-id", "value": str(check_in.id)}],
        "status": "final",
        "category": [{"coding": [ACTIVITY]}],
        "code": {"coding": [COMPLETION_CODE], "text": COMPLETION_CODE["display"]},
        "subject": patient,
        "focus": [{"reference": task_url, "type": "Task"}],
        "effectiveDateTime": check_in.check_in_date.isoformat(),
        "issued": _instant(check_in.created_at),
        "valueCodeableConcept": {
            "coding": [{"system": OUTCOME_SYSTEM, "code": check_in.outcome,
                        "display": OUTCOMES.get(check_in.outcome, check_in.outcome)}],
            "text": OUTCOMES.get(check_in.outcome, check_in.outcome)},
    }
    if check_in.note:
        body["note"] = [{"text": check_in.note}]
    return body


def resource_bundle(source: ExportSource) -> dict[str, Any]:
    """A `collection` Bundle: the Task first, then its Observations oldest first."""
    patient = {"type": "Patient", "identifier": {
        "system": patient_system(source.organisation_id), "value": source.client_external_id}}
    task_url = _full_url("task", source.view.resource.id)
    entries = [{"fullUrl": task_url, "resource": task(source, patient)}]
    entries += [{"fullUrl": _full_url("check-in", c.id),
                 "resource": observation(c, task_url, patient)} for c in source.view.check_ins]
    return {"resourceType": "Bundle", "type": "collection", "timestamp": _instant(now()),
            "entry": entries}
