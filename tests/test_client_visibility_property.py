"""Property: after any sequence of workflow steps, the client sees only approved content,
byte-identical to what was approved (Hypothesis rule-based state machine over the API)."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy import select

from service.db import get_engine, transaction
from service.models import Approval, DraftRevision
from service.workflow.content import canonical
from tests.factories import make_client, make_tenant

REQUESTS = ["stopped going out; coffee on the porch every morning",
            "panic in supermarkets, wants a graded step",
            "can't sleep, lies awake at 3 am"]


class ClientVisibility(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        from service.app import create_app

        with get_engine().begin() as conn:
            from service.db import Base

            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        self.http = TestClient(create_app())
        self.tenant = make_tenant("Property")
        self.client_id = make_client(self.http, self.tenant)["id"]
        self.token: str | None = self._link()
        self.drafts: list[int] = []

    def _link(self) -> str:
        return self.http.post(f"/api/v1/clients/{self.client_id}/link",
                              headers=self.tenant.clinician).json()["token"]

    def _draft(self, index: int) -> dict | None:
        if not self.drafts:
            return None
        draft_id = self.drafts[index % len(self.drafts)]
        return self.http.get(f"/api/v1/drafts/{draft_id}", headers=self.tenant.clinician).json()

    @rule(request=st.sampled_from(REQUESTS))
    def create(self, request: str) -> None:
        r = self.http.post("/api/v1/drafts", headers=self.tenant.integration,
                           json={"client_id": self.client_id, "request": request})
        assert r.status_code == 201
        self.drafts.append(r.json()["id"])

    @rule(index=st.integers(0, 10), text=st.text(min_size=0, max_size=40), fix=st.booleans())
    def edit(self, index: int, text: str, fix: bool) -> None:
        draft = self._draft(index)
        if not draft or not draft["revision"]:
            return
        worksheet = dict(draft["revision"]["worksheet"])
        worksheet["title"] = text or "A small step"
        if fix:
            for f in draft["revision"]["findings"]:
                worksheet.update(f.get("suggested_fix") or {})
            worksheet["confidence"] = 8
        self.http.patch(f"/api/v1/drafts/{draft['id']}", headers=self.tenant.clinician,
                        json={"base_revision": draft["current_revision"], "worksheet": worksheet})

    @rule(index=st.integers(0, 10))
    def redraft(self, index: int) -> None:
        draft = self._draft(index)
        if draft:
            self.http.post(f"/api/v1/drafts/{draft['id']}/redraft", json={"instruction":
                           "smaller"}, headers=self.tenant.clinician)

    @rule(index=st.integers(0, 10), stale=st.booleans(), ack=st.booleans())
    def approve(self, index: int, stale: bool, ack: bool) -> None:
        draft = self._draft(index)
        if draft:
            revision = max(1, draft["current_revision"] - (1 if stale else 0))
            self.http.post(f"/api/v1/drafts/{draft['id']}/approve", headers=self.tenant.clinician,
                           json={"revision": revision, "safety_acknowledged": ack})

    @rule(index=st.integers(0, 10))
    def reject(self, index: int) -> None:
        draft = self._draft(index)
        if draft:
            self.http.post(f"/api/v1/drafts/{draft['id']}/reject", json={"reason": "no"},
                           headers=self.tenant.clinician)

    @rule(outcome=st.sampled_from(["done", "partial", "skipped"]))
    def check_in(self, outcome: str) -> None:
        if self.token is None:
            return
        resources = self.http.get(f"/api/v1/client-view/{self.token}/resources").json()
        if resources:
            self.http.post(f"/api/v1/client-view/{self.token}/resources/{resources[0]['id']}"
                           "/check-ins", json={"outcome": outcome})

    @rule()
    def revoke_or_reissue(self) -> None:
        if self.token is None:
            self.token = self._link()
        else:
            self.http.delete(f"/api/v1/clients/{self.client_id}/link",
                             headers=self.tenant.clinician)
            self.token = None

    @invariant()
    def client_sees_only_approved_bytes(self) -> None:
        if self.token is None:
            return
        response = self.http.get(f"/api/v1/client-view/{self.token}/resources")
        assert response.status_code == 200
        with transaction() as session:
            approved = sorted(canonical(session.get_one(DraftRevision, a.revision_id).worksheet)
                              for a in session.scalars(select(Approval)))
        # Two drafts of the same request can approve byte-identical worksheets, so compare
        # as multisets: one resource per approval, each exactly the approved bytes.
        shown = sorted(canonical(r["worksheet"]) for r in response.json())
        assert shown == approved
        for r in response.json():
            assert json.loads(canonical(r["worksheet"])) == r["worksheet"]

    def teardown(self) -> None:
        self.http.close()


ClientVisibility.TestCase.settings = settings(
    max_examples=8, stateful_step_count=12, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
test_client_visibility = ClientVisibility.TestCase
