"""The worksheet validator: meaning-level checks, one scenario a test."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bench.eval_validator import BLINDS, DEFAULT
from service.catalog import get_catalog
from service.validation import validate_worksheet
from service.validation.cues import find_cue, find_place
from service.worksheet import Worksheet, has_error

TODAY = dt.date(2026, 3, 2)


def good(**changes: object) -> Worksheet:
    """A specific, linked, kind worksheet for a breathing practice."""
    data: dict[str, object] = {
        "template_id": "mindful_breathing",
        "title": "Two calm minutes",
        "goal": "Feel less wound up before meetings at work",
        "rationale": ("Before meetings your body winds up fast. A few slow breaths with a "
                      "long out-breath tell your body it is safe, so you walk into the "
                      "meeting calmer."),
        "task": "Breathe in for 4 and out for 6.",
        "when": "Right after you hang up your coat at work",
        "where": "At your desk",
        "duration_minutes": 3,
        "frequency": "Every work day",
        "done_criteria": "Three minutes of slow breathing, however it went.",
        "tracking": "Tick the calendar and rate calm 0-10 after.",
        "obstacles": [{"obstacle": "A colleague talks to you first.",
                       "plan": "If someone stops you, then do it in the toilets instead."}],
        "confidence": 8,
        "review_date": "2026-03-09",
        "steps": ["Sit back in your chair.", "Breathe in for 4.", "Breathe out for 6."],
    }
    data.update(changes)
    return Worksheet.model_validate(data)


def codes(ws: Worksheet, request_text: str = "") -> set[str]:
    return {f.code for f in validate_worksheet(ws, today=TODAY, request_text=request_text)}


def test_good_worksheet_is_ok() -> None:
    findings = validate_worksheet(good(), today=TODAY)
    assert not has_error(findings), findings
    assert codes(good()) == set()


@pytest.mark.parametrize("when", ["sometime", "at some point", "when you get a chance",
                                  "during the week", "this week", "whenever",
                                  "when you remember", "when you can", "Later in the day", "",
                                  "When I get a chance", "if she has time"])
def test_vague_when_is_an_error(when: str) -> None:
    assert "missing_when" in codes(good(when=when))


@pytest.mark.parametrize("when", ["after brushing teeth", "at 9 pm", "right after morning coffee",
                                  "on the bus home", "in the evening", "when you get home",
                                  "whenever the urge shows up", "Monday at 10 am"])
def test_specific_when_is_fine(when: str) -> None:
    assert "missing_when" not in codes(good(when=when))


@pytest.mark.parametrize(("frequency", "vague"), [
    ("most days", True), ("regularly", True), ("from time to time", True),
    ("as much as possible", True), ("when needed", True),
    ("5 days a week", False), ("Mon, Wed and Fri", False), ("every morning", False),
    ("once a day", False), ("twice this week", False)])
def test_frequency(frequency: str, vague: bool) -> None:
    assert ("missing_frequency" in codes(good(frequency=frequency))) is vague


@pytest.mark.parametrize("where", ["", "anywhere", "Wherever you like", "somewhere",
                                   "Any place you like", "anywhere I happen to be"])
def test_vague_where(where: str) -> None:
    assert "missing_where" in codes(good(where=where))


@pytest.mark.parametrize("rationale", ["It will help.", "It's good for you.",
                                       "Research shows it works.",
                                       "Studies prove this is effective."])
def test_thin_rationale(rationale: str) -> None:
    assert "missing_rationale" in codes(good(rationale=rationale))


def test_unlinked_rationale_but_paraphrase_is_linked() -> None:
    unlinked = good(rationale=("Keeping a tidy kitchen makes cooking quicker and saves you "
                               "money on takeaways each month."))
    assert "rationale_not_linked_to_goal" in codes(unlinked)
    paraphrase = good(rationale=("Slow breathing settles the stress in your body, so job "
                                 "meetings feel less tense."))
    assert "rationale_not_linked_to_goal" not in codes(paraphrase)


@pytest.mark.parametrize(("goal", "rationale"), [
    # "flat" (low mood) is not in "flatmates"; "down" in "calms you down" is no mood
    ("Get my flatmates to share the cleaning fairly",
     "Exams make your heart pound. Slow breathing calms your body down so you think clearly."),
    # a sleep routine's "settle" says nothing about social nerves
    ("Feel less anxious at work social events",
     "A wind-down routine helps your body clock settle, so you fall asleep faster."),
])
def test_a_rationale_about_something_else_is_not_linked(goal: str, rationale: str) -> None:
    assert "rationale_not_linked_to_goal" in codes(good(goal=goal, rationale=rationale))


def test_three_errands_in_a_list_are_multiple_tasks() -> None:
    task = ("Make eye contact with the cashier, call the dentist to book a check-up, and sign "
            "up for the Thursday pottery class.")
    assert "multiple_tasks" in codes(good(task=task))


def test_a_quoted_self_critical_thought_is_not_shaming_but_scare_quotes_are() -> None:
    named = good(rationale=("When your inner critic says 'I'm such a failure', this break "
                            "helps you answer it the way you would answer a friend, so the "
                            "shame eases and the goal gets closer."))
    assert "shaming_language" not in codes(named)
    scare = good(done_criteria="Done means no 'failure' this time.")
    assert "shaming_language" in codes(scare)


@pytest.mark.parametrize(("field", "value", "code"), [
    ("done_criteria", "Do your best", "missing_done_criteria"),
    ("done_criteria", "Just see how it goes.", "missing_done_criteria"),
    ("tracking", "n/a", "missing_tracking"),
    ("where", "Around the house", "missing_where"),
    ("where", "Anywhere that feels OK to you", "missing_where"),
    ("where", "Any spot that suits", "missing_where"),
])
def test_non_answers_count_as_missing(field: str, value: str, code: str) -> None:
    assert code in codes(good(**{field: value}))


def test_praise_alone_is_a_thin_rationale() -> None:
    found = codes(good(rationale="It's a really useful exercise that lots of people find helpful."))
    assert "missing_rationale" in found


def test_three_listed_actions_are_multiple_tasks() -> None:
    task = ("Fill in the sleep diary, stop caffeine after midday and get out of bed at 6.30 "
            "every morning.")
    assert "multiple_tasks" in codes(good(task=task))


def test_lowering_blood_pressure_does_not_link_to_enjoying_weekends() -> None:
    found = codes(good(goal="Enjoy weekends with my family again",
                       rationale=("Regular exercise lowers your blood pressure and keeps your "
                                  "heart healthy as you get older.")))
    assert "rationale_not_linked_to_goal" in found


def test_an_empathic_never_is_not_shaming() -> None:
    assert "shaming_language" not in codes(good(
        done_criteria="Worries follow you all evening, so you never switch off; one set time "
                      "gives them proper attention."))


def test_times_written_with_an_x_are_a_frequency() -> None:
    assert "missing_frequency" not in codes(good(frequency="3x this week"))


def test_encouragement_is_no_back_up_plan() -> None:
    pep = [{"obstacle": "I forget.", "plan": "You've got this!"},
           {"obstacle": "I'm tired.", "plan": "Keep trying!"}]
    assert "missing_obstacle_plan" in codes(good(obstacles=pep))


def test_a_goal_word_and_its_inflection_link_the_rationale() -> None:
    linked = good(goal="Stop placing bets at night",
                  rationale=("Betting urges feel like they will grow until you give in, but "
                             "they rise, peak and fade within minutes; riding one out weakens "
                             "the next."))
    assert "rationale_not_linked_to_goal" not in codes(linked)


def test_a_substantial_rationale_about_something_else_is_unlinked_not_thin() -> None:
    found = codes(good(goal="Stop checking the door locks over and over",
                       rationale=("Writing down three things you like about yourself each "
                                  "day builds self-esteem. It helps you feel more confident "
                                  "at work and with friends.")))
    assert "rationale_not_linked_to_goal" in found and "missing_rationale" not in found


@pytest.mark.parametrize(("text", "shaming"), [
    ("Since the car failed its MOT, one small step makes it manageable.", False),
    ("Your mind keeps telling you you're useless; the evidence gives a fairer picture.", False),
    ("Your critic says things like 'you're so lazy' and 'you always mess up'.", False),
    ("All seven columns filled in. Don't let me down!", True),
    ("You failed last time, so no excuses now.", True),
])
def test_shaming_is_the_worksheets_voice_not_the_thought_it_names(text: str,
                                                                  shaming: bool) -> None:
    assert ("shaming_language" in codes(good(done_criteria=text))) is shaming


def test_obstacle_without_plan() -> None:
    assert "missing_obstacle_plan" in codes(good(obstacles=[]))
    empty_plan = [{"obstacle": "I forget.", "plan": ""}]
    assert "missing_obstacle_plan" in codes(good(obstacles=empty_plan))


def test_too_long_uses_the_templates_own_max() -> None:
    limit = get_catalog()["mindful_breathing"].max_duration_minutes
    assert "too_long" not in codes(good(duration_minutes=limit))
    over = [f for f in validate_worksheet(good(duration_minutes=limit + 1), today=TODAY)
            if f.code == "too_long"]
    assert over and over[0].severity == "warning"
    assert "missing_duration" in codes(good(duration_minutes=0))


def test_low_and_missing_confidence_and_review() -> None:
    assert "low_confidence" in codes(good(confidence=5))
    assert "missing_confidence" in codes(good(confidence=None))
    assert "missing_review" in codes(good(review_date="2026-03-01"))
    assert "missing_review" in codes(good(review_date=None))


def test_risk_content_in_worksheet_and_request_but_not_idioms() -> None:
    risky = good(goal="Cope with urges to self-harm at night")
    assert "risk_content" in codes(risky)
    assert "risk_content" in codes(good(), "She mentioned wanting to die last week.")
    assert "risk_content" in codes(good(), "Her partner hits her when he drinks.")
    idioms = "He is killing time at work, dying to try climbing, and wants to cut down on caffeine."
    assert "risk_content" not in codes(good(), idioms)
    assert "risk_content" not in codes(good(task="I could kill for a coffee, but breathe first."))


def test_shaming_but_not_cant_fail() -> None:
    shaming = good(steps=["Breathe in for 4.", "No excuses - skipping it is lazy."])
    assert "shaming_language" in codes(shaming)
    kind = good(steps=["Breathe in for 4.", "You can't fail at this."])
    assert "shaming_language" not in codes(kind)


def test_reading_level() -> None:
    academic = good(rationale=(
        "Diaphragmatic respiration demonstrably attenuates sympathetic nervous system "
        "activation, consequently facilitating physiological downregulation and subsequently "
        "enhancing occupational performance during anticipatory anxiety associated with "
        "professional interpersonal engagements and evaluative organisational situations."))
    assert "reading_level" in codes(academic)
    assert "reading_level" not in codes(good())


def test_multiple_tasks() -> None:
    bundle = good(task="Reply to the email, call your sister, and then tidy the desk.")
    assert "multiple_tasks" in codes(bundle)
    assert "multiple_tasks" not in codes(good(task="Sit and breathe slowly at your desk."))


def test_unknown_template_skips_template_rules() -> None:
    found = validate_worksheet(good(template_id="no_such_thing", duration_minutes=500),
                               today=TODAY)
    assert {f.code for f in found} == {"unknown_template"}
    assert has_error(found)


def test_missing_tracking_is_a_warning() -> None:
    found = [f for f in validate_worksheet(good(tracking=""), today=TODAY)]
    assert [f.severity for f in found if f.code == "missing_tracking"] == ["warning"]
    assert not has_error(found)


BROKEN = {
    "missing_when": {"when": "whenever"},
    "missing_where": {"where": "anywhere"},
    "missing_duration": {"duration_minutes": None},
    "missing_frequency": {"frequency": "regularly"},
    "missing_done_criteria": {"done_criteria": ""},
    "missing_rationale": {"rationale": "It helps."},
    "rationale_not_linked_to_goal": {"rationale": "Tidy kitchens make cooking quicker and "
                                                  "save money on takeaways."},
    "missing_obstacle_plan": {"obstacles": []},
    "low_confidence": {"confidence": 4},
    "missing_review": {"review_date": "2026-02-01"},
}


@pytest.mark.parametrize("code", sorted(BROKEN))
def test_every_error_carries_a_fix_that_removes_it(code: str) -> None:
    ws = good(**BROKEN[code])
    findings = [f for f in validate_worksheet(ws, today=TODAY) if f.code == code]
    assert findings and findings[0].severity == "error"
    fix = findings[0].suggested_fix
    assert fix, code
    if code == "low_confidence":
        shrunk = Worksheet.model_validate({**ws.model_dump(mode="json"), **fix})
        assert code in codes(shrunk), "shrinking alone never clears it: the client re-rates"
        fix = {**fix, "confidence": 8}  # re-rated in session after shrinking
    fixed = Worksheet.model_validate({**ws.model_dump(mode="json"), **fix})
    assert code not in codes(fixed), fix


def test_low_confidence_at_the_smallest_dose_offers_no_fix() -> None:
    """Nothing smaller to offer: the clinician changes the task or re-rates with the client."""
    from service.catalog import get_template

    small = get_template(good().template_id).minimum_viable_dose
    ws = good(task=small.task, duration_minutes=small.duration_minutes, confidence=4)
    found = [f for f in validate_worksheet(ws, today=TODAY) if f.code == "low_confidence"]
    assert found and found[0].suggested_fix is None


def test_missing_when_fix_uses_a_cue_from_the_request() -> None:
    found = validate_worksheet(good(when="sometime"), today=TODAY,
                               request_text="She always has a coffee at 9 pm on the sofa.")
    fix = next(f.suggested_fix for f in found if f.code == "missing_when")
    assert fix and "9 pm" in str(fix["when"]).lower()


def test_exposure_far_above_stated_distress() -> None:
    ws = good(template_id="exposure_practice", goal="Ride the bus to work again",
              rationale="Facing the bus step by step shows you that the fear comes down.",
              task="Start with the hardest step: ride the bus at rush hour (distress 90).")
    assert "exposure_step_too_high" in codes(ws, "Current distress on buses is about 35/100.")


def _lines(path: Path) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# the shared dev set, and the sets reviewers wrote without seeing this code
VALIDATOR_DEV = [line for path in (DEFAULT, *BLINDS) for line in _lines(path)]


@pytest.mark.parametrize("line", VALIDATOR_DEV, ids=[line["id"] for line in VALIDATOR_DEV])
def test_validator_dev_set(line: dict) -> None:  # type: ignore[type-arg]
    """Each worksheet raises the codes it expects and none of the codes it forbids."""
    findings = validate_worksheet(Worksheet.model_validate(line["worksheet"]),
                                  today=dt.date.fromisoformat(line["today"]),
                                  request_text=line.get("request", ""))
    codes = {f.code for f in findings}
    errors = {f.code for f in findings if f.severity == "error"}
    assert set(line["expect_codes"]) <= codes, codes
    assert not codes & set(line.get("forbid_codes", [])), codes
    if not line["expect_codes"]:
        assert not errors, errors


@pytest.mark.parametrize(("request_text", "cue"), [
    # routines and daily moments, in the client's words
    ("Since the layoff he stays in bed; he makes tea every morning.",
     "Right after your morning tea"),
    ("She has coffee on the porch every morning.", "Right after your morning coffee"),
    ("He walks the dog every morning.", "Right after you walk the dog in the morning"),
    ("Flat after breakfast most days.", "After breakfast"),
    ("Urges hit at 6pm when he gets home.", "When you get home"),
    ("Wants to do it after brushing her teeth.", "After brushing your teeth"),
    ("Mornings on the porch with coffee are her quiet time.", "With your coffee on the porch"),
    ("5 mins in the morning after she feeds the cat.", "After you feed the cat"),
    ("Struggles to unwind before bed.", "Before bed"),
    ("Ruminates for hours after work about what he said in meetings.", "After work"),
    ("Cries once the kids are in bed.", "Once the kids are in bed"),
    ("She says 'I always mess it up' after every shift.", "After every shift"),
    ("Panics in the car park before going into work.", "Before going into work"),
    # the partner's moment is not the client's cue
    ("Her husband works away; a young part shows up whenever he leaves. I'd like her to "
     "check in with her parts each evening.", "In the evening, right after dinner"),
    # a set time, but not the small hours when the trouble happens
    ("Set aside 15 mins at 6pm and postpone the rest.", "At 6pm"),
    ("She always has a coffee at 9 pm on the sofa.", "At 9 pm"),
    ("Insomnia client, panics about it at 2am.", None),
    ("Menopausal, waking at 4am and can't get back off.", None),
    # clinical steps, life events and hard moments are no daily cue
    ("CBT-I week 1 - baseline before sleep restriction.", None),
    ("Couple recovering after an affair disclosure.", None),
    ("Low mood after a breakup, stopped seeing friends.", None),
    ("Shame after a relapse; keeps saying he's useless.", None),
    ("Practise repairing after a fight.", None),
    ("Wants to read a chapter about panic before next session.", None),
    ("Heart racing before exams.", None),
    ("Wants to ask his flatmate to clean up after himself.", None),
    ("Has panic attacks every morning.", None),
    ("Has a drink every evening to unwind.", None),
    ("Do it when you get a chance.", None),
])
def test_find_cue_prefers_real_daily_cues(request_text: str, cue: str | None) -> None:
    assert find_cue(request_text) == cue


@pytest.mark.parametrize(("request_text", "place"), [
    ("She has coffee on the porch every morning.", "On the porch"),
    ("Makes tea in her kitchen every morning.", "In your kitchen"),
    ("She has tea on the patio every evening.", "On the patio"),
    ("Mornings on the porch with coffee are her quiet time.", "On the porch"),
    ("She always has a coffee at 9 pm on the sofa.", "On the sofa"),
    ("Couple recovering after an affair disclosure.", None),
])
def test_find_place_takes_the_routines_place(request_text: str, place: str | None) -> None:
    assert find_place(request_text) == place


def test_missing_when_fix_ignores_a_treatment_step_in_the_request() -> None:
    found = validate_worksheet(good(when="sometime"), today=TODAY,
                               request_text="CBT-I week 1 - baseline before sleep restriction.")
    fix = next(f.suggested_fix for f in found if f.code == "missing_when")
    assert fix == {"when": get_catalog()["mindful_breathing"].default_practice.cue}
