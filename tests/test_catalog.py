"""The evidence-template catalog: every id in the spec ships, validates, and prints."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import escape

from service.catalog import CatalogError, Template, load_catalog
from service.catalog.printable import render_printable
from service.worksheet import Obstacle, Worksheet

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES_DIR = ROOT / "evidence_templates"
UI_TEMPLATES = ROOT / "review_ui" / "templates"
SPEC = ROOT / "tests" / "data" / "catalog.md"  # a copy of ../shared/spec (make spec-sync)

_ROW = re.compile(r"^\|\s*`([a-z][a-z0-9_]*)`\s*\|(.*)\|\s*$", re.MULTILINE)
BANNED_IN_STEPS = re.compile(r"\b(homework|must|fail\w*|lazy)\b", re.IGNORECASE)


def _spec_rows() -> dict[str, list[str]]:
    """id -> the table's remaining cells (what it is for, fields, evidence)."""
    rows = {m.group(1): [c.strip() for c in m.group(2).split("|")]
            for m in _ROW.finditer(SPEC.read_text(encoding="utf-8"))}
    assert rows, f"no template ids parsed from {SPEC}"
    return rows


def _split_fields(cell: str) -> list[str]:
    """Split the spec's field cell on commas that are not inside parentheses."""
    parts, depth, current = [], 0, ""
    for ch in cell:
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(current.strip())
            current = ""
        else:
            current += ch
    parts.append(current.strip())
    return parts


SPEC_ROWS = _spec_rows()
SPEC_IDS = sorted(SPEC_ROWS)


@pytest.fixture(scope="module")
def catalog() -> dict[str, Template]:
    return load_catalog(TEMPLATES_DIR)


@pytest.fixture(scope="module")
def env() -> Environment:
    return Environment(loader=FileSystemLoader(UI_TEMPLATES), autoescape=True,
                       undefined=StrictUndefined)


def test_spec_table_has_all_23_ids() -> None:
    assert len(SPEC_IDS) == 23
    assert "thought_record" in SPEC_IDS and "skill_rehearsal" in SPEC_IDS


def test_every_spec_id_is_loaded(catalog: dict[str, Template]) -> None:
    missing = set(SPEC_IDS) - set(catalog)
    assert not missing, f"templates missing from the catalog: {sorted(missing)}"
    assert {p.stem for p in TEMPLATES_DIR.glob("*.yaml")} == set(catalog)


@pytest.mark.parametrize("template_id", SPEC_IDS)
def test_file_validates_and_matches_its_name(template_id: str) -> None:
    path = TEMPLATES_DIR / f"{template_id}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    template = Template.model_validate(data)
    assert template.id == template_id


@pytest.mark.parametrize("template_id", SPEC_IDS)
def test_fields_are_the_spec_fields(catalog: dict[str, Template], template_id: str) -> None:
    assert list(catalog[template_id].fields) == _split_fields(SPEC_ROWS[template_id][1])


@pytest.mark.parametrize("template_id", SPEC_IDS)
def test_spec_citations_are_present(catalog: dict[str, Template], template_id: str) -> None:
    evidence = " ".join(catalog[template_id].evidence)
    years = re.findall(r"\b(?:19|20)\d\d\b", SPEC_ROWS[template_id][2])
    for year in years:
        assert year in evidence, f"{template_id}: citation from {year} missing"


@pytest.mark.parametrize("template_id", SPEC_IDS)
def test_durations_are_ordered(catalog: dict[str, Template], template_id: str) -> None:
    t = catalog[template_id]
    assert (t.minimum_viable_dose.duration_minutes
            <= t.default_practice.duration_minutes
            <= t.max_duration_minutes)


@pytest.mark.parametrize("template_id", SPEC_IDS)
def test_client_text_follows_the_house_rules(catalog: dict[str, Template],
                                             template_id: str) -> None:
    t = catalog[template_id]
    assert "{goal}" in t.rationale_skeleton
    assert t.rationale_skeleton.format(goal="sleeping better").count("sleeping better") == 1
    assert 3 <= len(t.steps) <= 6
    for step in t.steps:
        assert not BANNED_IN_STEPS.search(step), f"{template_id}: {step!r}"
    assert len(t.obstacles) >= 2
    for item in t.obstacles:
        assert item.plan.startswith("If ") and " then " in item.plan, item.plan
    for practice in (t.default_practice, t.minimum_viable_dose):
        assert practice.cue and practice.where and practice.frequency and practice.done_criteria


def _copy_catalog(tmp_path: Path) -> Path:
    target = tmp_path / "evidence_templates"
    shutil.copytree(TEMPLATES_DIR, target)
    return target


def _rewrite(path: Path, change) -> None:  # type: ignore[no-untyped-def]
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def test_unchanged_copy_loads(tmp_path: Path) -> None:
    assert len(load_catalog(_copy_catalog(tmp_path))) == len(SPEC_IDS)


