"""The ``robustsnn`` command: a thin shell over plain functions.

Each module in this package registers a group of subcommands. User mistakes
(:class:`~robustsnn.errors.UserError`) end with one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..errors import UserError

# Modules with a ``register(subparsers)`` function, in help order.
_COMMAND_MODULES = ("data", "train", "snn", "attack", "registry", "report")


def build_parser() -> argparse.ArgumentParser:
    import importlib

    import robustsnn

    parser = argparse.ArgumentParser(
        prog="robustsnn",
        description="Adversarial robustness of spiking text classifiers next to their ANN sources.",
    )
    parser.add_argument("--version", action="version", version=f"robustsnn {robustsnn.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.func(args)
    except UserError as exc:
        print(f"robustsnn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("robustsnn: interrupted (runs resume with --resume)", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
