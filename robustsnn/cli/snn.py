"""``robustsnn convert``, ``robustsnn finetune`` and ``robustsnn train-snn``."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..artifacts import TAILORED, converted_file, direct_run_dir, example, finetune_run_dir, shown

_SET_HELP = "override a recipe key, e.g. --set finetune.lr=1e-3 (repeatable)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("convert", help="convert a tailored TextCNN checkpoint into a spiking one")
    p.add_argument("checkpoint", type=Path, help="a tailored checkpoint, e.g. " + example(TAILORED.relpath))
    p.add_argument("--norm", default="none", choices=("none", "model", "data"),
                   help="weight normalisation (Diehl et al. 2015): none, model (max positive weight) "
                        "or data (99.9th percentile of training activations)")
    p.add_argument("--percentile", type=float, default=99.9, help="percentile for --norm data")
    p.add_argument("--out", type=Path, default=None,
                   help=f"output checkpoint (default: {shown(converted_file('<norm>'))})")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("finetune", help="fine-tune a converted spiking checkpoint (surrogate-gradient BPTT)")
    p.add_argument("checkpoint", type=Path, help="a spiking checkpoint from `robustsnn convert`")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help=_SET_HELP + "; only finetune.* and snn.* keys")
    p.add_argument("--out", type=Path, default=None,
                   help=f"run folder (default: {shown(finetune_run_dir('<norm>'))})")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.set_defaults(func=cmd_finetune)

    p = sub.add_parser("train-snn", help="train the spiking TextCNN directly from random init (baseline)")
    p.add_argument("--config", required=True, type=Path,
                   help="experiment recipe: a shipped name (e.g. sst2; robustsnn list configs) or a file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help=_SET_HELP)
    p.add_argument("--out", type=Path, default=None,
                   help=f"run folder (default: {shown(direct_run_dir())})")
    p.add_argument("--resume", action="store_true", help="continue from <out>/last.pt")
    p.add_argument("--init", default="data", choices=("data", "default"),
                   help="data (default): prepare PyTorch's random init on training sentences (centred "
                        "filters, mirrored class populations, each layer rescaled to fire at --init-rates; "
                        "see robustsnn/train/snn_init.py); default: PyTorch's init as is (its output neurons "
                        "never fire: stays at chance)")
    p.add_argument("--init-rates", type=_rates, default=None, metavar="CONV,OUT",
                   help="target firing rates of the data-driven init (default 0.2,0.2)")
    p.set_defaults(func=cmd_train_snn)


def _rates(text: str) -> tuple[float, float]:
    parts = text.split(",")
    try:
        conv, out = (float(x) for x in parts)
    except ValueError:
        raise argparse.ArgumentTypeError("expected two rates, e.g. 0.2,0.2") from None
    if not (0.0 < conv < 1.0 and 0.0 < out < 1.0):
        raise argparse.ArgumentTypeError("rates must be in (0, 1)")
    return conv, out


def cmd_convert(args: argparse.Namespace) -> int:
    from ..train.convert import convert

    convert(args.checkpoint, args.norm, args.out, args.percentile)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    from ..train.snn import finetune

    finetune(args.checkpoint, args.out, resume=args.resume, overrides=args.overrides)
    return 0


def cmd_train_snn(args: argparse.Namespace) -> int:
    from ..config import load_recipe
    from ..errors import UserError
    from ..train.snn import DIRECT_INIT_RATES, train_direct

    if args.init == "default" and args.init_rates is not None:
        raise UserError("--init-rates applies to --init data only")
    train_direct(load_recipe(args.config, args.overrides), args.out, resume=args.resume, init=args.init,
                 init_rates=args.init_rates or DIRECT_INIT_RATES)
    return 0
