"""`make eval`: per-code recall and false alarms of the validator, and its speed."""

from __future__ import annotations

import datetime as dt
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

from service.validation import validate_worksheet
from service.worksheet import Worksheet

DEFAULT = Path(__file__).resolve().parent.parent / "tests" / "data" / "validator_dev.jsonl"
# written from the spec by reviewers who never saw the code
BLINDS = [Path(__file__).resolve().parent / f"validator_{name}.jsonl"
          for name in ("blind", "blind2", "blind3")]


def main(paths: list[Path] | None = None) -> None:
    for path in paths or [DEFAULT, *BLINDS]:
        report(path)


def report(path: Path) -> None:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    expected, raised, alarms = Counter(), Counter(), Counter()
    times: list[float] = []
    good_with_error = good = 0
    misses: list[str] = []
    validate_worksheet(Worksheet(), today=dt.date.today())  # load the catalog once
    for line in lines:
        ws = Worksheet.model_validate(line["worksheet"])
        today = dt.date.fromisoformat(line.get("today") or dt.date.today().isoformat())
        start = time.perf_counter()
        findings = validate_worksheet(ws, today=today, request_text=line.get("request", ""))
        times.append((time.perf_counter() - start) * 1000)
        codes = {f.code for f in findings}
        errors = {f.code for f in findings if f.severity == "error"}
        for code in line["expect_codes"]:
            expected[code] += 1
            raised[code] += code in codes
            if code not in codes:
                misses.append(f"  {line['id']}: missed {code}")
        for code in errors & set(line.get("forbid_codes", [])):
            alarms[code] += 1
            misses.append(f"  {line['id']}: false alarm {code}")
        if not line["expect_codes"]:
            good += 1
            good_with_error += bool(errors)
    print(f"validator on {path.name}: n={len(lines)}")
    for code in sorted(set(expected) | set(alarms)):
        print(f"  {code:30s} raised {raised[code]}/{expected[code]}  false alarms {alarms[code]}")
    total = sum(expected.values())
    p95 = sorted(times)[min(len(times) - 1, int(0.95 * len(times)))]
    print(f"recall {sum(raised.values()) / max(1, total):.1%}  error false alarms "
          f"{sum(alarms.values())}  good worksheets with an error {good_with_error}/{good} "
          f"({good_with_error / max(1, good):.1%})  median {statistics.median(times):.3f} ms  "
          f"p95 {p95:.3f} ms  max {max(times):.3f} ms")
    print("\n".join(misses))


if __name__ == "__main__":
    main([Path(p) for p in sys.argv[1:]] or None)
