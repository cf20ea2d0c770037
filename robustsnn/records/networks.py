"""Which networks a table describes, said the same way on every table.

Every generated table (``robustsnn table``, ``table --worst-case``, ``report accuracy``,
``energy``) carries a ``Networks:`` line under its title, and ``results/README.md``
(``robustsnn report index``) one per table: each ``dataset/model`` it has numbers for,
with the network's digest, from the run records (or rows) behind it.

A network is named by a key as :attr:`~.record.RunRecord.model_key` spells it: its content
digest (``model_sha256``, :func:`robustsnn.models.checkpoint.model_sha256`), shown by its
first 12 hex digits; or, for a run from before content digests whose checkpoint is gone,
``file-`` and the sha256 of the checkpoint *file* (another hash), shown as a "legacy file
digest"; or nothing, for results from before any digest was recorded ("not recorded").
"""

from __future__ import annotations

from typing import Iterable

from .record import LEGACY_KEY_PREFIX

DIGITS = 12
NOT_RECORDED = "not recorded"


def key_of(content: str | None = None, legacy_file: str | None = None) -> str:
    """The key of a network named by its content digest, else by a legacy file digest, else ""."""
    if content:
        return content
    return LEGACY_KEY_PREFIX + legacy_file if legacy_file else ""


def describe(key: str) -> str:
    """``227d259ae036``; ``e6b3947e2c3e (legacy file digest)``; ``not recorded``."""
    if not key:
        return NOT_RECORDED
    if key.startswith(LEGACY_KEY_PREFIX):
        return f"{key[len(LEGACY_KEY_PREFIX):][:DIGITS]} (legacy file digest)"
    return key[:DIGITS]


def networks(pairs: Iterable[tuple[str, str, str]]) -> str:
    """``dataset/model -> digest`` for each distinct ``(dataset, model, key)``, sorted, ``;``
    between them; a model with several networks lists each (``a and b``)."""
    keys: dict[tuple[str, str], set[str]] = {}
    for dataset, model, key in pairs:
        keys.setdefault((str(dataset), str(model)), set()).add(key or "")
    parts = []
    for (dataset, model), found in sorted(keys.items()):
        shown = " and ".join(describe(k) for k in sorted(found, key=lambda k: (not k, k)))
        parts.append(f"{dataset}/{model} -> {shown}")
    return "; ".join(parts) if parts else "none"


def networks_line(pairs: Iterable[tuple[str, str, str]]) -> str:
    """The line a generated table carries under its title: ``Networks: ...`` (see :func:`networks`),
    saying what "not recorded" means when it appears."""
    pairs = list(pairs)
    unnamed = any(not key for _, _, key in pairs)
    return f"Networks: {networks(pairs)}." + (f" ({NOT_RECORDED.capitalize()}: measured before digests were "
                                              "recorded; which network cannot be told.)" if unnamed else "")
