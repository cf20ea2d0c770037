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

    def write(tmp: Path) -> None:
        # Through a file object, not the path: given a path, torch.save names the
        # archive inside the zip after the file, here a random temporary name, so the
        # same weights saved twice would differ in bytes and in the sha256 that attack
        # logs record. Saved this way, retraining with one thread and the same seed and
        # recipe reproduces the file byte for byte, and a campaign can resume against it.
        with open(tmp, "wb") as fh:
            torch.save({"format": FORMAT, **payload}, fh)

    atomic_write(Path(path), write)


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
        raise UserError(f"checkpoint {path} {_why_unreadable(path, exc)}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise UserError(f"{path} is not a robustsnn checkpoint (format {FORMAT})")
    missing = [k for k in REQUIRED if k not in ckpt]
    if missing:
        raise UserError(f"checkpoint {path} lacks {', '.join(missing)}")
    return ckpt


def _why_unreadable(path: Path, exc: BaseException) -> str:
    """Why ``torch.load`` failed, in our words. PyTorch's text is never passed on: it may
    advise ``weights_only=False`` (which would run the file's code), hold terminal colour
    codes, or be cut mid-sentence."""
    import errno
    import pickle
    import zipfile

    try:
        empty = path.stat().st_size == 0
    except OSError:
        empty = False
    if empty:
        return "is empty (an interrupted save?): rebuild it with the command that made it"
    if isinstance(exc, OSError) and exc.errno in (errno.EACCES, errno.EPERM):
        return "cannot be read: permission denied (make it readable)"
    text = str(exc).lower()
    # Checked before the pickle refusal: torch reads a file that is not a zip as a legacy
    # pickle, so random bytes fail with the same "Weights only load failed" as a real refusal.
    if (not zipfile.is_zipfile(path) or isinstance(exc, (zipfile.BadZipFile, EOFError))
            or (isinstance(exc, RuntimeError) and ("zip" in text or "central directory" in text))):
        return "is truncated, corrupt or not a PyTorch file: rebuild it"
    if isinstance(exc, pickle.UnpicklingError) or "weights only load failed" in text or "weights_only" in text:
        return ("holds Python objects that could run code when loaded; robustsnn loads only plain "
                "tensors and will not open it (rebuild it with robustsnn)")
    return f"cannot be read ({type(exc).__name__}): rebuild it"


def load_state_strict(module: torch.nn.Module, state: dict[str, Any], path: str | Path) -> None:  # noqa: F821
    """``load_state_dict(strict=True)`` with the mismatch reported in one line."""
    try:
        module.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())
        raise UserError(f"checkpoint {path} does not match its model: {detail[:300]}") from None
