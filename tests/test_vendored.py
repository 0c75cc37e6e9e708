"""The pages' one script, htmx, is the npm package's own file, byte for byte, at the version
package-lock.json pins; no build step stands between them."""

from __future__ import annotations

import json
import os
import re

import pytest

from service.config import ROOT

VENDOR = ROOT / "review_ui" / "static" / "vendor"


def _locked_version() -> str:
    lock = json.loads((ROOT / "package-lock.json").read_text())
    return str(lock["packages"]["node_modules/htmx.org"]["version"])


def test_the_pages_load_the_locked_htmx() -> None:
    base = (ROOT / "review_ui" / "templates" / "web" / "base.html").read_text()
    assert re.findall(r'src="/static/vendor/htmx-([\d.]+)\.min\.js"', base) == [_locked_version()]
    assert sorted(p.name for p in VENDOR.glob("htmx-*.min.js")) == [
        f"htmx-{_locked_version()}.min.js"]


def test_the_vendored_htmx_is_the_npm_packages_file() -> None:
    package = ROOT / "node_modules" / "htmx.org"
    if not package.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("node_modules is missing: .ci/run must `npm ci`")
        pytest.skip("npm ci has not run (make test runs it where npm exists)")
    assert json.loads((package / "package.json").read_text())["version"] == _locked_version()
    vendored = VENDOR / f"htmx-{_locked_version()}.min.js"
    assert vendored.read_bytes() == (package / "dist" / "htmx.min.js").read_bytes()
    assert (VENDOR / "htmx-LICENSE.txt").read_bytes() == (package / "LICENSE").read_bytes()
