"""``robustsnn attack``, ``robustsnn campaign`` and ``robustsnn table``."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("attack", help="attack one model with one attack recipe")
    p.add_argument("--model", required=True, help="registered model: textcnn, tailored, snn, ... "
                   "(robustsnn list models)")
    p.add_argument("--recipe", required=True, help="attack recipe: textfooler, textbugger, bert-attack, pwws")
    p.add_argument("--dataset", default=None, help="dataset (default: the campaign's first, else sst2)")
    p.add_argument("--campaign", type=Path, default=None,
                   help="campaign file for the shared constraints and examples (default: the paper's "
                        "settings, as in attacks/paper.toml, under the name 'adhoc')")
    p.add_argument("--defense", default="none", help="registered defense (default: none)")
    p.add_argument("--noise", default=None,
                   help="SNN spike encoding: fresh, frozen or mean-k (default: fresh)")
    p.add_argument("--k", type=int, default=20, help="draws averaged per query for --noise mean-k")
    _common(p)
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="checkpoint to attack instead of the one built for the dataset")
    p.set_defaults(func=cmd_attack)

    p = sub.add_parser("campaign", help="run a whole campaign grid (datasets x models x recipes x noise)")
    p.add_argument("file", type=Path, help="campaign file, e.g. attacks/paper.toml")
    _common(p)
    p.set_defaults(func=cmd_campaign)

    p = sub.add_parser("table", help="aggregate attack run records into results/table2.csv and .md")
    p.add_argument("--results", type=Path, nargs="+", default=None,
                   help="folders of run records, searched recursively (default: $ROBUSTSNN_RESULTS/attacks)")
    p.add_argument("--out", type=Path, default=None, help="CSV to write (default: $ROBUSTSNN_RESULTS/table2.csv)")
    p.set_defaults(func=cmd_table)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--num-examples", type=int, default=None, help="attack the first N selected examples")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a campaign key, e.g. --set threat.candidates=50 (repeatable)")
    p.add_argument("--results", type=Path, default=None,
                   help="where run logs and records go (default: $ROBUSTSNN_RESULTS/attacks)")


def _results(path: Path | None) -> Path:
    from ..paths import results_dir

    return path or results_dir() / "attacks"


def _campaign(file: Path | None, overrides: list[str], num_examples: int | None):
    from ..attack.campaign import campaign_from_dict, load_campaign, with_examples
    from ..errors import UserError

    if num_examples is not None and num_examples < 1:
        raise UserError("--num-examples must be positive")
    campaign = (load_campaign(file, overrides) if file
                else campaign_from_dict({"campaign": {"name": "adhoc"}}, overrides, source="(defaults)"))
    return with_examples(campaign, num_examples)


def _noise(args: argparse.Namespace, stochastic: bool, campaign) -> str:
    from ..attack.campaign import NOISE_NONE, parse_noise
    from ..errors import UserError

    if not stochastic:
        if args.noise not in (None, NOISE_NONE):
            raise UserError(f"model '{args.model}' is deterministic; --noise applies to stochastic models")
        return NOISE_NONE
    noise = args.noise or campaign.campaign.noise[0]
    if noise == "mean-k":
        noise = f"mean-{args.k}"
    parse_noise(noise, campaign.campaign.seed)  # validates, naming the mode
    return noise


def _print_record(record: dict) -> None:
    m = record["metrics"]
    line = (f"{record['cell']['dataset']} {record['cell']['model']} ({record['cell']['noise']}, defense "
            f"{record['cell']['defense']}) vs {record['cell']['recipe']} [{record['protocol']}]: "
            f"N={m['n']} Cln={100 * m['clean_accuracy']:.1f} Boa={100 * m['accuracy_under_attack']:.1f} "
            f"Suc={100 * m['attack_success_rate']:.1f} s/ex={m['seconds_per_example']:.2f}")
    if "verdict" in record:
        v = record["verdict"]
        line += (f" | over {v['draws']} draws: Cln={100 * v['clean_accuracy']:.1f} "
                 f"Boa={100 * v['accuracy_under_attack']:.1f} Suc={100 * v['attack_success_rate']:.1f}")
    print(line)


def cmd_attack(args: argparse.Namespace) -> int:
    from ..attack.campaign import Cell
    from ..attack.recipes import RECIPES
    from ..attack.runner import run_cell
    from ..data.registry import get_dataset_spec
    from ..zoo import MODELS

    campaign = _campaign(args.campaign, args.overrides, args.num_examples)
    dataset = get_dataset_spec(args.dataset or campaign.campaign.datasets[0]).name
    entry = MODELS.get(args.model)
    RECIPES.entry(args.recipe)
    if args.defense != "none":
        from ..defenses import DEFENSES

        DEFENSES.entry(args.defense)
    cell = Cell(dataset, args.model, args.defense, args.recipe, _noise(args, entry.stochastic, campaign))
    record = run_cell(campaign, cell, _results(args.results), checkpoint=args.checkpoint)
    _print_record(record)
    return 0


def cmd_campaign(args: argparse.Namespace) -> int:
    from ..attack.campaign import cells
    from ..attack.runner import run_cell

    from ..resources.offline import AttackResources

    campaign = _campaign(args.file, args.overrides, args.num_examples)
    grid = cells(campaign)
    print(f"campaign {campaign.campaign.name}: {len(grid)} runs, {campaign.examples.num_examples} examples each")
    resources = AttackResources()  # counter-fitted vectors and masked LM, loaded once
    for cell in grid:
        _print_record(run_cell(campaign, cell, _results(args.results), resources=resources))
    return 0


def cmd_table(args: argparse.Namespace) -> int:
    from ..attack.table import render_markdown, write_table
    from ..paths import results_dir

    out = args.out or results_dir() / "table2.csv"
    rows = write_table(args.results or [_results(None)], out, out.with_suffix(".md"))
    print(render_markdown(rows))
    print(f"\nwrote {out} and {out.with_suffix('.md')} ({len(rows)} rows)")
    return 0
