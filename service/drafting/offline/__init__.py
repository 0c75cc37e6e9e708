"""The offline drafter: fills the chosen template from the request, with no LLM at all.

It exists so the whole loop works when no LLM is configured: each request still yields an
approvable draft. What it takes from the request and the clinician, in order of precedence:

- the goal (`goal`): the clinician's stated aim ("wants to get back to climbing"), in the
  client's second person, unless it is jargon or too thin; otherwise the template's plain
  goal, with the life event it follows ("after the layoff");
- `when` and `where` (`setting`): a cue in the draft instruction ("tie it to the school
  run"), then the clinician's known daily cues, then a daily cue the request mentions
  ("coffee on the porch every morning", "when she gets home"), then the template's default
  cue; a place the request names ("at his desk"), else the template's default place;
- the client's own words (`quotes`): a quoted thought, part or phrase ("'I'm a fraud'")
  shows in the goal and a step, quoted as theirs (left out of tone-checked text if harsh);
- how often (`often`): a frequency the request sets for the practice ("Mon, Wed and Fri",
  "twice a day", "each workday"), else the dose's;
- the form and size (`instruction`): the instruction ("make it a voice note"), then
  `preferred_modality`, then hints in the request ("rather talk than write"); "tiny" in the
  request or "smaller" in the instruction gives the minimum viable dose; both, or "even
  smaller", halve it and make it less often.

A re-draft with an instruction on the same template (`revise`) starts from the previous
revision, edits included, and changes only what the instruction asks; a re-draft on
another template, or with no instruction, drafts afresh from the request.

Client-facing text is in plain words (`wording`): no template names, acronyms or diagnoses.
The client's confidence is left empty: it is asked in session (contract: 1-10, below 7 the
task is made smaller), so `missing_confidence` is the one finding left for the clinician.
"""

from __future__ import annotations

import datetime as dt

from service.catalog import Template
from service.drafting.offline import instruction as ask
from service.drafting.offline.goal import derive_goal, gerund
from service.drafting.offline.instruction import instruction_cue
from service.drafting.offline.often import asked_frequency
from service.drafting.offline.quotes import client_words, goal_with_words, harsh, words_steps
from service.drafting.offline.revise import revise
from service.drafting.offline.setting import named_place, when, where
from service.drafting.offline.wording import plain, say_minutes, uncapitalised
from service.validation.fixes import rationale_from
from service.worksheet import OFFLINE_MARK, Obstacle, Preferences, Worksheet

__all__ = ["client_words", "derive_goal", "draft_offline", "instruction_cue", "named_place",
           "plain"]


def _title(word: str, goal: str) -> str:
    short = goal if len(goal) <= 60 else goal[:57].rsplit(" ", 1)[0] + "…"
    return f"Your {word}: {uncapitalised(short)} {OFFLINE_MARK}"


def draft_offline(*, request_text: str, template: Template, preferences: Preferences,
                  review_date: dt.date, instruction: str | None = None,
                  previous: Worksheet | None = None) -> Worksheet:
    """Honest by construction: the title says it was drafted offline. With `previous` (the
    revision a re-draft follows) and an instruction, that revision changed only as asked."""
    if previous is not None and instruction and previous.template_id == template.id:
        return revise(previous, template=template, instruction=instruction,
                      review_date=review_date)
    asked_cue, instruction = instruction_cue(instruction or "")
    level = ask.size(request_text, instruction)
    dose = ask.dose(template, level)
    modality = ask.modality(request_text, instruction, preferences)
    cue = when(request_text, asked_cue, preferences, dose.cue)
    goal = derive_goal(request_text, template)
    words = client_words(request_text)
    shown_goal = goal_with_words(goal, words)
    spoken_goal = goal if harsh(words) else shown_goal
    variation, tracking = ask.form_texts(template, modality)

    minutes = ask.duration(request_text, instruction, template, level)

    def client(text: str) -> str:
        return plain(text, template)

    return Worksheet(
        template_id=template.id,
        title=_title(preferences.homework_word or "practice", goal),
        goal=shown_goal,
        rationale=client(rationale_from(template, gerund(spoken_goal))),
        task=say_minutes(client(dose.task), minutes), when=cue,
        where=where(request_text, dose.where, cue),
        duration_minutes=minutes,
        frequency=ask.frequency(asked_frequency(request_text, dose.frequency)
                                 or dose.frequency, level),
        done_criteria=client(dose.done_criteria),
        tracking=client(tracking),
        obstacles=[Obstacle(obstacle=client(o.obstacle), plan=client(o.plan))
                   for o in template.obstacles],
        confidence=None, review_date=review_date, modality=modality,
        steps=[*words_steps(words, goal), *(client(s) for s in (*template.steps, variation))],
        fields=list(template.fields),
    )
