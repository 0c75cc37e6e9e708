"""Template selection generalises beyond the dev set: held-out phrasing, context cues."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bench.eval_selection import BLINDS, DEFAULT, HOLDOUT, evaluate
from service.catalog import get_catalog
from service.selection import rank_templates
from service.selection.ranker import unknown_concept_phrases


def test_holdout_set_covers_every_template_with_varied_requests() -> None:
    lines = [json.loads(line) for line in HOLDOUT.read_text().splitlines() if line.strip()]
    catalog = get_catalog()
    assert len(lines) >= 92
    assert len({line["request"] for line in lines}) == len(lines)
    for template_id in catalog:
        assert sum(line["gold"] == template_id for line in lines) >= 4, template_id
    for line in lines:
        assert line["gold"] in catalog and set(line["acceptable"]) <= set(catalog), line["id"]


def test_holdout_thresholds() -> None:
    result = evaluate(HOLDOUT)
    assert result.top1 >= 0.85, result.misses
    assert result.top3 >= 0.95, result.misses


@pytest.mark.parametrize("path", BLINDS, ids=[p.stem for p in BLINDS])
def test_blind_set_thresholds(path: Path) -> None:
    """Sets reviewers wrote from the catalog alone, without seeing this code."""
    result = evaluate(path)
    assert result.top1 >= 0.95, result.misses
    assert result.top3 >= 0.98, result.misses


def test_dev_set_stays_at_full_top1() -> None:
    result = evaluate(DEFAULT)
    assert result.top1 == 1.0, result.misses


@pytest.mark.parametrize(("request_text", "expected"), [
    # the brief's failures: a routine cue ("makes tea every morning") and "bed" mislead
    ("Since the layoff he stays in bed; he makes tea every morning, something tiny.",
     "behavioral_activation"),
    ("he stays in bed all day since losing his job", "behavioral_activation"),
    # a journaling habit mentioned as an aside is not a request for expressive writing
    ("Low mood, 'nobody likes me' when friends don't text back. A 7 col record pls - fyi "
     "he already journals most nights", "thought_record"),
    # "can't sleep" as a side detail
    ("Catastrophises about his health - one headache and it's a tumour. Wants to learn to "
     "challenge those thoughts. Also can't sleep, as a side detail.", "thought_record"),
    # denied: "no flashbacks"
    ("House fire two years ago, stable, no flashbacks; wants to write about the experience "
     "to make sense of it.", "expressive_writing"),
    # typo and shorthand
    ("insomina for 2 yrs, lies awake till 3. starting CBTi", "sleep_diary"),
    ("ERP for contamination OCD, next rung is the bin lid", "exposure_practice"),
    ("PMR for tension headaches; she does the crossword every morning",
     "progressive_muscle_relaxation"),
    # indirect descriptions, no technique named
    ("can't say no to her boss piling on extra work", "assertive_request"),
    ("drowning in debt letters, doesn't know where to start", "problem_solving"),
    ("keeps replaying an awkward conversation, can't get it out of his head; wants to observe "
     "the thought without getting pulled in", "cognitive_defusion"),
    ("whenever she sees a dog she crosses the road; wants to get braver step by step",
     "exposure_practice"),
    # a tool tried and set aside, or done already, is history, not the request
    ("We gave him leaves on a stream in March but he found it silly. He wants to test the "
     "'everyone will laugh' thought against the evidence and re-rate how anxious he is.",
     "thought_record"),
    ("The diary card last month showed weekends are worst when nothing is planned; now "
     "schedule a couple of pleasant activities for Saturday and rate mood before and after.",
     "behavioral_activation"),
    # denied two words away
    ("Urges to self-harm; she isn't in a DBT group but has a safety plan. Wants to ride the "
     "urge out and notice it peak and pass.", "urge_surfing"),
    # a technique named in everyday terms
    ("panic; does interoceptive drills like spinning on a chair until dizzy", "exposure_practice"),
    # a plan for later, or a tool that does not fit, does not decide
    ("Anxious about her debts, but this is a real problem, so worry time doesn't fit; she "
     "needs to pick one option and act.", "problem_solving"),
    ("Curious what anxiety actually is - something short to read before we start exposure.",
     "guided_reading"),
])
def test_holdout_style_cases(request_text: str, expected: str) -> None:
    ranked = rank_templates(request_text)
    assert ranked[0].template_id == expected, [c.template_id for c in ranked]


def test_candidates_are_explained_and_bounded() -> None:
    ranked = rank_templates("Since the layoff he stays in bed; he makes tea every morning.")
    assert len(ranked) >= 3
    assert [c.score for c in ranked] == sorted((c.score for c in ranked), reverse=True)
    assert all(0.0 <= c.score <= 1.0 for c in ranked)
    assert "stays in bed" in ranked[0].reason and "behavioral_activation" in ranked[0].reason
    assert all(c.reason for c in ranked)


def test_routine_cue_does_not_decide_the_template() -> None:
    with_cue = rank_templates("Retired, low, stopped seeing friends. He reads the paper at "
                              "breakfast and writes in his journal every night.")
    assert with_cue[0].template_id == "behavioral_activation"


def test_deterministic_and_fast() -> None:
    request = "Quitting vaping, 2 weeks in, cravings worst on breaks at work."
    first = rank_templates(request)
    start = time.perf_counter()
    for _ in range(50):
        assert rank_templates(request) == first
    assert (time.perf_counter() - start) / 50 < 0.005


def test_every_concept_points_at_a_catalog_phrase() -> None:
    assert unknown_concept_phrases(get_catalog()) == []


def test_no_lexicon_pattern_holds_a_stray_indent() -> None:
    """A pattern line pasted after a `|` keeps its indent, and that alternative then needs
    spaces the normalised text never has: it silently stops matching."""
    from service.selection import ranker

    patterns = [c.pattern.pattern for c in ranker._CONCEPTS]
    patterns += [p.pattern for p in (ranker._ROUTINE, ranker._ANCHOR, ranker._OTHERS,
                                     ranker._FORMAT, ranker._SET_ASIDE, ranker._GOAL,
                                     ranker._ASIDE)]
    assert not [p for p in patterns if "  " in p]


def test_a_custom_catalog_is_ranked_on_its_own_text(tmp_path: Path) -> None:
    catalog = {k: v for k, v in get_catalog().items() if k in {"sleep_diary", "mood_log",
                                                               "grounding"}}
    ranked = rank_templates("lies awake at 3am every night", catalog=catalog)
    assert ranked[0].template_id == "sleep_diary"
    assert {c.template_id for c in ranked} == set(catalog)
