"""Offline attack resources: NLTK data, counter-fitted vectors, sentence encoders, masked
LMs, homoglyphs, and the guard that imports TextAttack without its downloads.

Nothing here imports :mod:`robustsnn.attack`: the attack recipes and the defenses both
draw on these resources, so they sit below both. ``AttackResources`` is the holder a
campaign passes to every recipe build (loaded on first use, then reused).
"""

from typing import Any

__all__ = ["AttackResources"]


def __getattr__(name: str) -> Any:
    # Lazy, so that ``import robustsnn.resources`` stays free of numpy/TextAttack imports.
    if name == "AttackResources":
        from .offline import AttackResources

        return AttackResources
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
