"""Property: after any sequence of workflow steps, every client-facing route shows only
approved revisions, byte-identical to what the clinician approved.

A Hypothesis rule-based state machine drives create / edit / re-draft / approve / reject /
check-in / revoke through the API. Each rule asserts the status the workflow must answer
with, given the draft's state as the test last saw it. What the test itself saw approved
(the revision it read, then approved) is the oracle, not the database. The run is
derandomized and its rule outcomes are counted, so a run that never reached an approval,
a check-in or a refusal fails instead of passing vacuously.
"""

from __future__ import annotations

import itertools
from collections import Counter

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from markupsafe import escape

from service.db import Base, get_engine
from service.workflow.content import canonical, sha256
from tests.factories import drafted, make_client, make_tenant

REQUESTS = ["stopped going out; coffee on the porch every morning",
            "panic in supermarkets, wants a graded step",
            "can't sleep, lies awake at 3 am"]
OPEN = {"in_review"}
OUTCOMES: Counter[str] = Counter()
# Each outcome a meaningful run must have reached at least once.
REQUIRED = {"create:201", "edit:200", "edit:409", "redraft:200", "approve:201", "approve:409",
            "approve:422", "reject:200", "check_in:201", "revoke:204", "reissue:201",
            "seen:approved"}


def _note(rule_name: str, status: int | str) -> None:
    OUTCOMES[f"{rule_name}:{status}"] += 1


