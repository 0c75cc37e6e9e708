"""Each main page in a real browser: the CSP is sent and never violated, nothing is fetched
from anywhere but the server's own origin, and axe finds nothing serious or critical."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import PORCH_REQUEST, Seeded, assert_accessible, log_in, seed
from tests.factories import Tenant

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class State:
    seeded: Seeded
    review_draft_id: int  # a draft still in review, for the live check


Path = Callable[[State], str]
CLINICIAN_PAGES: dict[str, Path] = {
    "inbox": lambda s: "/",
    "new draft": lambda s: "/drafts/new",
    "draft review": lambda s: f"/drafts/{s.review_draft_id}",
    "approved draft": lambda s: f"/drafts/{s.seeded.draft_id}",
    "next session": lambda s: f"/clients/{s.seeded.client_id}/next-session",
    "clients": lambda s: "/clients",
    "client history": lambda s: f"/clients/{s.seeded.client_id}",
}
CLIENT_PAGES: dict[str, Path] = {
    "client view": lambda s: s.seeded.client_url,
    "client item": lambda s: f"{s.seeded.client_url}/items/{s.seeded.resource_id}",
    "printable template": lambda s: "/api/v1/templates/behavioral_activation/printable",
}


@pytest.fixture
def state(live_server: str, tenant: Tenant) -> State:
    seeded = seed(live_server, tenant)
    with httpx.Client(base_url=live_server, timeout=30) as http:
        draft = http.post("/api/v1/drafts", headers=tenant.integration, json={
            "client_id": seeded.client_id, "request": PORCH_REQUEST})
    assert draft.status_code == 201, draft.text
    return State(seeded, draft.json()["id"])


class Watch:
    """Every request the page makes and every CSP complaint on its console."""

    def __init__(self, page: Page) -> None:
        self.requests: list[str] = []
        self.csp: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", self._console)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def assert_clean(self, origin: str, name: str) -> None:
        assert not self.csp, f"CSP violations on the {name} page: {self.csp}"
        foreign = [u for u in self.requests
                   if not u.startswith("data:") and _origin(u) != origin]
        assert not foreign, f"the {name} page fetched from elsewhere: {foreign}"
        assert self.requests, "no request was seen at all"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _visit(page: Page, path: str, name: str) -> None:
    response = page.goto(path)
    assert response is not None, name
    assert response.status == 200, f"the {name} page answered {response.status}"
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("name", list(CLINICIAN_PAGES))
def test_clinician_page(name: str, page: Page, live_server: str, tenant: Tenant,
                        state: State) -> None:
    watch = Watch(page)
    log_in(page, tenant)
    _visit(page, CLINICIAN_PAGES[name](state), name)
    if name == "draft review":  # htmx's live check: a same-origin XHR, allowed by connect-src
        with page.expect_response(lambda r: r.url.endswith("/check")):
            page.get_by_label("Where", exact=True).fill("anywhere")
        expect(page.locator("#f-where")).to_contain_text("missing_where")
    watch.assert_clean(live_server, name)
    assert_accessible(page, name)


@pytest.mark.parametrize("name", ["login", *CLIENT_PAGES])
def test_page_without_clinician(name: str, page: Page, live_server: str, state: State) -> None:
    watch = Watch(page)
    _visit(page, "/login" if name == "login" else CLIENT_PAGES[name](state), name)
    watch.assert_clean(live_server, name)
    assert_accessible(page, name)


def test_a_violation_would_be_seen(page: Page, live_server: str) -> None:
    """The browser enforces the CSP and the watch hears it: an inline script is refused."""
    watch = Watch(page)
    _visit(page, "/login", "login")
    with pytest.raises(Exception, match="Content Security Policy"):
        page.add_script_tag(content="window.injected = true")
    assert page.evaluate("() => window.injected") is None
    assert watch.csp, "the refused inline script left no console message"


def test_the_client_item_prints_as_a_worksheet(page: Page, live_server: str,
                                               state: State) -> None:
    """Print CSS: the worksheet stays, the check-in form and the page furniture go."""
    _visit(page, CLIENT_PAGES["client item"](state), "client item")
    form = page.locator("form").first
    worksheet = page.locator(".client-worksheet").first
    expect(form).to_be_visible()
    page.emulate_media(media="print")
    expect(form).to_be_hidden()
    expect(worksheet).to_be_visible()
    assert page.evaluate("() => getComputedStyle(document.body).fontFamily").startswith("Georgia")
    pdf = page.pdf(format="A4")
    assert pdf.startswith(b"%PDF")
