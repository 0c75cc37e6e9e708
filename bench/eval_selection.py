"""`make eval`: top-1 / top-3 accuracy and selection time on a selection set."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from service.selection import rank_templates

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "eval" / "selection_dev.jsonl"


def main(path: Path = DEFAULT) -> None:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
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
    p95 = sorted(times)[int(0.95 * n) - 1]
    print(f"selection on {path.name}: n={n}  top-1 {top1 / n:.1%}  top-3 {top3 / n:.1%}  "
          f"median {statistics.median(times):.2f} ms  p95 {p95:.2f} ms")
    print("\n".join(misses))


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT)
