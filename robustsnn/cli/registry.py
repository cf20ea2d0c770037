"""``robustsnn list models|defenses|recipes``: what is installed, and where it comes from."""

from __future__ import annotations

import argparse
from typing import Any, Callable

KINDS = ("models", "defenses", "recipes")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered models, defenses or attack recipes, with their source")
    p.add_argument("kind", choices=KINDS, help="which registry to list")
    p.set_defaults(func=cmd_list)


def _first_line(obj: Any) -> str:
    doc = getattr(obj, "__doc__", None) or getattr(type(obj), "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def _model_summary(name: str, obj: Any) -> str:
    from ..artifacts import shown
    from ..zoo import CheckpointModel

    if isinstance(obj, CheckpointModel):
        noise = "stochastic (fresh | frozen | mean-<k> | direct)" if obj.stochastic else "deterministic"
        return f"{obj.kind} checkpoint {shown(obj.relpath)}; {noise}"
    noise = "stochastic" if getattr(obj, "stochastic", False) else "deterministic"
    return f"{_first_line(obj) or type(obj).__name__}; {noise}"


def _recipe_summary(name: str, obj: Any) -> str:
    from ..attack.recipes import REFERENCES

    return REFERENCES.get(name) or _first_line(obj)


def _registry(kind: str) -> tuple[Any, Callable[[str, Any], str]]:
    if kind == "models":
        from ..zoo import MODELS

        return MODELS, _model_summary
    if kind == "defenses":
        from ..defenses import DEFENSES

        return DEFENSES, lambda name, obj: _first_line(obj)
    from ..attack.recipes import RECIPES

    return RECIPES, _recipe_summary


def list_entries(kind: str) -> list[dict[str, str]]:
    """One row per registered entry: name, source (built-in or distribution), summary."""
    registry, summary = _registry(kind)
    return [{"name": e.name, "source": e.source, "summary": summary(e.name, e.obj)}
            for e in registry.entries()]


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    rows = list_entries(args.kind)
    print(tabulate([[r["name"], r["source"], r["summary"]] for r in rows],
                   headers=["name", "source", "what"], tablefmt="simple"))
    if args.kind == "defenses":
        print("\n('none', the default, attacks the model without a defense.)")
    return 0
