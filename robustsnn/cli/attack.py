"""``robustsnn attack``, ``robustsnn sweep-attack``, ``robustsnn campaign`` and ``robustsnn table``:
argument parsing and printing over :mod:`robustsnn.api` (``attack``, ``sweep_attack``,
``run_campaign``, ``table``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

_CAMPAIGN_HELP = ("campaign for the shared constraints and examples, a shipped name or a file "
                  "(default: the paper's settings, as in the shipped 'paper', under the name 'adhoc')")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attack", help="attack one model with one attack recipe")
    _cell(p, _CAMPAIGN_HELP)
    # --k is gone (the draws are written in the mode); hidden, so passing it is a one-line error.
    p.add_argument("--k", dest="removed_k", nargs="?", const="", default=None, help=argparse.SUPPRESS)
    _common(p)
    _checkpoint(p)
    p.set_defaults(func=cmd_attack)

    _register_sweep(sub)

    p = sub.add_parser("campaign", help="run a whole campaign grid (datasets x models x recipes x noise)")
    p.add_argument("file", type=Path, help="campaign: a shipped name (e.g. paper; robustsnn list campaigns) or a file")
    _common(p)
    p.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: attack examples one after another in this process (default); ray: spread "
                        "them over Ray actors (pip install -e '.[ray]'); the logs are the same either way")
    p.add_argument("--address", default=None,
                   help="with --executor ray: join the cluster at 'auto' or 'ray://host:port' "
                        "(default: start a local Ray runtime)")
    p.add_argument("--workers", type=int, default=None,
                   help="with --executor ray: actors to start, one CPU each (default: one per CPU)")
    p.set_defaults(func=cmd_campaign)

    p = sub.add_parser("transfer", help="replay the adversarial texts of a finished attack run against "
                       "another model (no search)")
    p.add_argument("--source", required=True, help="model the source run attacked, e.g. tailored")
    p.add_argument("--recipe", required=True, help="attack recipe of the source run, e.g. pwws")
    p.add_argument("--to", dest="target", required=True, help="model to replay them against, e.g. snn")
    p.add_argument("--dataset", default=None, help="dataset (default: the campaign's first)")
    p.add_argument("--campaign", type=Path, default=None,
                   help="campaign the source run belongs to, a shipped name or a file (default: 'adhoc', the "
                        "paper's settings)")
    p.add_argument("--noise", default=None,
                   help="spike encoding of the target (stochastic models), or the draws of a randomized defense")
    p.add_argument("--source-noise", default=None, help="spike encoding the source run used, if stochastic")
    p.add_argument("--defense", default="none", help="defense around the target (default: none)")
    _common(p)
    p.set_defaults(func=cmd_transfer)

    p = sub.add_parser("table", help="aggregate attack run records into results/paper/table2.csv and .md")
    p.add_argument("--results", type=Path, nargs="+", default=None,
                   help="folders of run records, searched recursively (default: $ROBUSTSNN_RESULTS/attacks)")
    p.add_argument("--out", type=Path, default=None,
                   help="CSV to write (default: $ROBUSTSNN_RESULTS/paper/table2.csv, or adaptive/adaptive.csv "
                        "with --worst-case)")
    p.add_argument("--worst-case", action="store_true",
                   help="the adaptive-evaluation tables instead: worst-case robust accuracy per model over "
                        "every attack in the results, success rate against draws per query, transfer rates, "
                        "matched-subset success rates")
    p.add_argument("--recount", action="store_true",
                   help="for logs from before the candidate counts (or the budget outcome), recover which "
                        "failures were unattackable from each cell's transformation (no model is queried; loads "
                        "the attack resources); not with --worst-case")
    p.set_defaults(func=cmd_table)

    p = sub.add_parser("compress-logs", help="gzip the logs of finished runs (x.csv -> x.csv.gz); every "
                                            "reader takes either, and resuming restores the plain file")
    p.add_argument("results", type=Path, nargs="+", metavar="DIR",
                   help="folders of run records, searched recursively, e.g. results/attacks/paper")
    p.add_argument("--min-kb", type=int, default=0, metavar="KB",
                   help="leave logs smaller than this alone (default 0: every finished log)")
    p.add_argument("--dry-run", action="store_true", help="list what would be compressed")
    p.set_defaults(func=cmd_compress_logs)

    p = sub.add_parser("migrate-records", help="rewrite run records an older robustsnn wrote in the current "
                                              "schema (once; records already current are left alone)")
    p.add_argument("results", type=Path, nargs="+", metavar="DIR",
                   help="folders of run records, searched recursively, e.g. results/attacks")
    p.add_argument("--dry-run", action="store_true", help="list what would be migrated")
    p.set_defaults(func=cmd_migrate_records)

    p = sub.add_parser("migrate-digests", help="make logs, run records and cards that name a checkpoint by "
                                              "its file's sha256 name it by its content digest (model_sha256), "
                                              "for the checkpoints at hand (once; verified, never guessed)")
    p.add_argument("results", type=Path, nargs="+", metavar="DIR",
                   help="folders of logs, records and cards, searched recursively, e.g. results/attacks")
    p.add_argument("--runs", type=Path, default=None,
                   help="where the checkpoints are (default: $ROBUSTSNN_RUNS): a legacy digest is mapped only "
                        "when a checkpoint file there hashes to it")
    p.add_argument("--dry-run", action="store_true", help="list what would be migrated; write nothing")
    p.set_defaults(func=cmd_migrate_digests)


def _cell(p: argparse.ArgumentParser, campaign_help: str) -> None:
    """The arguments naming one attack cell (``attack`` and ``sweep-attack``)."""
    p.add_argument("--model", required=True, help="registered model: textcnn, tailored, snn, ... "
                   "(robustsnn list models)")
    p.add_argument("--recipe", required=True,
                   help="attack recipe: textfooler, textbugger, bert-attack, pwws, gradient-wir, "
                        "hotflip, hard-label")
    p.add_argument("--dataset", default=None, help="dataset (default: the campaign's first, else sst2)")
    p.add_argument("--campaign", type=Path, default=None, help=campaign_help)
    p.add_argument("--defense", default="none", help="registered defense (default: none)")
    p.add_argument("--noise", default=None,
                   help="spike encoding of a stochastic model: fresh, frozen, mean-<k> (the rates of "
                        "k fresh draws averaged per query, e.g. mean-20), crn-<k> (the rates of k frozen "
                        "draws averaged, the same k for every query, e.g. crn-20) or direct (values as constant "
                        "input currents, no sampling); under a randomized defense (safer) also how the "
                        "defense draws: fresh, frozen or mean-<k>; default: the campaign's first "
                        "noise mode (fresh without --campaign)")


def _checkpoint(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="checkpoint to attack instead of the one built for the dataset")


def _register_sweep(sub: argparse._SubParsersAction) -> None:
    from ..campaign.sweep import KNOBS

    p = sub.add_parser(
        "sweep-attack", help="attack one model with one recipe at each value of one threat knob "
                             "(robustness curves)",
        description="Run the cell of 'robustsnn attack' once per value of one numeric threat knob, for "
                    "curves of accuracy under attack against the modification rate or the query budget. "
                    "Each value runs as the campaign '<campaign name>-sweep-<knob leaf>-<value>' (e.g. "
                    "adhoc-sweep-max_modification_rate-0.2), with its own folder of logs and records under "
                    "--results, and resumes on its own; the site plots max_modification_rate and "
                    "query_budget sweeps.")
    _cell(p, _CAMPAIGN_HELP + "; each value runs as campaign '<name>-sweep-<knob leaf>-<value>'")
    # No argparse choices: a wrong knob is a one-line error like every other user mistake.
    p.add_argument("--knob", required=True, metavar="KNOB",
                   help=f"the threat key to vary: {', '.join(KNOBS)}")
    p.add_argument("--values", required=True,
                   help="its values, comma-separated, e.g. 0.05,0.1,0.2,0.3 (each checked before any runs)")
    _common(p)
    _checkpoint(p)
    p.set_defaults(func=cmd_sweep_attack)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--num-examples", type=int, default=None, help="attack the first N selected examples")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a campaign key, e.g. --set threat.candidates=50 (repeatable)")
    p.add_argument("--results", type=Path, default=None,
                   help="where run logs and records go (default: $ROBUSTSNN_RESULTS/attacks)")


def _check_removed_k(args: argparse.Namespace) -> None:
    """``--k N`` was the number of draws of ``--noise mean-k``; now it is ``--noise mean-N``."""
    from ..errors import UserError

    k = getattr(args, "removed_k", None)
    if k is not None:
        draws = k if k.isascii() and k.isdigit() and int(k) > 0 else "20"
        raise UserError(f"--k is gone: write the number of draws in the mode, e.g. --noise mean-{draws}")


def _check_num_examples(n: int | None) -> None:
    from ..errors import UserError

    if n is not None and n < 1:
        raise UserError("--num-examples must be positive")


def _print_record(record: Any) -> None:
    print(_record_line(record))


def _record_line(record: Any) -> str:
    """A run record's summary in one line (what ``robustsnn attack`` prints)."""
    m, cell = record.metrics, record.cell
    line = (f"{cell.dataset} {cell.model} ({cell.noise}, defense "
            f"{cell.defense}) vs {cell.recipe} [{record.protocol}]: "
            f"N={m['n']} Cln={100 * m['clean_accuracy']:.1f} Boa={100 * m['accuracy_under_attack']:.1f} "
            f"Suc={100 * m['attack_success_rate']:.1f} s/ex={m['seconds_per_example']:.2f}")
    if m.get("unattackable"):  # never read as robustness: say how many had no candidate
        pct = lambda x: "-" if x != x else f"{100 * x:.1f}"  # noqa: E731  (nan: none attackable)
        line += (f" | unattackable {m['unattackable']} (Boa_a={pct(m['accuracy_under_attack_attackable'])} "
                 f"Suc_a={pct(m['attack_success_rate_attackable'])})")
    if m.get("budget_exhausted"):  # failed as TextAttack counts them, but the search did not finish
        line += f" | budget ran out {m['budget_exhausted']}"
    if record.verdict is not None:
        v = record.verdict
        line += (f" | over {v['draws']} draws: Cln={100 * v['clean_accuracy']:.1f} "
                 f"Boa={100 * v['accuracy_under_attack']:.1f} Suc={100 * v['attack_success_rate']:.1f}")
    return line


