"""Real-browser fixtures: the app under uvicorn on a free loopback port, Debian's Chromium.

The server runs in a thread of the test process, so it shares the suite's temporary SQLite
database (tests/conftest.py) and its per-test emptying of tables; the drafter is offline.
Chromium is the system one (`apt-get install chromium`): `playwright install` is never used.
Locally, a missing Chromium or axe-core (`npm ci`) skips these tests; on CI it fails them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from service.config import ROOT
from tests.factories import Tenant, make_client

CHROMIUM = Path(os.environ.get("HOMEWORK_CHROMIUM", "/usr/bin/chromium"))
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = ROOT / "docs" / "screenshots"
PORCH_REQUEST = ("She's stopped going out since the layoff; something tiny to get her "
                 "moving, she has coffee on the porch every morning.")


def _must_run() -> bool:
    return os.environ.get("CI") == "true" or os.environ.get("HOMEWORK_REQUIRE_BROWSER") == "1"


def _missing(reason: str) -> None:
    if _must_run():
        pytest.fail(f"browser tests must run on CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def live_server(database: None) -> Iterator[str]:
    """A fresh instance of the real app served by uvicorn in a background thread (its own
    event loop); yields its base URL."""
    from service.app import create_app

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """Chromium for this package's tests only: while Playwright's sync API runs, its event
    loop is the main thread's current one, which would break `asyncio.run` in later tests."""
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        _missing(f"no Chromium at {CHROMIUM} (apt-get install -y chromium fonts-dejavu-core)")
    if not AXE_JS.exists():
        _missing(f"no {AXE_JS.relative_to(ROOT)} (run `npm ci` at the repository root)")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=live_server, viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(10_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


def assert_accessible(page: Page, name: str) -> None:
    """axe-core on the page as it is: no `serious` or `critical` violation.

    The pages' CSP (`script-src 'self'`) rightly refuses an injected <script> tag, so
    `page.add_script_tag` would be blocked; instead axe's source is evaluated through the
    DevTools protocol (Playwright's `evaluate`), which CSP does not govern. No context ever
    runs with `bypass_csp`, so the CSP under test is the one the browser enforces.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await window.axe.run(document, {resultTypes: ['violations']})")
    bad = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    report = "\n".join(
        f"{v['impact']} {v['id']}: {v['help']} -> "
        + "; ".join(" ".join(n["target"]) for n in v["nodes"][:5]) for v in bad)
    assert not bad, f"axe on the {name} page:\n{report}"


def screenshot(page: Page, name: str) -> None:
    """Full-page PNGs into docs/screenshots/, only when HOMEWORK_SCREENSHOTS=1 (make
    screenshots), so an ordinary run never changes the tree."""
    if os.environ.get("HOMEWORK_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def log_in(page: Page, tenant: Tenant) -> None:
    page.goto("/login")
    page.get_by_label("Email").fill(tenant.email)
    page.get_by_label("Password").fill(tenant.password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/")


@dataclass(frozen=True)
class Seeded:
    """One client with one approved practice and a check-in, made through the API."""

    client_id: int
    draft_id: int
    resource_id: int
    client_url: str


def seed(base_url: str, tenant: Tenant) -> Seeded:
    with httpx.Client(base_url=base_url, timeout=30) as http:
        client = make_client(http, tenant, external_id="PMS-SEED", name="Sam Seed")
        draft = http.post("/api/v1/drafts", headers=tenant.integration, json={
            "client_id": client["id"], "request": PORCH_REQUEST,
            "preferences": {"homework_word": "practice", "known_cues": ["coffee on the porch"]},
            "next_session_date": _in_days(7)}).json()
        resource = http.post(f"/api/v1/drafts/{draft['id']}/approve",
                             headers=tenant.clinician,
                             json={"revision": draft["current_revision"]})
        assert resource.status_code == 201, resource.text
        check_in = http.post(f"/api/v1/resources/{resource.json()['id']}/check-ins",
                             headers=tenant.clinician,
                             json={"outcome": "partial", "note": "Too tired on Tuesday"})
        assert check_in.status_code == 201, check_in.text
        link = http.post(f"/api/v1/clients/{client['id']}/link", headers=tenant.clinician)
        assert link.status_code == 201, link.text
        return Seeded(client["id"], draft["id"], resource.json()["id"], link.json()["url"])


def _in_days(days: int) -> str:
    import datetime as dt

    return (dt.date.today() + dt.timedelta(days=days)).isoformat()
