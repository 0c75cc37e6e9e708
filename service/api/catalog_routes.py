"""Catalog, selection and validation: stateless, no client record touched, so public."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from service.api.schemas import CandidateOut, SelectIn, SelectOut, ValidateIn, ValidateOut
from service.catalog import Template, get_catalog, get_template
from service.catalog.printable import render_printable
from service.clock import today
from service.selection import rank_templates
from service.validation import validate_worksheet
from service.worksheet import Worksheet, has_error

router = APIRouter(prefix="/api/v1")


@router.get("/templates", operation_id="list_templates", tags=["templates"])
def list_templates() -> list[Template]:
    return list(get_catalog().values())


@router.get("/templates/{template_id}", operation_id="get_template", tags=["templates"])
def read_template(template_id: str) -> Template:
    return get_template(template_id)


@router.get("/templates/{template_id}/printable", operation_id="print_template",
            tags=["templates"], response_class=HTMLResponse)
def print_template(template_id: str) -> HTMLResponse:
    return HTMLResponse(render_printable(get_template(template_id), None))


@router.post("/templates/select", operation_id="select_template", tags=["templates"])
def select_template(body: SelectIn) -> SelectOut:
    ranked = rank_templates(body.request)
    return SelectOut(candidates=[CandidateOut.model_validate(c.model_dump()) for c in ranked])


@router.post("/worksheets/validate", operation_id="validate_worksheet", tags=["worksheets"])
def validate(body: ValidateIn) -> ValidateOut:
    worksheet = Worksheet.model_validate(body.model_dump(exclude={"today"}))
    findings = validate_worksheet(worksheet, today=body.today or today())
    return ValidateOut(ok=not has_error(findings), findings=findings)
