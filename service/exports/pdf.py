"""The approved worksheet as a one-page PDF the client can print (fpdf2, core fonts only).

Core fonts keep the PDF small and need no font files on the server; they cover Latin-1, so
typographic punctuation is mapped to its plain form and anything else becomes "?".
"""

from __future__ import annotations

from typing import Any

from service.history import ResourceView
from service.worksheet import if_then

_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u2022": "-",
                        "\u00a0": " ", "\u2713": "v", "\u2717": "x"})
# The rows of the client's page (web/_client_worksheet.html), in its order; the duration
# sits between "where" and "how often" there and is written by hand below.
_ROWS_BEFORE = (("When", "when"), ("Where", "where"))
_ROWS_AFTER = (("How often", "frequency"), ("What counts as done", "done_criteria"),
               ("Keeping track", "tracking"), ("Back-up reminder", "backup_cue"),
               ("Afterwards", "reward"), ("Who can help", "support_person"))


def _latin(text: object) -> str:
    return str(text).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


def _list(ws: dict[str, Any], field: str) -> list[Any]:
    listed = ws.get(field)
    return listed if isinstance(listed, list) else []


def _details(ws: dict[str, Any]) -> list[str]:
    """The lines under the task: its steps, then the rows, only those filled in."""
    steps = [str(s) for s in _list(ws, "steps") if str(s).strip()]
    lines = [f"{number}. {step}" for number, step in enumerate(steps, start=1)]
    lines += [f"{label}: {ws[field]}" for label, field in _ROWS_BEFORE if ws.get(field)]
    minutes = ws.get("duration_minutes")
    if minutes:
        lines.append(f"How long: about {minutes:g} minutes")
    lines += [f"{label}: {ws[field]}" for label, field in _ROWS_AFTER if ws.get(field)]
    return lines


def _plans(ws: dict[str, Any]) -> list[str]:
    lines = (if_then(o.get("obstacle"), o.get("plan")) for o in _list(ws, "obstacles")
             if isinstance(o, dict))
    return [line for line in lines if line]


def _closing(ws: dict[str, Any]) -> list[str]:
    """What the page shows after the plans: what to write down, confidence, the review."""
    lines = []
    fields = [str(f) for f in _list(ws, "fields") if str(f).strip()]
    if fields:
        lines.append(f"Things to write down: {', '.join(fields)}")
    if ws.get("confidence"):
        lines.append(f"How sure you felt you could do it: {ws['confidence']} out of 10")
    if ws.get("review_date"):
        lines.append(f"We'll look at how it went on {ws['review_date']}.")
    return lines


def resource_pdf(view: ResourceView, *, homework_word: str = "practice") -> bytes:
    """The worksheet in the same order and words as the client's page."""
    from fpdf import FPDF  # a second of import (fontTools): paid on the first PDF, not at start-up

    ws = view.worksheet
    pdf = FPDF(format="A4")
    pdf.set_title(_latin(ws.get("title") or homework_word.capitalize()))
    pdf.set_creator("Homework")
    pdf.add_page()
    pdf.set_auto_page_break(auto=True, margin=15)

    def heading(text: str, size: int = 13) -> None:
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(0, 8, _latin(text), new_x="LMARGIN", new_y="NEXT")

    def para(text: object) -> None:
        pdf.set_font("Helvetica", "", 11)
        pdf.multi_cell(0, 6, _latin(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)

    heading(str(ws.get("title") or f"Your {homework_word}"), 18)
    if ws.get("goal"):
        para(f"What it's for: {ws['goal']}")
    heading(f"Your {homework_word}")
    para(ws.get("task") or "")
    for line in _details(ws):
        para(line)
    if ws.get("rationale"):
        heading("Why this helps")
        para(ws["rationale"])
    if plans := _plans(ws):
        heading("If something gets in the way")
        for line in plans:
            para(line)
    for line in _closing(ws):
        para(line)
    heading("Log it", 12)
    pdf.set_font("Helvetica", "", 11)
    for _ in range(7):
        pdf.cell(0, 8, _latin("Date: ____________   Done / Partly / Skipped   "
                              "What got in the way: ______________________"),
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
