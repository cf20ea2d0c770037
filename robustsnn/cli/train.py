"""``robustsnn train`` and ``robustsnn evaluate``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..artifacts import TRAIN_KINDS, ann_run_dir, shown


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the original or the tailored TextCNN, or the spiking transformer "
                                     "(--config <dataset>-spikformer), from a recipe")
    p.add_argument("--config", required=True, type=Path,
                   help="experiment recipe: a shipped name (e.g. sst2; robustsnn list configs) or a file")
    p.add_argument("--model", default="tailored", choices=TRAIN_KINDS)
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a recipe key, e.g. --set train.lr=1e-4 (repeatable)")
    p.add_argument("--defense", default="none",
                   help="a training-time defense: a2t (adversarial training, A2T; default: none)")
    p.add_argument("--out", type=Path, default=None,
                   help=f"run folder (default: {shown(ann_run_dir('<model>'))}, "
                        f"{shown(ann_run_dir('<model>', defense='<defense>'))} with --defense)")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="accuracy of a checkpoint on a split")
    p.add_argument("checkpoint", type=Path)
    p.add_argument("--split", default="test", choices=("train", "dev", "test"))
    p.add_argument("--draws", type=int, default=None, metavar="R",
                   help="spiking nets: independent Poisson draws (default: the recipe's finetune.eval_draws)")
    p.set_defaults(func=cmd_evaluate)


def cmd_train(args: argparse.Namespace) -> int:
    from ..config import load_recipe
    from ..train.ann import train

    recipe = load_recipe(args.config, args.overrides)
    if args.defense != "none":
        from ..defenses import DEFENSES
        from ..errors import UserError

        defense = DEFENSES.get(args.defense)
        if not getattr(defense, "trains", False):
            raise UserError(f"defense '{args.defense}' wraps a trained model at attack time; there is nothing "
                            "to train (give it to robustsnn attack or benchmark with --defense)")
        import importlib

        module, function = defense.trainer.split(":")
        getattr(importlib.import_module(module), function)(recipe, args.model, args.out, args.resume)
        return 0
    train(recipe, args.model, args.out, resume=args.resume)
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..models.loading import load_model
    from ..train.ann import evaluate

    loaded = load_model(args.checkpoint)
    ids, labels = loaded.encoded(args.split)
    if loaded.kind == "snn":
        from ..errors import UserError
        from ..train.evaluate import evaluate_snn

        draws = loaded.recipe.finetune.eval_draws if args.draws is None else args.draws
        if draws < 1:
            raise UserError("--draws must be at least 1")
        acc = evaluate_snn(loaded.model, ids, labels, draws, seed=loaded.recipe.finetune.seed)
        print(f"snn {loaded.recipe.data.dataset} {args.split}: accuracy {acc.mean:.4f} +- {acc.std:.4f} "
              f"over {draws} draws at T={loaded.recipe.snn.time_steps} ({len(labels)} examples)")
        return 0
    acc = evaluate(loaded.model, ids, labels)
    print(f"{loaded.kind} {loaded.recipe.data.dataset} {args.split}: accuracy {acc:.4f} "
          f"({len(labels)} examples)")
    return 0