def test_missing_tracking_names_file_and_field(tmp_path: Path) -> None:
    directory = _copy_catalog(tmp_path)
    _rewrite(directory / "sleep_diary.yaml", lambda d: d.pop("tracking"))
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    message = str(info.value)
    assert "sleep_diary.yaml" in message
    assert "tracking" in message


def test_wrong_type_names_file_and_field(tmp_path: Path) -> None:
    directory = _copy_catalog(tmp_path)

    def break_it(data: dict) -> None:
        data["max_duration_minutes"] = "as long as it takes"

    _rewrite(directory / "worry_time.yaml", break_it)
    with pytest.raises(CatalogError) as info:
        load_catalog(directory)
    message = str(info.value)
    assert "worry_time.yaml" in message
    assert "max_duration_minutes" in message


def test_nested_wrong_type_names_the_nested_field(tmp_path: Path) -> None:
    directory = _copy_catalog(tmp_path)

    def break_it(data: dict) -> None:
        data["default_practice"]["duration_minutes"] = ["ten"]

    _rewrite(directory / "grounding.yaml", break_it)
    with pytest.raises(CatalogError, match=r"grounding\.yaml.*default_practice\.duration_minutes"):
        load_catalog(directory)


def test_id_not_matching_file_name_is_rejected(tmp_path: Path) -> None:
    directory = _copy_catalog(tmp_path)
    (directory / "mood_log.yaml").rename(directory / "mood_diary.yaml")
    with pytest.raises(CatalogError, match=r"mood_diary\.yaml.*field id"):
        load_catalog(directory)


@pytest.mark.parametrize("template_id", SPEC_IDS)
def test_print_template_renders_every_field(env: Environment, catalog: dict[str, Template],
                                            template_id: str) -> None:
    t = catalog[template_id]
    html = env.get_template("worksheet_print.html").render(template=t, worksheet=None)
    assert html.lstrip().startswith("<!DOCTYPE html>")
    for field in t.fields:
        assert f"<th scope=\"col\">{escape(field)}</th>" in html, field
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr>") == 7
    assert body.count("<td></td>") == 7 * len(t.fields)
    for step in t.steps:
        assert str(escape(step)) in html
    for item in t.obstacles:
        assert str(escape(item.obstacle)) in html and str(escape(item.plan)) in html
    for citation in t.evidence:
        assert str(escape(citation)) in html
    assert "<script" not in html.lower() and "<style" not in html.lower()  # CSP: no inline
    assert re.findall(r"(?:src|href)=\"([^\"]*)\"|@import|url\(", html) == ["/static/print.css"]


def test_print_template_renders_without_a_worksheet_variable(env: Environment,
                                                            catalog: dict[str, Template]) -> None:
    html = env.get_template("worksheet_print.html").render(template=catalog["mood_log"])
    assert catalog["mood_log"].name in html


def test_print_template_uses_and_escapes_the_worksheet(env: Environment,
                                                       catalog: dict[str, Template]) -> None:
    t = catalog["worry_time"]
    worksheet = Worksheet(
        template_id=t.id, title="Worry <b>time</b> & me", goal="<script>alert(1)</script>",
        task="Jot worries on a card", when="Right after dinner", where="Sofa",
        duration_minutes=12, frequency="5 days a week", done_criteria="Card filled",
        tracking="Tick the card", steps=["Write it down", "Read it later"],
        obstacles=[Obstacle(obstacle="Busy day", plan="If busy, then 5 minutes")],
    )
    html = env.get_template("worksheet_print.html").render(template=t, worksheet=worksheet)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Worry &lt;b&gt;time&lt;/b&gt; &amp; me" in html
    assert "12 minutes" in html and "Right after dinner" in html
    assert "If busy, then 5 minutes" in html
    assert t.obstacles[0].plan not in html
    # fields were not given in the worksheet, so the template's columns are printed
    for field in t.fields:
        assert str(escape(field)) in html


def test_service_render_printable_uses_the_same_template(catalog: dict[str, Template]) -> None:
    html = render_printable(catalog["exposure_practice"], None)
    assert "safety behaviours dropped" in html
    assert "Foa &amp; Kozak 1986" in html


def test_printable_page_satisfies_the_strict_csp(client) -> None:  # type: ignore[no-untyped-def]
    """Served under style-src 'self': its styles come from the app's own stylesheet."""
    page = client.get("/api/v1/templates/behavioral_activation/printable")
    assert page.status_code == 200
    assert "style-src 'self'" in page.headers["content-security-policy"]
    assert "<style" not in page.text and " style=" not in page.text
    sheet = client.get("/static/print.css")
    assert sheet.status_code == 200 and "@media print" in sheet.text