def cmd_attack(args: argparse.Namespace) -> int:
    from ..api import attack

    _check_removed_k(args)
    _check_num_examples(args.num_examples)
    record = attack(args.model, args.recipe, dataset=args.dataset, noise=args.noise,
                    num_examples=args.num_examples, campaign=args.campaign, defense=args.defense,
                    results=args.results, checkpoint=args.checkpoint, overrides=args.overrides)
    _print_record(record)
    return 0


def cmd_campaign(args: argparse.Namespace) -> int:
    from ..api import run_campaign

    _check_num_examples(args.num_examples)
    run_campaign(args.file, results=args.results, overrides=args.overrides, num_examples=args.num_examples,
                 on_record=_print_record, executor=args.executor, address=args.address, workers=args.workers)
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from ..analysis.table import render_markdown
    from ..api import table
    from ..paths import ADAPTIVE_CSV, TABLE2_CSV, results_dir

    if args.worst_case:
        from ..api import worst_case_table
        from ..errors import UserError

        if args.recount:  # accepted and ignored would say it did something
            raise UserError("--recount applies to the attack table; the --worst-case tables do not depend on "
                            "which failures were unattackable (run them apart)")

        out = args.out or results_dir() / ADAPTIVE_CSV
        worst_case_table(args.results, out)
        print(out.with_suffix(".md").read_text(encoding="utf-8"))
        print(f"wrote {out.with_suffix('.md')} and its CSV tables beside it")
        return 0
    out = args.out or results_dir() / TABLE2_CSV
    rows = table(args.results, out, recount=args.recount)
    print(render_markdown(rows))
    print(f"\nwrote {out} and {out.with_suffix('.md')} ({len(rows)} rows)")
    return 0


