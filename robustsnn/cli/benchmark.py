"""``robustsnn benchmark``: the standard adaptive evaluation of one model or defense."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("benchmark", help="the standard adaptive evaluation of one model (standard-v1): its "
                                         "worst case over an attack ensemble, with intervals and flags, "
                                         "as a model card")
    p.add_argument("model", help="registered model (robustsnn list models), e.g. textcnn, tailored, snn")
    p.add_argument("--dataset", required=True, help="registered dataset, e.g. sst2, mr")
    p.add_argument("--defense", default="none", help="registered defense around the model (default: none)")
    p.add_argument("--checkpoint", type=Path, default=None,
                   help="another checkpoint of the model's kind (default: the registered one)")
    p.add_argument("--noise", default=None, choices=("poisson", "direct"),
                   help="a stochastic model's deployed form: poisson (its majority over fresh draws; "
                        "the default) or direct (no input sampling; not under a randomized defense, which "
                        "is always judged by its majority over fresh draws)")
    p.add_argument("--seed", default="0", metavar="N",
                   help="another training seed: the checkpoints `robustsnn build --seed N` made, the model's and the "
                        "surrogate TextCNNs' (default: 0, the registered checkpoints)")
    p.add_argument("--evaluation", default="standard-v1", help="the evaluation's version (default: standard-v1)")
    p.add_argument("--num-examples", type=int, default=None, metavar="N",
                   help="a trial on the first N of the evaluation's examples (flagged partial, never ranked)")
    p.add_argument("--results", type=Path, default=None, help="results root (default: $ROBUSTSNN_RESULTS)")
    p.add_argument("--executor", default="local", choices=("local", "ray"),
                   help="where examples are attacked, as for robustsnn campaign (default: local)")
    p.add_argument("--workers", type=int, default=None, help="Ray actors (with --executor ray)")
    p.add_argument("--address", default=None, help="a Ray cluster (with --executor ray): auto or ray://host:port")
    p.set_defaults(func=cmd_benchmark)

    p = sub.add_parser("leaderboard", help="rank the model cards of one standard evaluation per dataset "
                                           "-> results/leaderboard.csv and .md")
    p.add_argument("--cards", type=Path, default=None,
                   help="folder of model cards (default: $ROBUSTSNN_RESULTS/benchmark/cards/<evaluation>)")
    p.add_argument("--out", type=Path, default=None, help="CSV to write (default: $ROBUSTSNN_RESULTS/leaderboard.csv)")
    p.add_argument("--evaluation", default="standard-v1", help="the evaluation ranked (default: standard-v1)")
    p.set_defaults(func=cmd_leaderboard)


def cmd_benchmark(args: argparse.Namespace) -> int:
    from ..api import benchmark
    from ..artifacts import parse_seed
    from ..evaluation.card import summary

    card = benchmark(args.model, args.dataset, defense=args.defense, checkpoint=args.checkpoint, noise=args.noise,
                     evaluation=args.evaluation, num_examples=args.num_examples, results=args.results,
                     executor=args.executor, workers=args.workers, address=args.address, seed=parse_seed(args.seed))
    print(summary(card))
    return 0


def cmd_leaderboard(args: argparse.Namespace) -> int:
    from ..evaluation.leaderboard import write_leaderboard
    from ..evaluation.standard import get_evaluation
    from ..paths import BENCHMARK_DIR, LEADERBOARD_CSV, results_dir

    evaluation = get_evaluation(args.evaluation).name
    cards = args.cards or results_dir() / BENCHMARK_DIR / "cards" / evaluation
    out = args.out or results_dir() / LEADERBOARD_CSV
    ranked = write_leaderboard(cards, out, evaluation)
    print(f"wrote {out} and {out.with_suffix('.md')} ({len(ranked)} ranked models)")
    return 0
