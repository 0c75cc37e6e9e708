"""The worksheet form: every field editable, parsed back into the contract's Worksheet."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from pydantic import ValidationError
from starlette.datastructures import FormData

from service.worksheet import Worksheet

TEXT_FIELDS = ("title", "goal", "rationale", "task", "when", "where", "frequency",
               "done_criteria", "tracking")
OPTIONAL_TEXT = ("backup_cue", "reward", "support_person")
LINE_LISTS = ("steps", "fields")
MAX_OBSTACLES = 20


async def _posted_form(request: Request) -> FormData:
    """Read the body on the event loop so that the route can be sync: its database calls
    then run in the threadpool, never blocking the loop."""
    return await request.form()


PostedForm = Annotated[FormData, Depends(_posted_form)]


class FormErrors(Exception):
    """The form could not be read as a worksheet; each entry is field -> message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _obstacles(form: FormData) -> list[dict[str, str]]:
    rows = []
    for i in range(MAX_OBSTACLES):
        obstacle, plan = _text(form, f"obstacle_{i}"), _text(form, f"plan_{i}")
        if obstacle or plan:
            rows.append({"obstacle": obstacle, "plan": plan})
    return rows


def worksheet_from_form(form: FormData, template_id: str) -> Worksheet:
    """Empty inputs become empty fields, so the validator (not the parser) judges them."""
    data: dict[str, Any] = {name: _text(form, name) for name in TEXT_FIELDS}
    data |= {name: _text(form, name) or None for name in OPTIONAL_TEXT}
    data |= {name: [line.strip() for line in _text(form, name).splitlines() if line.strip()]
             for name in LINE_LISTS}
    data |= {"template_id": template_id, "obstacles": _obstacles(form),
             "modality": _text(form, "modality") or "paper",
             "duration_minutes": _text(form, "duration_minutes") or None,
             "confidence": _text(form, "confidence") or None,
             "review_date": _text(form, "review_date") or None}
    try:
        return Worksheet.model_validate(data)
    except ValidationError as exc:
        raise FormErrors({str(e["loc"][0]) if e["loc"] else "form": e["msg"]
                          for e in exc.errors()}) from None


def apply_fix(worksheet: Worksheet, fix: dict[str, Any]) -> Worksheet:
    """A finding's suggested fix replaces whole fields; re-validated like any edit."""
    merged = worksheet.model_dump(mode="json") | fix
    return Worksheet.model_validate(merged)
