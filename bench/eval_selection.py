"""`make eval`: top-1 / top-3 accuracy and selection time on the selection sets.

With no argument: the shared dev set (copied to tests/data/), then the project's own
held-out-style set (bench/selection_holdout.jsonl, written before the ranker was tuned),
each reported on its own. With paths: those sets.
"""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.catalog import get_template
from service.clock import today
from service.drafting.offline import draft_offline
from service.selection import rank_templates
from service.validation import validate_worksheet
from service.worksheet import Preferences

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "selection_dev.jsonl"
HOLDOUT = Path(__file__).resolve().parent / "selection_holdout.jsonl"
# written from the spec by reviewers who never saw the code
BLINDS = [Path(__file__).resolve().parent / f"selection_{name}.jsonl"
          for name in ("blind", "blind2", "blind3")]


@dataclass
class Result:
    name: str
    n: int
    top1: float
    top3: float
    median_ms: float
    p95_ms: float
    misses: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"selection on {self.name}: n={self.n}  top-1 {self.top1:.1%}  "
                f"top-3 {self.top3:.1%}  median {self.median_ms:.2f} ms  p95 {self.p95_ms:.2f} ms")


def load(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def evaluate(path: Path) -> Result:
    """Score every line (`request`, `gold`, `acceptable`) of a selection set."""
    lines = load(path)
    rank_templates("warm up")
    top1 = top3 = 0
    times: list[float] = []
    misses: list[str] = []
    for line in lines:
        ok = {line["gold"], *line.get("acceptable", [])}
        start = time.perf_counter()
        ranked = [c.template_id for c in rank_templates(line["request"])]
        times.append((time.perf_counter() - start) * 1000)
        top1 += ranked[0] in ok
        top3 += bool(ok & set(ranked[:3]))
        if ranked[0] not in ok:
            misses.append(f"  {line['id']}: gold {line['gold']}, got {ranked[:3]}")
    n = len(lines)
    p95 = sorted(times)[max(0, int(0.95 * n) - 1)]
    return Result(path.name, n, top1 / n, top3 / n, statistics.median(times), p95, misses)


def offline_errors(request: str) -> list[str]:
    """The error codes of the offline draft of a request on its top-ranked template: the
    loop works with no LLM only if every request yields a draft a clinician can approve."""
    template = get_template(rank_templates(request)[0].template_id)
    review = today() + dt.timedelta(days=7)
    worksheet = draft_offline(request_text=request, template=template,
                              preferences=Preferences(), review_date=review)
    return [f.code for f in validate_worksheet(worksheet, today=today(), request_text=request)
            if f.severity == "error"]


def main(paths: list[Path] | None = None) -> None:
    for path in paths or [DEFAULT, HOLDOUT, *BLINDS]:
        result = evaluate(path)
        print(result.line())
        if result.misses:
            print("\n".join(result.misses))
        lines = load(path)
        failing = [(line["id"], codes) for line in lines
                   if (codes := offline_errors(line["request"]))]
        print(f"offline drafter on {path.name}: {len(lines) - len(failing)}/{len(lines)} "
              "drafts with no error finding")
        for line_id, codes in failing:
            print(f"  {line_id}: {codes}")


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or None)
