"""Two attack logs of one recipe on the same examples, paired: clean accuracy, accuracy
under attack and success rate of each, and the paired difference in robust accuracy
(95% Newcombe interval, exact McNemar p) over the examples both attacked.

    .venv/bin/python benchmarks/paired_logs.py \\
        runs/results/a2t-measure/adhoc/sst2__textcnn__none__pwws__none__shared-swap.csv \\
        runs/results/a2t-measure/adhoc/sst2__textcnn__a2t__pwws__none__shared-swap.csv

Used for the A2T measurement (docs/plugins.md, "Adversarial training"): the plain and the
adversarially trained net attacked by the same recipe on the same sentences. "Robust"
is what Boa counts: right on the clean text and the attack failed (unattackable and
budget-stopped included). Rows are matched by example index.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def read(path: Path) -> dict[str, dict[str, str]]:
    """The rows of a log by example index (checked by the project's own reader)."""
    from robustsnn.records.log import read_log

    return {r["index"]: r for r in read_log(path)}


def robust(row: dict[str, str]) -> bool:
    from robustsnn.records.metrics import FAILED_TYPES

    return row["result"] in FAILED_TYPES


def describe(name: str, rows: list[dict[str, str]]) -> str:
    from robustsnn.records.metrics import SKIPPED, SUCCESSFUL

    n = len(rows)
    clean = sum(r["result"] != SKIPPED for r in rows)
    held = sum(robust(r) for r in rows)
    fooled = sum(r["result"] == SUCCESSFUL for r in rows)
    return (f"{name}: N={n} clean {100 * clean / n:.1f}  under attack {100 * held / n:.1f}  "
            f"success {100 * fooled / max(clean, 1):.1f}% ({fooled}/{clean})")


def main() -> int:
    from robustsnn.stats import paired_comparison

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", type=Path)
    p.add_argument("b", type=Path)
    args = p.parse_args()
    a, b = read(args.a), read(args.b)
    both = sorted(set(a) & set(b), key=int)
    if not both:
        print(f"{args.a} and {args.b} share no example", file=sys.stderr)
        return 2
    print(describe("A " + args.a.name, [a[i] for i in both]))
    print(describe("B " + args.b.name, [b[i] for i in both]))
    cmp = paired_comparison([robust(b[i]) for i in both], [robust(a[i]) for i in both])
    print(f"B - A, robust accuracy: {100 * cmp.difference:+.1f} points (95% CI {100 * cmp.ci_low:+.1f} to "
          f"{100 * cmp.ci_high:+.1f}), only B robust {cmp.b}, only A robust {cmp.c}, "
          f"exact McNemar p = {cmp.p_value:.3g} over {cmp.n} examples")
    return 0


if __name__ == "__main__":
    sys.exit(main())
