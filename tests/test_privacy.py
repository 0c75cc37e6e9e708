"""Privacy: canaries never reach logs, error bodies or other models than those allowed."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from service.clients import identifiers
from service.config import Settings
from service.drafting.redaction import Redactor
from service.logs import ScrubFilter
from service.models import Client
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


# --- the redaction proof, on both wire formats --------------------------------------------

ANTHROPIC_URL = "https://api.anthropic.com/v1/messages"
ANTHROPIC_MODEL = "anthropic/claude-3-5-haiku-20241022"


def _texts(value: Any) -> list[str]:
    """Every string of a JSON body: OpenAI's messages, Anthropic's system blocks too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    return []


def _echoing_answer(provider: str):  # type: ignore[no-untyped-def]
    """A passing worksheet for the prompt's template, in this provider's wire format, that
    uses the name's and the email's placeholders, so restoring them is tested too."""
    from service.catalog import get_template
    from service.clock import today
    from tests.llm_fakes import anthropic_body, good_worksheet, openai_body

    def answer(request: httpx.Request) -> httpx.Response:
        prompt = "\n".join(_texts(json.loads(request.content)))
        named = re.search(r"^- id: (\w+)", prompt, re.M)
        template = get_template(named.group(1) if named else "behavioral_activation")
        name = re.search(r"\[CLIENT_NAME_\d+\]", prompt)
        email = re.search(r"\[EMAIL_\d+\]", prompt)
        assert name and email, prompt
        worksheet = {**good_worksheet(template, review_date=today() + dt.timedelta(days=7)),
                     "title": f"{name.group(0)}'s practice", "support_person": email.group(0)}
        text = json.dumps(worksheet)
        body = anthropic_body(text) if provider == "anthropic" else openai_body(text)
        return httpx.Response(200, json=body)
    return answer


@pytest.mark.parametrize("provider", ["openai-compatible", "anthropic"])
def test_a_client_record_s_identifiers_never_reach_the_llm_and_one_request_is_one_client(
        app, client, tenant, monkeypatch, provider):
    """Canaries seeded through the API (not handed to the drafter): the outgoing body holds
    none of this client's identifiers, in any of the forms a clinician types them, and
    nothing of another client's record; the placeholders the model echoes come back."""
    from tests.llm_fakes import LLM_URL, pipeline_llm

    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    other = client.put("/api/v1/clients", headers=tenant.integration, json={
        "external_id": "PMS-OTHER-7731", "name": "Ottoline Brackenbury",
        "preferred_name": "Otti", "date_of_birth": "1979-02-03"}).json()
    mine = client.put("/api/v1/clients", headers=tenant.integration, json={
        "external_id": "PMS-CANARY-4242", "name": CANARY_NAME, "preferred_name": "Zeb",
        "date_of_birth": "1988-07-14"}).json()
    request = (f"Zebediah (Zeb) Quillfeather, born 14 July 1988 (7/14/88 on the referral, "
               f"14 Jul 88 in the GP letter), mail {CANARY_EMAIL}, record PMS-CANARY-4242, "
               "MRN: A-1234567, SSN 123-45-6789, phone (020) 7946 0958, notes at "
               "ehr.example.com/p/1, lives on Acacia Avenue, Springfield, IL 62704. She has "
               "stopped going out since the layoff; something tiny, she has coffee on the "
               "porch every morning.")
    url, overrides = LLM_URL, {}
    if provider == "anthropic":
        url, overrides = ANTHROPIC_URL, {"llm_model": ANTHROPIC_MODEL, "llm_api_base": None}
    with pipeline_llm(app, **overrides) as llm:
        route = llm.post(url).mock(side_effect=_echoing_answer(provider))
        draft = make_draft(client, tenant, mine["id"], request=request)
    assert draft["status"] == "in_review" and route.call_count >= 1, draft
    sent = "\n".join(call.request.content.decode() for call in route.calls)
    for canary in ("Zebediah", "Quillfeather", "Zeb ", CANARY_EMAIL, "zeb.quill",
                   "PMS-CANARY-4242", "1988", "14 July", "7/14/88", "14 Jul 88", "A-1234567",
                   "123-45-6789", "7946", "ehr.example", "Acacia", "62704"):
        assert canary not in sent, canary
    for theirs in ("Ottoline", "Brackenbury", "Otti", "PMS-OTHER-7731", "1979"):
        assert theirs not in sent, theirs
    assert "coffee on the porch" in sent  # the need itself does go: the test is not vacuous
    assert draft["request"] == request  # and the stored request is the clinician's own words
    worksheet = draft["revision"]["worksheet"]  # the echoed placeholders came back
    assert worksheet["title"] in {f"{CANARY_NAME}'s practice", "Zebediah's practice",
                                  "Zeb's practice", "Quillfeather's practice"}
    assert worksheet["support_person"] == CANARY_EMAIL
    assert other["id"] != mine["id"]