def cmd_compress_logs(args: argparse.Namespace) -> int:
    from ..errors import UserError
    from ..records.find import compress_finished_logs

    if args.min_kb < 0:
        raise UserError("--min-kb must not be negative")
    count, before, after = compress_finished_logs(args.results, 1024 * args.min_kb, args.dry_run)
    if not args.dry_run:
        print(f"compressed {count} logs: {before:,} -> {after:,} bytes")
    return 0


def cmd_migrate_records(args: argparse.Namespace) -> int:
    from ..records.find import migrate_records

    migrated, current = migrate_records(args.results, args.dry_run)
    print(f"{'would migrate' if args.dry_run else 'migrated'} {migrated} run records; {current} already current")
    return 0


def cmd_migrate_digests(args: argparse.Namespace) -> int:
    """Exit 0 when every legacy digest found was verified (or none was found), 1 when some
    files were left as they are (an unverifiable digest, a log a run holds, a card whose
    new name is taken)."""
    import sys

    from ..campaign.digests import migrate_digests

    done = migrate_digests(args.results, args.runs, args.dry_run)
    print(f"{'would migrate' if args.dry_run else 'migrated'} {len(done.migrated)} files with "
          f"{len(done.used)} verified digests; {done.current} already current")
    left = sum(len(files) for files in done.unverified.values()) + len(done.in_use) + len(done.conflicts)
    if left:
        print(f"robustsnn: {left} files left as they are ({len(done.unverified)} digests with no checkpoint "
              "file at hand; see above)", file=sys.stderr)
        return 1
    return 0


def cmd_transfer(args: argparse.Namespace) -> int:
    from ..api import transfer

    _check_num_examples(args.num_examples)
    _print_record(transfer(args.source, args.recipe, args.target, dataset=args.dataset, noise=args.noise,
                           source_noise=args.source_noise, campaign=args.campaign, results=args.results,
                           overrides=args.overrides, num_examples=args.num_examples,
                           defense=args.defense))
    return 0


def cmd_sweep_attack(args: argparse.Namespace) -> int:
    from ..api import sweep_attack
    from ..campaign.sweep import label, record_value, summary_table

    _check_num_examples(args.num_examples)
    # The cell is the same for every value: the line says which value it ran.
    on_record = lambda r: print(f"{label(args.knob, record_value(args.knob, r))}: {_record_line(r)}")  # noqa: E731
    records = sweep_attack(args.model, args.recipe, args.knob, args.values, dataset=args.dataset,
                           noise=args.noise, campaign=args.campaign, results=args.results,
                           overrides=args.overrides, num_examples=args.num_examples, defense=args.defense,
                           checkpoint=args.checkpoint, on_record=on_record)
    print()
    print(summary_table(args.knob, records))
    return 0
