"""``robustsnn report accuracy``, ``robustsnn energy`` and ``robustsnn sweep``: the paper's
tables and figures from checkpoints on disk (results go to ``$ROBUSTSNN_RESULTS/paper`` and
``$ROBUSTSNN_RESULTS/sweeps``); ``robustsnn report site``: the static leaderboard site from
the attack run records; ``robustsnn report index``: ``results/README.md``, the index of every
derived table (:mod:`robustsnn.reports.index`); ``robustsnn report seeds``: the models' worst
cases over training seeds, from the cards."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..artifacts import FINETUNED, RUNS_VAR, RWE_PREFIX, SWEEP_NPC, TAILORED, example


def _datasets(text: str) -> list[str]:
    return [d.strip() for d in text.split(",") if d.strip()]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="tables of results from existing checkpoints")
    kinds = p.add_subparsers(dest="report", metavar="TABLE")
    kinds.required = True
    a = kinds.add_parser("accuracy", help="test accuracy of every Table 1 row (or Table 3 with --rwe) "
                                          "-> results/paper/accuracy.csv and .md")
    a.add_argument("--datasets", type=_datasets, default=None, metavar="A,B",
                   help="comma-separated datasets (default: all six, in the paper's order)")
    a.add_argument("--draws", type=int, default=None, metavar="R",
                   help="Poisson draws per SNN cell (default: each checkpoint's finetune.eval_draws)")
    a.add_argument("--runs", type=Path, default=None, help=f"runs root (default: {RUNS_VAR})")
    a.add_argument("--out-dir", type=Path, default=None,
                   help="where to write (default: $ROBUSTSNN_RESULTS/paper)")
    a.add_argument("--rwe", action="store_true",
                   help=f"the random-word-embedding ablation (Table 3; run folders <dataset>/{RWE_PREFIX}*) "
                        "-> results/paper/accuracy_rwe.csv and .md")
    a.add_argument("--update", action="store_true",
                   help="evaluate only --datasets and keep the other datasets' cells of the existing table, "
                        "each with the provenance it was measured with")
    a.set_defaults(func=cmd_report_accuracy)
    s = kinds.add_parser("site", help="a static, offline site: the standard-v1 leaderboard from the model cards, "
                                      "and the experiments (not ranked) from the run records "
                                      "-> results/site/index.html")
    s.add_argument("--results", type=Path, nargs="+", default=None, metavar="DIR",
                   help="folders of the experiments' run records, each searched recursively "
                        "(default: $ROBUSTSNN_RESULTS/attacks)")
    s.add_argument("--root", type=Path, default=None, metavar="DIR",
                   help="the results folder: benchmark/cards/standard-v1 (the leaderboard), benchmark/ (the "
                        "standard runs, always given run pages), paper/accuracy.csv, paper/energy.csv and "
                        "sweeps/*.png, shown when present (default: $ROBUSTSNN_RESULTS)")
    s.add_argument("--out", type=Path, default=None, metavar="DIR",
                   help="where to write the site (default: $ROBUSTSNN_RESULTS/site)")
    s.add_argument("--screenshot", type=Path, default=None, metavar="PNG",
                   help="also save a PNG of index.html as Chromium renders it (needs chromium and playwright)")
    s.set_defaults(func=cmd_report_site)
    i = kinds.add_parser("index", help="the index of every derived table: what it shows, where it comes from, "
                                       "the command that regenerates it, the networks it describes "
                                       "-> results/README.md")
    i.add_argument("--root", type=Path, default=None, metavar="DIR",
                   help="the results folder (default: $ROBUSTSNN_RESULTS)")
    i.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 when README.md is not what the command would write")
    i.set_defaults(func=cmd_report_index)
    d = kinds.add_parser("seeds", help="worst-case robust accuracy over training seeds (textcnn, tailored, snn-direct) "
                                       "and the SNN's paired differences per seed -> results/seeds.csv and .md")
    d.add_argument("--results", type=Path, default=None, metavar="DIR",
                   help="the results folder: its benchmark/cards/<evaluation>/ cards and the runs their logs name "
                        "(default: $ROBUSTSNN_RESULTS)")
    d.add_argument("--out", type=Path, default=None, help="CSV to write (default: <results>/seeds.csv)")
    d.add_argument("--evaluation", default="standard-v1", help="the evaluation whose cards are read "
                                                               "(default: standard-v1)")
    d.set_defaults(func=cmd_report_seeds)

    p = sub.add_parser("energy", help="FLOPs of the TextCNN vs synaptic operations of the SNN, energy "
                                      "(Table 5) -> results/paper/energy.csv and .md; spiking transformers "
                                      "-> results/paper/energy-spikformer.csv and .md")
    p.add_argument("checkpoints", nargs="+", type=Path, metavar="CHECKPOINT",
                   help="per dataset one textcnn or tailored checkpoint and one or more spiking ones (converted "
                        f"SNNs or spikformers), e.g. {example(TAILORED.relpath)} {example(FINETUNED.relpath)}")
    p.add_argument("--draws", type=int, default=None, metavar="R",
                   help="Poisson draws for rates and accuracy (default: the SNN's finetune.eval_draws; "
                        "the spikformer is deterministic: one pass)")
    p.add_argument("--split", default="test", choices=("train", "dev", "test"))
    p.add_argument("--time-steps", type=int, default=None, metavar="T",
                   help="simulate the SNNs for T steps instead of their recipe's (weights unchanged)")
    p.add_argument("--mac-pj", type=float, default=4.6, help="energy per float MAC in pJ (default 4.6)")
    p.add_argument("--ac-pj", type=float, default=0.9, help="energy per spike accumulate in pJ (default 0.9)")
    p.add_argument("--out", type=Path, default=None,
                   help="CSV to write (default: $ROBUSTSNN_RESULTS/paper/energy.csv); spikformer rows go to a "
                        "table of their own, <out stem>-spikformer.csv beside it (to --out itself when no converted "
                        "SNN is given; default $ROBUSTSNN_RESULTS/paper/energy-spikformer.csv)")
    p.add_argument("--update", action="store_true",
                   help="replace only the rows of the datasets measured now, keeping the other datasets' rows "
                        "of the existing table as the report that measured them wrote them")
    p.set_defaults(func=cmd_energy)

    p = sub.add_parser("sweep", help="accuracy and spikes against T, threshold, beta or neurons per class "
                                     "(Figures 3 and 5) -> results/sweeps/<dataset>-<param>.csv and .png")
    p.add_argument("param", choices=("time_steps", "threshold", "beta", "neurons_per_class"))
    p.add_argument("checkpoint", type=Path, nargs="?", default=None,
                   help="a converted or fine-tuned spiking checkpoint (time_steps, threshold, beta)")
    p.add_argument("--values", default=None, metavar="V1,V2",
                   help="comma-separated values (default: a small grid per parameter)")
    p.add_argument("--draws", type=int, default=2, metavar="R", help="Poisson draws per point (default 2)")
    p.add_argument("--split", default="test", choices=("train", "dev", "test"))
    p.add_argument("--out-dir", type=Path, default=None,
                   help="where to write (default: $ROBUSTSNN_RESULTS/sweeps)")
    p.add_argument("--config", type=Path, default=None,
                   help="neurons_per_class: the experiment recipe to retrain from, e.g. sst2 (or a file)")
    p.add_argument("--retrain", action="store_true",
                   help="neurons_per_class: train a tailored net per value (minutes to hours; resumable, "
                        f"one run folder per value under <runs>/<dataset>/{SWEEP_NPC}/)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="neurons_per_class: recipe override for each retraining, e.g. train.max_epochs=5")
    p.add_argument("--finetune-epochs", type=int, default=0,
                   help="neurons_per_class: fine-tune each converted net this many epochs (default 0: "
                        "evaluate the converted net)")
    p.set_defaults(func=cmd_sweep)


def cmd_report_accuracy(args: argparse.Namespace) -> int:
    from ..reports.accuracy import accuracy_report

    accuracy_report(args.datasets, args.runs, args.out_dir, args.draws, args.rwe, args.update)
    return 0


def cmd_report_site(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..paths import results_dir
    from ..reports.site import browser_problem, build_site, screenshot

    if args.screenshot is not None:
        problem = browser_problem()  # before building: a refused command changes no file
        if problem:
            raise UserError(f"--screenshot: {problem}")
    out = args.out or results_dir() / "site"
    summary = build_site(args.results or [results_dir() / "attacks"], out, root=args.root)
    print(f"wrote {summary['pages']} pages, {summary['cards']} standard-v1 cards ({summary['ranked']} ranked), "
          f"{summary['models']} pooled model cards and {summary['plots']} plots from {summary['runs']} run records "
          f"to {out} (open {out / 'index.html'})")
    if args.screenshot is not None:
        screenshot(out / "index.html", args.screenshot)
        print(f"wrote {args.screenshot}")
    return 0


def cmd_report_index(args: argparse.Namespace) -> int:
    import sys

    from ..paths import results_dir
    from ..reports.index import write_index

    path, current = write_index(args.root or results_dir(), check=args.check)
    if args.check:
        if not current:
            print(f"robustsnn: {path} is not up to date; run robustsnn report index", file=sys.stderr)
            return 1
        print(f"{path} is up to date")
    else:
        print(f"{path} was up to date" if current else f"wrote {path}")
    return 0


def cmd_report_seeds(args: argparse.Namespace) -> int:
    from ..evaluation.standard import get_evaluation
    from ..paths import results_dir
    from ..reports.seeds import write_seed_report

    evaluation = get_evaluation(args.evaluation).name
    root = args.results or results_dir()
    out = args.out or root / "seeds.csv"
    rows = write_seed_report(root / "benchmark" / "cards" / evaluation, out, evaluation, root=root)
    seeds = sorted({r["seed"] for r in rows if r["seed"] != "all"})
    print(f"wrote {out} and {out.with_suffix('.md')} ({len(seeds)} training seeds: {', '.join(seeds) or 'none'})")
    return 0


def cmd_energy(args: argparse.Namespace) -> int:
    from ..paths import ENERGY_CSV, results_dir
    from ..reports.energy import (
        COLUMNS,
        SPIKFORMER_COLUMNS,
        energy_table,
        merge_rows,
        read_table,
        split_rows,
        write_energy,
        write_spikformer_energy,
    )

    rows = energy_table(args.checkpoints, args.draws, args.split, args.mac_pj, args.ac_pj, args.time_steps)
    converted, spikformer = split_rows(rows)
    out = args.out or results_dir() / ENERGY_CSV
    # The spiking transformers' table of its own (other ops, other columns): beside the
    # converted one, or --out itself when only spiking transformers were measured.
    own = out if args.out is not None and not converted else out.with_name(f"{out.stem}-spikformer{out.suffix}")
    tables = [(part, path, columns, write) for part, path, columns, write in (
        (converted, out, COLUMNS, write_energy), (spikformer, own, SPIKFORMER_COLUMNS, write_spikformer_energy))
        if part]
    # --update: every table read (and a malformed one refused) before any is written.
    kept = [read_table(path, columns) if args.update else [] for _, path, columns, _ in tables]
    for (part, path, _, write), old in zip(tables, kept):
        table = merge_rows(part, old) if args.update else part
        write(table, path, path.with_suffix(".md"), {r["dataset"] for r in part} if args.update else None)
        kept_rows = len(table) - len(part)
        print(f"wrote {path} and {path.with_suffix('.md')}"
              + (f" ({len(part)} rows measured, {kept_rows} kept)" if kept_rows else ""))
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..paths import SWEEPS_DIR, results_dir
    from ..reports.sweep import parse_values, sweep_constants, sweep_neurons_per_class, write_sweep

    values = parse_values(args.param, args.values)
    if args.draws < 1:
        raise UserError("--draws must be at least 1")
    out_dir = args.out_dir or results_dir() / SWEEPS_DIR
    if args.param == "neurons_per_class":
        if not args.retrain or args.config is None:
            raise UserError("neurons_per_class changes the network: give --config RECIPE and --retrain "
                            "(trains, converts and evaluates one tailored net per value)")
        if args.checkpoint is not None:
            raise UserError("neurons_per_class retrains from --config; drop the checkpoint argument")
        rows = sweep_neurons_per_class(args.config, values, args.draws, args.overrides, args.finetune_epochs,
                                       args.split)
        note = "retrained per value, " + (f"fine-tuned {args.finetune_epochs} epochs" if args.finetune_epochs
                                          else "converted, not fine-tuned")
    else:
        if args.checkpoint is None:
            raise UserError(f"sweeping {args.param} needs a spiking checkpoint, e.g. "
                            + example(FINETUNED.relpath))
        if args.retrain or args.overrides or args.config or args.finetune_epochs:
            raise UserError(f"{args.param} is swept without retraining; --retrain, --config, --set and "
                            "--finetune-epochs apply to neurons_per_class only")
        rows = sweep_constants(args.checkpoint, args.param, values, args.draws, args.split)
        note = f"no retraining, {args.checkpoint.parent.name}/{args.checkpoint.name}"
    csv_path, png_path = write_sweep(rows, args.param, out_dir, note, args.split)
    print(f"wrote {csv_path} and {png_path}")
    return 0