# --- what the redactor catches, and what it leaves alone ------------------------------------

# (text, the identifier in it that must not leave the service)
IDENTIFIER_FORMS = [
    ("MRN: A-1234567 on the referral", "A-1234567"),
    ("MRN 12345678", "12345678"),
    ("DOB: 1987/04/12", "1987/04/12"),
    ("dob 4/12/87", "4/12/87"),
    ("date of birth 12.04.87", "12.04.87"),
    ("DOB 12 Apr 87", "12 Apr 87"),
    ("born April 12th", "April 12th"),
    ("seen 03/11/1990 by the GP", "03/11/1990"),
    ("phone (020) 7946 0958", "7946 0958"),
    ("ring her on 020 7946 0958", "7946 0958"),
    ("call 555 1234 after six", "555 1234"),
    ("mobile +1 (555) 123-4567", "123-4567"),
    ("notes at ehr.example.com/p/1.", "ehr.example.com"),
    ("notes at ehr.example/p/88231", "ehr.example"),
    ("portal at example.org", "example.org"),
    ("see https://ehr.example/p/1", "ehr.example"),
    ("lives on Acacia Avenue", "Acacia"),
    ("lives at 12 acacia avenue", "acacia"),
    ("she lives on acacia avenue with her sister", "acacia"),
    ("moved to 9 maple drive last year", "maple"),
    ("address is 4 Elm Close", "Elm Close"),
    ("Apt 4B, 221B Baker Street", "Apt 4B"),
    ("221B Baker Street", "Baker"),
    ("12 Acacia Avenue, Springfield, IL 62704", "62704"),
    ("zip 90210", "90210"),
    ("ZIP code: 90210", "90210"),
    ("Beverly Hills, CA 90210-1234", "90210"),
    ("SSN 123-45-6789", "123-45-6789"),
    ("social security number 123 45 6789", "123 45 6789"),
    ("her number is 123-45-6789", "123-45-6789"),
    ("postcode SW1A 1AA", "SW1A 1AA"),
    ("email jane_doe@example.co.uk", "jane_doe"),
    ("MRN 0012", "0012"),
    ("mrn: 77", "77"),
    ("DOB March 1990.", "March 1990"),
    ("born in Mar. 1990", "Mar. 1990"),
    ("date of birth: March '90", "March '90"),
    ("DOB 03/1990", "03/1990"),
]


@pytest.mark.parametrize(("text", "identifier"), IDENTIFIER_FORMS,
                         ids=[t for t, _ in IDENTIFIER_FORMS])
def test_each_identifier_form_is_redacted_and_restored(text: str, identifier: str) -> None:
    redactor = Redactor([])
    redacted = redactor.redact(text)
    assert identifier.lower() not in redacted.lower(), redacted
    assert re.search(r"\[[A-Z]+_\d+\]", redacted), redacted
    assert redactor.restore(redacted) == text


def _jane() -> Client:
    return Client(name="Jane Doe", preferred_name="Janey", external_id="PMS-88231",
                  date_of_birth=dt.date(1987, 4, 12))


# The client's own date of birth however it is spelt, without "DOB" or "born" before it.
DOB_SPELLINGS = ["1987-04-12", "12/04/1987", "4/12/1987", "12-4-87", "04.12.87", "4/12/87",
                 "1987/04/12", "1987.4.12", "12 April 1987", "12th April 1987",
                 "April 12, 1987", "Apr 12 87", "12 Apr 87", "12 Apr. 1987", "12th of April 1987",
                 "april 12th", "12 April"]


@pytest.mark.parametrize("spelling", DOB_SPELLINGS)
def test_the_known_date_of_birth_is_redacted_in_any_spelling(spelling: str) -> None:
    redactor = Redactor(identifiers(_jane()))
    text = f"Her card says {spelling}, which she hates."
    redacted = redactor.redact(text)
    assert spelling.lower() not in redacted.lower(), redacted
    assert "[CLIENT_DOB_1]" in redacted, redacted
    assert redactor.restore(redacted) == text


def test_a_date_of_birth_s_words_are_not_identifiers_on_their_own() -> None:
    redactor = Redactor(identifiers(_jane()))
    text = "Review in April, at 12 noon; she was 12 in 1987."
    assert redactor.redact(text) == text


