"""One attack under several noise modes, interleaved example by example, on the same sentences.

    PYTHONPATH=. ROBUSTSNN_RUNS=/work/main/runs .venv/bin/python benchmarks/noise_modes_interleaved.py \\
        --modes frozen,mean-20,crn-20 --num-examples 20 --results /tmp/crn-res
    .venv/bin/python -m robustsnn table --results /tmp/crn-res --out /tmp/crn-res/table.csv

Runs ``robustsnn attack`` (the API's :func:`~robustsnn.api.attack`, resuming) with one more
example for each mode in turn, so load from other processes hits every mode alike; the
attack resources are loaded once. The logs and records are the ordinary ones under
``--results`` (the table's ``s/ex`` is the attack alone, from the logs' ``seconds``); this
prints each mode's wall seconds, loading and the R-draw verdict included.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", default="frozen,mean-20,crn-20", help="comma-separated noise modes")
    parser.add_argument("--model", default="snn")
    parser.add_argument("--recipe", default="pwws")
    parser.add_argument("--num-examples", type=int, default=20)
    parser.add_argument("--first", type=int, default=1, help="start at this example count (resume)")
    parser.add_argument("--results", type=Path, required=True)
    args = parser.parse_args()

    from robustsnn.api import attack
    from robustsnn.noise import canonical
    from robustsnn.resources import AttackResources

    modes = [canonical(m) for m in args.modes.split(",")]
    resources = AttackResources()
    wall = dict.fromkeys(modes, 0.0)
    for n in range(args.first, args.num_examples + 1):
        for noise in modes:
            began = time.perf_counter()
            attack(args.model, args.recipe, noise=noise, num_examples=n, results=args.results,
                   resources=resources, log=lambda _: None)
            wall[noise] += time.perf_counter() - began
        print(f"{n} examples; load average {os.getloadavg()[0]:.2f}", flush=True)
    for noise, seconds in wall.items():
        print(f"{noise}: {seconds:.1f} s wall ({seconds / max(args.num_examples - args.first + 1, 1):.2f} s/ex)")


if __name__ == "__main__":
    main()
