"""Privacy: canaries never reach logs, error bodies or other models than those allowed."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from service.config import Settings
from service.logs import ScrubFilter
from tests.factories import make_client, make_draft

CANARY_NAME = "Zebediah Quillfeather"
CANARY_EMAIL = "zeb.quill@canary.example"


def test_model_outside_the_baa_allow_list_fails_at_start_up():
    with pytest.raises(ValidationError, match="not in HOMEWORK_LLM_ALLOWED_MODELS"):
        Settings(llm_model="openai/gpt-4o", llm_allowed_models=["anthropic/claude-x"])
    with pytest.raises(ValidationError, match="not in HOMEWORK_LLM_ALLOWED_MODELS"):
        Settings(llm_model="anthropic/claude-x", llm_fallback_model="openai/gpt-4o",
                 llm_allowed_models=["anthropic/claude-x"])
    assert Settings(llm_model="anthropic/claude-x", llm_allowed_models=["anthropic/claude-x"])


def test_production_refuses_the_default_secret():
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(environment="production")


def test_log_filter_scrubs_keys_and_emails():
    record = logging.LogRecord("t", logging.INFO, __file__, 1, "key %s for %s",
                               ("hw_" + "a" * 40, CANARY_EMAIL), None)
    ScrubFilter().filter(record)
    assert "hw_aaaa" not in record.getMessage()
    assert CANARY_EMAIL not in record.getMessage()


def test_canaries_never_in_logs_or_error_bodies(client, tenant, caplog):
    caplog.set_level(logging.DEBUG)
    c = make_client(client, tenant, name=CANARY_NAME)
    draft = make_draft(client, tenant, c["id"],
                       request=f"{CANARY_NAME} ({CANARY_EMAIL}) avoids the shops; small step")
    bad = client.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician,
                       json={"base_revision": 99, "worksheet": {"title": CANARY_NAME,
                                                                "duration_minutes": "x"}})
    assert bad.status_code == 422
    stale = client.patch(f"/api/v1/drafts/{draft['id']}", headers=tenant.clinician,
                         json={"base_revision": 99, "worksheet": {"title": CANARY_NAME}})
    assert stale.status_code == 409
    for body in (bad.text, stale.text):
        assert CANARY_NAME not in body and CANARY_EMAIL not in body
    assert CANARY_NAME not in caplog.text and CANARY_EMAIL not in caplog.text


def test_an_unhandled_error_logs_its_type_and_frames_never_its_message(caplog):
    """What uvicorn logs for a crash (on its own handler) and what the client gets."""
    from fastapi.testclient import TestClient

    from service.app import create_app
    from service.logs import configure_logging

    configure_logging()
    app = create_app()

    @app.get("/api/v1/crash-for-test")
    def crash() -> None:
        raise ValueError(f"could not parse {CANARY_NAME} <{CANARY_EMAIL}>")

    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/api/v1/crash-for-test")
    assert response.status_code == 500
    assert CANARY_NAME not in response.text and "nothing was saved" in response.text
    try:
        crash()
    except ValueError:
        logging.getLogger("uvicorn.error").error("Exception in ASGI application", exc_info=True)
    assert "ValueError" in caplog.text and "test_privacy.py" in caplog.text  # still debuggable
    assert CANARY_NAME not in caplog.text and CANARY_EMAIL not in caplog.text


def test_a_database_error_names_the_sql_never_its_values():
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from service.db import transaction

    with pytest.raises(DBAPIError) as caught, transaction() as session:
        session.execute(text("SELECT * FROM no_such_table WHERE name = :name"),
                        {"name": CANARY_NAME})
    assert "no_such_table" in str(caught.value)
    assert CANARY_NAME not in str(caught.value)


def test_a_client_record_s_identifiers_never_reach_the_llm_and_one_request_is_one_client(
        app, client, tenant):
    """Canaries seeded through the API (not handed to the drafter): the outgoing body holds
    none of this client's identifiers and nothing of another client's record."""
    from tests.llm_fakes import LLM_URL, good_answer, pipeline_llm

    other = client.put("/api/v1/clients", headers=tenant.integration, json={
        "external_id": "PMS-OTHER-7731", "name": "Ottoline Brackenbury",
        "preferred_name": "Otti", "date_of_birth": "1979-02-03"}).json()
    mine = client.put("/api/v1/clients", headers=tenant.integration, json={
        "external_id": "PMS-CANARY-4242", "name": CANARY_NAME, "preferred_name": "Zeb",
        "date_of_birth": "1988-07-14"}).json()
    request = (f"Zebediah (Zeb) Quillfeather, born 14 July 1988, mail {CANARY_EMAIL}, record "
               "PMS-CANARY-4242, has stopped going out since the layoff; something tiny, she "
               "has coffee on the porch every morning.")
    with pipeline_llm(app) as llm:
        route = llm.post(LLM_URL).mock(side_effect=good_answer)
        draft = make_draft(client, tenant, mine["id"], request=request)
    assert draft["status"] == "in_review" and route.call_count >= 1
    sent = "\n".join(call.request.content.decode() for call in route.calls)
    for canary in ("Zebediah", "Quillfeather", "Zeb ", CANARY_EMAIL, "PMS-CANARY-4242",
                   "1988", "14 July"):
        assert canary not in sent, canary
    for theirs in ("Ottoline", "Brackenbury", "Otti", "PMS-OTHER-7731", "1979"):
        assert theirs not in sent, theirs
    assert "coffee on the porch" in sent  # the need itself does go: the test is not vacuous
    assert draft["request"] == request  # and the stored request is the clinician's own words
    assert other["id"] != mine["id"]