# Ordinary practice text: every word of it must reach the model.
PRACTICE_PHRASES = [
    "She has coffee on the porch every morning.",
    "At the kitchen table, right after dinner.",
    "A short walk to the park and back.",
    "Read two pages on the train home.",
    "Notice the thought while waiting at the bus stop.",
    "At 7:30, before work; or at 8 am; or 6.30 pm.",
    "For 10 minutes, 3 times a week.",
    "20-30 minutes, 2-3 times a day, 5 days a week.",
    "A 10 minute walk round the block.",
    "A 20 minute drive to work, a 2 hour drive at the weekend.",
    "Walk down the street, cross the road, and back along the busy street.",
    "Take the long way home.",
    "Walk 500-1000 steps, building to 10000 steps a day.",
    "Rate it 0-10: anxiety 7/10 before, 4/10 after.",
    "Record 10 - 20 minutes of reading in the log.",
    "Picture your safe place for a minute.",
    "Ask Dr Patel about the sleep plan; visit St Mary's on Sunday.",
    "She lives on her own and lives with her mum at weekends.",
    "She lives on the main road, near the shops.",
    "Every 2 hours close the laptop; at 3 close the curtains.",
    "2 blocks down the road, then 3 laps of the garden.",
    "Review in April, or on 12 May at the latest.",
    "Steps 1-3 first, week 1/2, page 12, a 7 column record.",
    "e.g. a walk, i.e. small steps, etc. and so on.",
    "Use the app, or the paper sheet; tick it off.",
    "She worked hard.It helped, and she said so.Me too.",
    "Janet and Doerte came along.",  # the client is Jane Doe: whole words only
    "Leave the house by 8, back by 8.15, in bed by 10.30.",
    "Go to the Morning Walk group and the Evening Wind-Down class.",
]


@pytest.mark.parametrize("phrase", PRACTICE_PHRASES)
def test_ordinary_practice_text_is_not_redacted(phrase: str) -> None:
    assert Redactor(identifiers(_jane())).redact(phrase) == phrase


# --- the client's name in the spellings clinicians type -----------------------------------

def _named(name: str, dob: dt.date | None = None) -> Redactor:
    return Redactor(identifiers(Client(name=name, preferred_name=None, external_id="PMS-1",
                                       date_of_birth=dob)))


# (the client's name, text about them, what of it must not leave the service)
NAME_SPELLINGS = [
    ("Li Wu", "Li hasn't left the flat since March; Wu is her married name. DOB March 1990.",
     ["Li", "Wu", "March 1990"]),
    ("Li Wu", "Li's mum came too.", ["Li"]),
    ("Anne-Marie O'Neill", "O\u2019Neill said so.", ["Neill"]),
    ("Anne-Marie O'Neill", "Mrs O\u2018Neill and Mrs ONeill and Mrs O Neill.", ["Neill"]),
    ("Anne-Marie O\u2019Neill", "O'Neill said so.", ["Neill"]),
    ("Zoë Brontë", "Zoe Bronte, or Zoe, or Ms Bronte.", ["Zoe", "Bronte"]),
    ("Zoe Bronte", "Zoë Brontë", ["Zo", "Bront"]),
    ("Zoë Brontë", "Zoe\u0308 (decomposed) and ZOË.", ["Zo", "ZO"]),
    ("José Núñez", "Jose Nunez; Mr Nunez; José.", ["Jose", "Nunez", "José"]),
    ("Mary-Jane Smith", "Jane says Mary Jane, or Mary\u2011Jane, is fine.", ["Jane", "Mary"]),
    ("Mary-Jane Smith", "Mary-Jane came; Mary came.", ["Mary", "Jane"]),
    ("An Do", "Her mum calls her Do at home, and An at school.", [" Do ", " An "]),
    ("Søren Łukasz", "Soren and Lukasz.", ["Soren", "Lukasz"]),
]


@pytest.mark.parametrize(("name", "text", "leaks"), NAME_SPELLINGS,
                         ids=[t for _, t, _ in NAME_SPELLINGS])
def test_the_client_s_name_is_redacted_in_common_spellings_and_restored_exactly(
        name: str, text: str, leaks: list[str]) -> None:
    redactor = _named(name, dt.date(1990, 3, 4))
    redacted = redactor.redact(text)
    for leak in leaks:
        assert leak not in redacted, (leak, redacted)
    assert "[CLIENT_NAME_1]" in redacted, redacted
    assert redactor.restore(redacted) == text


# (the client's name, text in which nothing is theirs)
NOT_THE_NAME = [
    ("Li Wu", "Lift weights, listen to music, walk with Wuffles the dog; li and wu too."),
    ("Li Wu", "LIGHTS off at 10, then write in the log."),
    ("An Do", "An hour before bed. Do this 3 times a week. Do it anyway."),
    ("An Do", "Note an urge, and do the practice in the kitchen."),
    ("Ludwig van Beethoven", "Take the van to the park."),
    ("Maria de Souza", "Ask about the de-escalation plan."),
    ("Zoë Brontë", "Zoetrope and Brontosaurus stickers on the chart."),
]


@pytest.mark.parametrize(("name", "text"), NOT_THE_NAME, ids=[t for _, t in NOT_THE_NAME])
def test_words_that_only_look_like_the_name_are_not_redacted(name: str, text: str) -> None:
    assert _named(name).redact(text) == text
