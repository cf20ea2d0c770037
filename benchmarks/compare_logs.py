"""What changed between two runs of the same campaign: for every log the two folders
share, how many examples changed outcome, adversarial text or verdict.

    .venv/bin/python benchmarks/compare_logs.py results/attacks/sst2-first runs/usem3c/sst2-first

Used to decide whether a faster path may become the default (it must change no outcome,
or the note must say how many changed and why that is acceptable). Rows are matched by
example index; timing columns are not compared. Exits 1 when any outcome changed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# What a changed example may differ in, from the decisive to the cosmetic.
OUTCOME = ("result", "original_output", "perturbed_output")
TEXT = ("perturbed_text",)
VERDICT = ("verdict_clean_correct", "verdict_final_correct")


def read(path: Path) -> dict[str, dict[str, str]]:
    """The rows of a log by example index (checked by the project's own reader)."""
    from robustsnn.records.log import read_log

    return {r["index"]: r for r in read_log(path)}


def differ(a: dict[str, str], b: dict[str, str], columns: tuple[str, ...]) -> bool:
    return any(a.get(c) != b.get(c) for c in columns)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old", type=Path)
    p.add_argument("new", type=Path)
    args = p.parse_args()
    shared = sorted({f.name for f in args.old.glob("*.csv")} & {f.name for f in args.new.glob("*.csv")})
    if not shared:
        print(f"no log in both {args.old} and {args.new}", file=sys.stderr)
        return 2
    totals = [0, 0, 0, 0]
    print(f"{'log':<55} {'compared':>8} {'outcome':>8} {'text':>6} {'verdict':>8}")
    for name in shared:
        old, new = read(args.old / name), read(args.new / name)
        both = sorted(set(old) & set(new), key=int)
        counts = [len(both),
                  sum(differ(old[i], new[i], OUTCOME) for i in both),
                  sum(differ(old[i], new[i], TEXT) for i in both),
                  sum(differ(old[i], new[i], VERDICT) for i in both)]
        totals = [t + c for t, c in zip(totals, counts)]
        print(f"{name[:-4]:<55} {counts[0]:>8} {counts[1]:>8} {counts[2]:>6} {counts[3]:>8}")
    print(f"{'all ' + str(len(shared)) + ' logs':<55} {totals[0]:>8} {totals[1]:>8} {totals[2]:>6} {totals[3]:>8}")
    return 1 if totals[1] else 0


if __name__ == "__main__":
    sys.exit(main())
