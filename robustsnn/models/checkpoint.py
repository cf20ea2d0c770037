"""Checkpoints: self-contained (config + vocabulary + weights), loaded safely.

A checkpoint is a ``torch.save`` of a plain dict::

    {"format": "robustsnn/1", "kind": "tailored", "model": state_dict,
     "config": recipe dict, "vocab": [words], "meta": {...}, ...}

Loading always uses ``weights_only=True``; a corrupt, foreign or mismatched file is
a one-line :class:`UserError`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from ..io_utils import atomic_write

FORMAT = "robustsnn/1"
REQUIRED = ("format", "kind", "model", "config", "vocab")


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write atomically, so a kill mid-save leaves the previous checkpoint intact."""
    import torch

    missing = [k for k in REQUIRED if k != "format" and k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}")
    atomic_write(Path(path), lambda tmp: torch.save({"format": FORMAT, **payload}, tmp))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    import pickle
    import zipfile

    import torch

    path = Path(path)
    if not path.is_file():
        raise UserError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, pickle.UnpicklingError, EOFError, zipfile.BadZipFile, ValueError,
            OSError, AttributeError, KeyError, IndexError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UserError(f"checkpoint {path} is corrupt or not loadable safely: {first}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UserError(f"{path} is not a robustsnn checkpoint (format {FORMAT})")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise UserError(f"checkpoint {path} lacks {', '.join(missing)}")
    return ckpt


def load_state_strict(module: torch.nn.Module, state: dict[str, Any], path: str | Path) -> None:  # noqa: F821
    """``load_state_dict(strict=True)`` with the mismatch reported in one line."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise UserError(f"checkpoint {path} does not match its model: {detail[:300]}") from None
