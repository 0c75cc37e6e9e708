"""Exports of an approved resource over the API: FHIR R4 Bundle, printable PDF, calendar .ics.

Same key, organisation scope and audit as `GET /resources/{id}`: another organisation's
resource is 404, and every export is an audited read.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from service.api.deps import PrincipalDep, SessionDep
from service.api.problems import Problem
from service.api.schemas import PathId
from service.exports import fhir
from service.exports.pdf import resource_pdf
from service.exports.source import ExportSource, load_export

router = APIRouter(prefix="/api/v1", tags=["exports"])


class FhirJSONResponse(JSONResponse):
    media_type = "application/fhir+json"


class PdfResponse(Response):
    media_type = "application/pdf"


class CalendarResponse(Response):
    media_type = "text/calendar; charset=utf-8"


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Problem-details responses, documented with their own media type."""
    return {s: {"model": Problem, "content": {"application/problem+json": {}},
                "description": "Problem details (RFC 9457)"} for s in statuses}


def _binary(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description, "content": {
        media_type: {"schema": {"type": "string", "format": "binary"}}}}}


def _filename(source: ExportSource, extension: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", source.homework_word.lower()).strip("-")[:40]
    return f"{slug or 'practice'}-{source.view.resource.id}.{extension}"


@router.get("/resources/{resource_id}/fhir", operation_id="export_resource_fhir",
            response_class=FhirJSONResponse, responses={200: {
                "description": "A FHIR R4 Bundle (collection): one Task, one Observation per "
                "check-in; the client only as a Patient identifier",
                "content": {"application/fhir+json": {"schema": {"type": "object"}}}},
                **_errors(404)})
def export_fhir(resource_id: PathId, session: SessionDep,
                principal: PrincipalDep) -> FhirJSONResponse:
    source = load_export(session, principal, resource_id, export_format="fhir")
    return FhirJSONResponse(fhir.resource_bundle(source))


@router.get("/resources/{resource_id}/pdf", operation_id="export_resource_pdf",
            response_class=PdfResponse,
            responses={**_binary("application/pdf", "The printable worksheet"), **_errors(404)})
def export_pdf(resource_id: PathId, session: SessionDep, principal: PrincipalDep) -> PdfResponse:
    source = load_export(session, principal, resource_id, export_format="pdf")
    return PdfResponse(resource_pdf(source.view, homework_word=source.homework_word), headers={
        "Content-Disposition": f'inline; filename="{_filename(source, "pdf")}"'})


@router.get("/resources/{resource_id}/ics", operation_id="export_resource_ics",
            response_class=CalendarResponse,
            responses={**_binary("text/calendar", "One recurring event with two reminders"),
                       **_errors(404, 409)})
def export_ics(resource_id: PathId, session: SessionDep,
               principal: PrincipalDep) -> CalendarResponse:
    from service.exports.ics import practice_calendar  # icalendar: imported on first use

    source = load_export(session, principal, resource_id, export_format="ics")
    body = practice_calendar(source.view, practice_name=source.organisation_name)
    return CalendarResponse(body, headers={
        "Content-Disposition": f'attachment; filename="{_filename(source, "ics")}"'})
