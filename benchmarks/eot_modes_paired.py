"""Is ``crn-<k>`` as strong an attack as ``mean-<k>``? Paired over the standard evaluation's examples.

    ROBUSTSNN_RUNS=/work/main/runs .venv/bin/python benchmarks/eot_modes_paired.py \\
        --dataset sst2 --recipe pwws --modes crn-20 --num-examples 250 --study runs/eot-study

The standard evaluation attacks a Poisson SNN with expectation over draws, ``mean-20``:
every query averages 20 fresh draws. ``crn-20`` averages 20 *frozen* draws instead (common
random numbers: the same 20 input trains for every query of a search), which lets the
incremental simulator reuse the spikes of untouched words. It estimates the same expected
output, with noise shared by every candidate instead of fresh per query; whether that makes
a stronger or weaker search is an empirical question, answered here on the evaluation's
own examples and against the deployed model (the R-draw majority).

The same question for k, and for a randomized defense: ``--modes mean-5,mean-100`` against
the evaluation's ``mean-20`` says whether 20 draws per query is where the attack's strength
levels off, e.g. for SAFER around the TextCNN:

    .venv/bin/python benchmarks/eot_modes_paired.py --model textcnn --defense safer \
        --dataset sst2 --modes mean-100,mean-5 --num-examples 100 --study runs/eot-safer

This runs the ``--modes`` cells (resumable, logs under ``--study``) on the first
``--num-examples`` examples of the evaluation's set (seed and selection as the
evaluation), then pairs each with the evaluation's own ``mean-<k>`` log under
``--reference`` (default ``results/benchmark``: the committed standard runs) over the
examples both have logged, and prints for each: robust accuracy under the R-draw verdict
(examples that either run never attacked are left out and counted), the exact McNemar
comparison, and the attack's seconds per example from the logs. The seconds of the
reference were measured in another process at another time: compare them as a rough
ratio only.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="snn")
    parser.add_argument("--defense", default="none", help="e.g. safer: the k of a randomized defense's draws")
    parser.add_argument("--dataset", default="sst2")
    parser.add_argument("--recipe", default="pwws")
    parser.add_argument("--modes", default="crn-20", help="comma-separated noise modes to compare with mean-<k>")
    parser.add_argument("--num-examples", type=int, default=100)
    parser.add_argument("--study", type=Path, required=True, help="where the study's own runs are logged")
    parser.add_argument("--reference", type=Path, default=Path("results/benchmark"),
                        help="results folder holding the evaluation's mean-<k> run")
    parser.add_argument("--evaluation", default="standard-v1")
    parser.add_argument("--skip-runs", action="store_true", help="only compare what is logged")
    args = parser.parse_args()

    from robustsnn.analysis.worst_case import load_runs, never_attacked
    from robustsnn.campaign.runner import run_cell
    from robustsnn.campaign.spec import Cell
    from robustsnn.evaluation.plan import campaign_for, target_of
    from robustsnn.evaluation.standard import get_evaluation
    from robustsnn.noise import canonical
    from robustsnn.records.log import read_log
    from robustsnn.stats import paired_comparison, wilson_interval

    spec = get_evaluation(args.evaluation)
    target = target_of(args.model, args.dataset, args.defense)
    campaign = campaign_for(spec, target, "shared-swap", args.num_examples, (args.model,))
    modes = [canonical(m) for m in args.modes.split(",")]
    reference_mode = f"mean-{spec.eot_draws}"
    if not args.skip_runs:
        for mode in modes:
            run_cell(campaign, Cell(args.dataset, args.model, args.defense, args.recipe, mode),
                     args.study / "benchmark")

    def pick(root: Path, mode: str):  # the one run of this cell under root
        found = [r for r in load_runs(root) if r.dataset == args.dataset and r.model == args.model
                 and r.defense == args.defense and r.recipe == args.recipe and r.noise == mode
                 and r.name.startswith(f"{args.evaluation}-{args.dataset}/")]
        if len(found) != 1:
            raise SystemExit(f"expected one {args.recipe}/{mode} run under {root}, found {len(found)}")
        return found[0]

    def seconds(run) -> dict[int, float]:
        return {int(row["index"]): float(row["seconds"]) for row in read_log(run.record.log_path)}

    reference = pick(args.reference, reference_mode)
    ref_seconds = seconds(reference)
    for mode in modes:
        run = pick(args.study / "benchmark", mode)
        shared = sorted(set(run.examples) & set(reference.examples))
        kept = [i for i in shared if not never_attacked(run, run.examples[i])
                and not never_attacked(reference, reference.examples[i])]
        a = [run.examples[i].final_correct for i in kept]
        b = [reference.examples[i].final_correct for i in kept]
        if not kept:
            print(f"{mode}: no example logged by both runs yet")
            continue
        own_seconds = seconds(run)
        ra, rb = sum(a), sum(b)
        lo_a, hi_a = wilson_interval(ra, len(kept))
        lo_b, hi_b = wilson_interval(rb, len(kept))
        comparison = paired_comparison(a, b)
        print(f"{args.dataset} {args.recipe}: {mode} vs {reference_mode} on {len(kept)} examples "
              f"({len(shared) - len(kept)} of {len(shared)} left out: never attacked by one of them)")
        print(f"  robust accuracy under the {spec.verdict_draws}-draw verdict (lower = stronger attack):")
        print(f"    {mode:>10}: {100 * ra / len(kept):5.1f}%  [{100 * lo_a:.1f}, {100 * hi_a:.1f}]")
        print(f"    {reference_mode:>10}: {100 * rb / len(kept):5.1f}%  [{100 * lo_b:.1f}, {100 * hi_b:.1f}]")
        print(f"  paired: {comparison.verdict(mode, reference_mode)}")
        print(f"  only {mode} fooled: {comparison.c}, only {reference_mode} fooled: {comparison.b}")
        s_a = sum(own_seconds[i] for i in shared) / len(shared)
        s_b = sum(ref_seconds[i] for i in shared) / len(shared)
        print(f"  attack seconds per example (logs): {mode} {s_a:.2f}, {reference_mode} {s_b:.2f} "
              f"(ratio {s_b / s_a:.1f}x; measured in different runs)")


if __name__ == "__main__":
    main()