class ClientVisibility(RuleBasedStateMachine):
    """One organisation, the client under test and a second client who must see nothing."""

    def __init__(self) -> None:
        super().__init__()
        from service.app import create_app

        with get_engine().begin() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        self.http = TestClient(create_app())
        self.tenant = make_tenant("Property")
        self.client_id = make_client(self.http, self.tenant)["id"]
        other_id = make_client(self.http, self.tenant, external_id="PMS-2", name="Other")["id"]
        self.other_token = self._link(other_id)
        self.token: str | None = self._link(self.client_id)
        self.revoked: list[str] = []
        self.drafts: list[int] = []
        self.approved: list[str] = []     # canonical bytes the test read, then approved
        self.unapproved_markers: set[str] = set()
        self.approved_markers: set[str] = set()
        self.markers = itertools.count(1)

    # helpers

    def _link(self, client_id: int) -> str:
        response = self.http.post(f"/api/v1/clients/{client_id}/link",
                                  headers=self.tenant.clinician)
        assert response.status_code == 201, response.text
        return response.json()["token"]

    def _draft(self, index: int) -> dict:
        draft_id = self.drafts[index % len(self.drafts)]
        return drafted(self.http, self.tenant, draft_id)

    def _marker(self) -> str:
        """A title fragment no other text contains, to find a revision on a page."""
        return f"zq{next(self.markers):05d}zq"

    def _titled(self, draft: dict) -> None:
        """Remember the marker in the current revision's title as not (yet) approved."""
        title = draft["revision"]["worksheet"]["title"]
        self.unapproved_markers.update(m for m in _markers_in(title)
                                       if m not in self.approved_markers)

    # rules

    @initialize()
    def first_draft(self) -> None:
        self.create(REQUESTS[0])

    @rule(request=st.sampled_from(REQUESTS))
    def create(self, request: str) -> None:
        response = self.http.post("/api/v1/drafts", headers=self.tenant.integration,
                                  json={"client_id": self.client_id, "request": request})
        _note("create", response.status_code)
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "in_review"
        self.drafts.append(response.json()["id"])

    @precondition(lambda self: self.drafts)
    @rule(index=st.integers(0, 10), text=st.text(max_size=30), fix=st.booleans(),
          break_it=st.booleans())
    def edit(self, index: int, text: str, fix: bool, break_it: bool) -> None:
        """A clinician's edit; with break_it the confidence falls below 7 (an error)."""
        draft = self._draft(index)
        worksheet = dict(draft["revision"]["worksheet"])
        worksheet["title"] = f"{text.strip()[:20]} {self._marker()}".strip()
        if fix:
            for finding in draft["revision"]["findings"]:
                worksheet.update(finding.get("suggested_fix") or {})
        worksheet["confidence"] = 3 if break_it else 8
        response = self.http.patch(
            f"/api/v1/drafts/{draft['id']}", headers=self.tenant.clinician,
            json={"base_revision": draft["current_revision"], "worksheet": worksheet})
        _note("edit", response.status_code)
        if "\x00" in worksheet["title"]:  # refused as input, whatever the draft's state
            assert response.status_code == 422, response.text
        elif draft["status"] not in OPEN:
            assert response.status_code == 409, response.text
        else:
            assert response.status_code == 200, response.text
            edited = response.json()
            assert edited["current_revision"] == draft["current_revision"] + 1
            self._titled(edited)

    @precondition(lambda self: self.drafts)
    @rule(index=st.integers(0, 10), instruction=st.sampled_from(["smaller", None]))
    def redraft(self, index: int, instruction: str | None) -> None:
        draft = self._draft(index)
        response = self.http.post(f"/api/v1/drafts/{draft['id']}/redraft",
                                  json={"instruction": instruction},
                                  headers=self.tenant.clinician)
        _note("redraft", response.status_code)
        if draft["status"] not in OPEN:
            assert response.status_code == 409, response.text
            return
        assert response.status_code == 200, response.text
        assert response.json()["current_revision"] == draft["current_revision"] + 1

    @precondition(lambda self: self.drafts)
    @rule(index=st.integers(0, 10), stale=st.booleans(), ack=st.booleans())
    def approve(self, index: int, stale: bool, ack: bool) -> None:
        draft = self._draft(index)
        number = draft["current_revision"] - (1 if stale and draft["current_revision"] > 1
                                              else 0)
        revision = draft["revision"]
        response = self.http.post(f"/api/v1/drafts/{draft['id']}/approve",
                                  headers=self.tenant.clinician,
                                  json={"revision": number, "safety_acknowledged": ack})
        _note("approve", response.status_code)
        errors = [f for f in revision["findings"] if f["severity"] == "error"]
        risky = any(f["code"] == "risk_content" for f in revision["findings"])
        if draft["status"] not in OPEN or number != draft["current_revision"]:
            assert response.status_code == 409, response.text
        elif errors or (risky and not ack):
            assert response.status_code == 422, response.text
        else:
            assert response.status_code == 201, response.text
            seen = canonical(revision["worksheet"])
            resource = response.json()
            assert canonical(resource["worksheet"]) == seen
            assert resource["content_sha256"] == sha256(seen)
            self.approved.append(seen)
            markers = _markers_in(revision["worksheet"]["title"])
            self.approved_markers.update(markers)
            self.unapproved_markers.difference_update(markers)

    @precondition(lambda self: self.drafts)
    @rule(index=st.integers(0, 10), break_it=st.booleans())
    def edit_then_approve(self, index: int, break_it: bool) -> None:
        """Accept every suggested fix and approve, as most drafts end; or lower the
        confidence below 7 first, and the approval is refused with nothing published."""
        draft = self._draft(index)
        if draft["status"] in OPEN:
            self.edit(index, "", fix=not break_it, break_it=break_it)
        self.approve(index, stale=False, ack=True)

    @precondition(lambda self: self.drafts)
    @rule(index=st.integers(0, 10))
    def reject(self, index: int) -> None:
        draft = self._draft(index)
        response = self.http.post(f"/api/v1/drafts/{draft['id']}/reject",
                                  json={"reason": "not now"}, headers=self.tenant.clinician)
        _note("reject", response.status_code)
        if draft["status"] in OPEN:
            assert response.status_code == 200, response.text
            assert response.json()["status"] == "rejected"
        else:
            assert response.status_code == 409, response.text

    @precondition(lambda self: self.approved)
    @rule(outcome=st.sampled_from(["done", "partial", "skipped"]), pick=st.integers(0, 10))
    def check_in(self, outcome: str, pick: int) -> None:
        """The client logs an attempt (asking the clinician for a new link if theirs is gone)."""
        if self.token is None:
            self.revoke_or_reissue()
        resources = self.http.get(f"/api/v1/client-view/{self.token}/resources").json()
        resource = resources[pick % len(resources)]
        response = self.http.post(
            f"/api/v1/client-view/{self.token}/resources/{resource['id']}/check-ins",
            json={"outcome": outcome})
        _note("check_in", response.status_code)
        assert response.status_code == 201, response.text

    @rule()
    def revoke_or_reissue(self) -> None:
        if self.token is None:
            response = self.http.post(f"/api/v1/clients/{self.client_id}/link",
                                      headers=self.tenant.clinician)
            _note("reissue", response.status_code)
            assert response.status_code == 201, response.text
            self.token = response.json()["token"]
            return
        response = self.http.delete(f"/api/v1/clients/{self.client_id}/link",
                                    headers=self.tenant.clinician)
        _note("revoke", response.status_code)
        assert response.status_code == 204, response.text
        self.revoked.append(self.token)
        self.token = None

    # what the client can see

    @invariant()
    def the_client_sees_exactly_the_approved_bytes(self) -> None:
        if self.token is None:
            return
        response = self.http.get(f"/api/v1/client-view/{self.token}/resources")
        assert response.status_code == 200
        resources = response.json()
        # Two drafts of one request can approve byte-identical worksheets: compare multisets.
        assert sorted(canonical(r["worksheet"]) for r in resources) == sorted(self.approved)
        for r in resources:
            assert r["content_sha256"] == sha256(canonical(r["worksheet"]))
        if resources:
            _note("seen", "approved")
        self._pages_show_only_approved(self.token, resources)

    def _pages_show_only_approved(self, token: str, resources: list[dict]) -> None:
        home = self.http.get(f"/c/{token}")
        assert home.status_code == 200
        pages = [home.text]
        for r in resources:
            page = self.http.get(f"/c/{token}/items/{r['id']}")
            assert page.status_code == 200
            assert str(escape(r["worksheet"]["title"])) in page.text
            for step in r["worksheet"]["steps"]:
                assert str(escape(step)) in page.text
            pages.append(page.text)
        for marker in self.unapproved_markers:
            assert all(marker not in page for page in pages), f"unapproved {marker} shown"

    @invariant()
    def no_one_else_sees_it(self) -> None:
        """Another client's link shows nothing of this client; a revoked link shows nothing."""
        assert self.http.get(f"/api/v1/client-view/{self.other_token}/resources").json() == []
        other = self.http.get(f"/c/{self.other_token}").text
        assert not any(m in other for m in self.approved_markers | self.unapproved_markers)
        for old in self.revoked[-2:]:
            assert self.http.get(f"/api/v1/client-view/{old}/resources").status_code == 404
            assert self.http.get(f"/c/{old}").status_code == 404

    def teardown(self) -> None:
        self.http.close()


def _markers_in(text: str) -> set[str]:
    import re

    return set(re.findall(r"zq\d{5}zq", text))


def test_client_sees_only_approved_revisions() -> None:
    OUTCOMES.clear()
    run_state_machine_as_test(ClientVisibility, settings=settings(
        max_examples=15, stateful_step_count=20, deadline=None, derandomize=True,
        database=None, suppress_health_check=[HealthCheck.too_slow]))
    missing = sorted(REQUIRED - set(OUTCOMES))
    assert not missing, f"the run never exercised {missing}; outcomes: {dict(OUTCOMES)}"
