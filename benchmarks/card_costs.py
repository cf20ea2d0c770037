"""What the committed standard evaluations cost: the attack time their logs recorded.

    .venv/bin/python benchmarks/card_costs.py                      # every card of standard-v1
    .venv/bin/python benchmarks/card_costs.py --runs sst2__snn     # also the runs of the matching cards

Where ``benchmarks/evaluation_cost.py`` projects a slice, this reads what full evaluations
took: per model card, the logged attack seconds of its runs against the model (the card's
``wall_seconds``; the surrogates' runs are shared by every model of a dataset and not in it),
in hours, per example and per prediction. With ``--runs PREFIX``, each run of the cards whose
file name starts with PREFIX, with its own seconds per example. Logged times are those of the
machine as it was during the run (other jobs beside it slow it); the cards' provenance says
which machine.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--results", type=Path, default=Path("results"))
    p.add_argument("--evaluation", default="standard-v1")
    p.add_argument("--runs", default=None, metavar="PREFIX", help="list the runs of cards whose file starts so")
    args = p.parse_args()

    from robustsnn.evaluation.leaderboard import load_cards
    from robustsnn.records.record import RunRecord

    print(f"{'card':<48} {'N':>4} {'runs':>4} {'hours':>6} {'s/ex':>7}")
    for card in load_cards(args.results / "benchmark" / "cards" / args.evaluation):
        path = card["_path"]
        n = int(card["examples"]["num_examples"])
        seconds = float(card["wall_seconds"])
        runs = card["attacks"]
        print(f"{path.stem:<48} {n:>4} {len(runs):>4} {seconds / 3600:6.2f} {seconds / max(n, 1):7.2f}")
        if args.runs and path.stem.startswith(args.runs):
            for run in runs:
                # The record beside the log, as the leaderboard finds it (evaluation/leaderboard.py).
                record_path = args.results / Path(run["log"]).with_suffix(".json")
                record = RunRecord.load(record_path)
                print(f"    {record_path.stem:<66} {float(record.metrics['seconds_per_example']):7.2f} s/ex")


if __name__ == "__main__":
    main()
