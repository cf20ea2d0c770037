"""``robustsnn list models|defenses|recipes|configs|campaigns``: what is installed, and where
it comes from. ``configs`` and ``campaigns`` are the experiment recipes and the campaigns the
package ships (``robustsnn train --config NAME``, ``robustsnn campaign NAME``)."""

from __future__ import annotations

import argparse
from typing import Any, Callable

KINDS = ("models", "defenses", "recipes", "configs", "campaigns")
SHIPPED_KINDS = {"configs": "recipe", "campaigns": "campaign"}  # list kind -> robustsnn.paths kind
SHIPPED_SOURCE = "robustsnn (shipped)"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered models, defenses or attack recipes, with their source; "
                                    "or the shipped experiment recipes (configs) and campaigns")
    p.add_argument("kind", choices=KINDS, help="which registry to list (configs: what robustsnn train --config "
                                               "takes by name; campaigns: what robustsnn campaign takes)")
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


def _defense_summary(name: str, obj: Any) -> str:
    first = _first_line(obj) or type(obj).__name__
    if not getattr(obj, "randomized", False):
        return first
    return f"{first.rstrip('.')}. Randomized: judged by its majority over fresh draws."


def _recipe_summary(name: str, obj: Any) -> str:
    from ..attack.recipes import REFERENCES

    return REFERENCES.get(name) or _first_line(obj)


def _registry(kind: str) -> tuple[Any, Callable[[str, Any], str]]:
    if kind == "models":
        from ..zoo import MODELS

        return MODELS, _model_summary
    if kind == "defenses":
        from ..defenses import DEFENSES

        return DEFENSES, _defense_summary
    from ..attack.recipes import RECIPES

    return RECIPES, _recipe_summary


def _shipped_summary(text: str) -> str:
    """The headline of a shipped file's description (its leading comment, less the commands
    that run it): the first sentence, up to its first colon outside parentheses."""
    import re

    paragraph: list[str] = []
    for line in text.splitlines():
        line = line[1:].strip() if line.startswith("#") else None
        if line and not line.startswith("robustsnn "):
            paragraph.append(line)
        elif paragraph or line is None:  # the description's first paragraph ends
            break
    sentence = re.split(r"(?<=[.?!])\s+", " ".join(paragraph))[0]
    depth = 0
    for i, char in enumerate(sentence):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == ":" and depth == 0:
            return sentence[:i]
    return sentence


def _shipped_entries(kind: str) -> list[dict[str, str]]:
    from ..paths import shipped_file, shipped_names

    return [{"name": name, "source": SHIPPED_SOURCE,
             "summary": _shipped_summary(shipped_file(kind, name).read_text(encoding="utf-8"))}
            for name in shipped_names(kind)]


def list_entries(kind: str) -> list[dict[str, str]]:
    """One row per registered entry: name, source (built-in or distribution), summary."""
    if kind in SHIPPED_KINDS:
        return _shipped_entries(SHIPPED_KINDS[kind])
    registry, summary = _registry(kind)
    return [{"name": e.name, "source": e.source, "summary": summary(e.name, e.obj)}
            for e in registry.entries()]


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    rows = list_entries(args.kind)
    print(tabulate([[r["name"], r["source"], r["summary"]] for r in rows],
                   headers=["name", "source", "what"], tablefmt="simple", maxcolwidths=[None, None, 90]))
    if args.kind == "defenses":
        print("\n('none', the default, attacks the model without a defense.)")
    if args.kind == "configs":
        print("\n(run one: robustsnn train --config NAME --model tailored|textcnn, a <dataset>-spikformer "
              "one with --model spikformer; or give a file path)")
    if args.kind == "campaigns":
        print("\n(run one: robustsnn campaign NAME; or give a file path)")
    return 0
