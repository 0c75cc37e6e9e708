"""The approved worksheet as a one-page PDF the client can print (fpdf2, core fonts only).

Core fonts keep the PDF small and need no font files on the server; they cover Latin-1, so
typographic punctuation is mapped to its plain form and anything else becomes "?".
"""

from __future__ import annotations

from service.history import ResourceView

_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"',
                        "\u2013": "-", "\u2014": "-", "\u2026": "...", "\u2022": "-",
                        "\u00a0": " ", "\u2713": "v", "\u2717": "x"})
_ROWS = (("When", "when"), ("Where", "where"), ("How often", "frequency"),
         ("What counts as done", "done_criteria"), ("Keeping track", "tracking"))


def _latin(text: object) -> str:
    return str(text).translate(_PLAIN).encode("latin-1", "replace").decode("latin-1")


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
    minutes = ws.get("duration_minutes")
    if minutes:
        para(f"How long: about {minutes:g} minutes")
    for label, field in _ROWS:
        if ws.get(field):
            para(f"{label}: {ws[field]}")
    if ws.get("rationale"):
        heading("Why this helps")
        para(ws["rationale"])
    listed = ws.get("obstacles")
    obstacles = [o for o in listed if isinstance(o, dict)] if isinstance(listed, list) else []
    if obstacles:
        heading("If something gets in the way")
        for item in obstacles:
            para(f"If {item.get('obstacle', '')}, then {item.get('plan', '')}")
    if ws.get("review_date"):
        para(f"We'll look at how it went on {ws['review_date']}.")
    heading("Log it", 12)
    pdf.set_font("Helvetica", "", 11)
    for _ in range(7):
        pdf.cell(0, 8, _latin("Date: ____________   Done / Partly / Skipped   "
                              "What got in the way: ______________________"),
                 new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
