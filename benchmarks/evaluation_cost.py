"""What one standard evaluation costs on this machine: measured on a slice, projected to the
evaluation's example set.

    .venv/bin/python benchmarks/evaluation_cost.py snn --dataset sst2 --num-examples 5
    .venv/bin/python benchmarks/evaluation_cost.py snn --dataset sst2 --noise direct --num-examples 10

Runs ``robustsnn benchmark`` on the first N examples of the evaluation's draw into a
temporary results folder (nothing under results/ is touched) and prints, per run of the
plan, the logged attack seconds per example and the projection to the full example set
(500 for standard-v1), with the surrogates' shared runs listed apart (they are paid once
per dataset, not once per model). The projection is linear in the examples: per-example
cost varies with sentence length, so a slice of 5 is a rough figure and 20 a better one.
Needs the dataset's checkpoints (``robustsnn build``) and $ROBUSTSNN_DATA / $ROBUSTSNN_RESOURCES.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model")
    p.add_argument("--dataset", default="sst2")
    p.add_argument("--noise", default=None, choices=("poisson", "direct"))
    p.add_argument("--defense", default="none")
    p.add_argument("--num-examples", type=int, default=5)
    p.add_argument("--evaluation", default="standard-v1")
    args = p.parse_args()

    from robustsnn.campaign.runner import cell_paths
    from robustsnn.evaluation.plan import plan, target_of
    from robustsnn.evaluation.run import benchmark
    from robustsnn.evaluation.standard import get_evaluation
    from robustsnn.records.record import RunRecord

    spec = get_evaluation(args.evaluation)
    with tempfile.TemporaryDirectory(prefix="evaluation-cost-") as tmp:
        began = time.perf_counter()
        benchmark(args.model, args.dataset, defense=args.defense, noise=args.noise, evaluation=spec.name,
                  num_examples=args.num_examples, results=Path(tmp), log=lambda _: None)
        wall = time.perf_counter() - began
        target = target_of(args.model, args.dataset, args.defense, args.noise)
        rows = []
        for step in plan(spec, target, args.num_examples):
            path = cell_paths(Path(tmp) / "benchmark", step.campaign, step.cell)[1]
            # A run the evaluation skips (a white-box attack on a model without gradients)
            # leaves no record: listed as skipped, costing nothing.
            seconds = float(RunRecord.load(path).metrics["seconds_per_example"]) if path.is_file() else None
            rows.append((step, seconds))
    scale = spec.num_examples
    print(f"{spec.name}: {target.label} on {target.dataset}, measured on {args.num_examples} examples "
          f"({wall:.0f} s wall, loading included)")
    print(f"{'run':<58} {'kind':<24} {'s/ex':>7} {'h at ' + str(scale):>9}")
    totals = {True: 0.0, False: 0.0}
    for step, seconds in rows:
        who = "" if step.on_target else " (surrogate, shared)"
        if seconds is None:
            print(f"{step.cell.key + who:<58} {step.kind:<24} {'skipped':>7}")
            continue
        totals[step.on_target] += seconds
        print(f"{step.cell.key + who:<58} {step.kind:<24} {seconds:7.2f} {seconds * scale / 3600:9.2f}")
    print(f"runs against the model: {totals[True]:.2f} s/ex -> {totals[True] * scale / 3600:.2f} h for {scale}")
    print(f"surrogate runs (once per dataset): {totals[False]:.2f} s/ex -> {totals[False] * scale / 3600:.2f} h")


if __name__ == "__main__":
    main()
