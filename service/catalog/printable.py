"""The printable worksheet of a template (review_ui/templates/worksheet_print.html)."""

from __future__ import annotations

from functools import lru_cache

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from service.catalog.schema import Template
from service.config import get_settings
from service.worksheet import Worksheet


@lru_cache
def _env() -> Environment:
    return Environment(loader=FileSystemLoader(get_settings().ui_dir / "templates"),
                       autoescape=select_autoescape(default=True), undefined=StrictUndefined)


def render_printable(template: Template, worksheet: Worksheet | None) -> str:
    return _env().get_template("worksheet_print.html").render(template=template,
                                                               worksheet=worksheet)
