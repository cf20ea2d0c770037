"""The ``robustsnn`` command: a thin shell over plain functions.

Each module in this package registers a group of subcommands. User mistakes
(:class:`~robustsnn.errors.UserError`) and faults of the user's filesystem (read-only,
full, no permission) end with one line on stderr and exit 2; Ctrl-C and SIGTERM end with
one line and exit 130 and 143.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from ..errors import UserError, describe_os_error

# Modules with a ``register(subparsers)`` function, in help order.
_COMMAND_MODULES = ("data", "train", "snn", "build", "attack", "benchmark", "registry", "report")


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


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that ``finally`` blocks run and locks are released."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def _resume_hint(args: argparse.Namespace) -> str:
    # Training commands start over unless given --resume; the others pick up where they stopped.
    if getattr(args, "resume", None) is False:
        return "run the same command with --resume to continue"
    return "run the same command again to resume"


def main(argv: Sequence[str] | None = None) -> int:
    import signal
    import threading

    parser = build_parser()
    args = parser.parse_args(argv)
    # Only the main thread may set handlers (main() can be called from a thread, e.g. a test).
    installed, previous = False, None
    if threading.current_thread() is threading.main_thread():
        previous, installed = signal.signal(signal.SIGTERM, _on_sigterm), True
    try:
        result = args.func(args)
    except UserError as exc:
        print(f"robustsnn: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        message = describe_os_error(exc)
        if message is None:
            raise  # not the user's filesystem: a bug, keep the traceback
        print(f"robustsnn: error: {message}", file=sys.stderr)
        return 2
    except Terminated:
        print(f"robustsnn: terminated; {_resume_hint(args)}", file=sys.stderr)
        return 143
    except KeyboardInterrupt:
        print(f"robustsnn: interrupted; {_resume_hint(args)}", file=sys.stderr)
        return 130
    finally:
        if installed:  # None: a handler set outside Python, which cannot be put back; use the default
            signal.signal(signal.SIGTERM, signal.SIG_DFL if previous is None else previous)
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
