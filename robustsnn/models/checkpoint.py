"""Checkpoints: self-contained (config + vocabulary + weights), loaded safely.

A checkpoint is a ``torch.save`` of a plain dict::

    {"format": "robustsnn/1", "kind": "tailored", "model": state_dict,
     "config": recipe dict, "vocab": [words], "meta": {...}, ...}

Loading always uses ``weights_only=True``; a corrupt, foreign or mismatched file is
a one-line :class:`UserError`.

Which model a result came from is named by its **content digest** (:func:`model_sha256`):
the sha256 of what decides the network's behaviour - ``format``, ``kind``, ``config``,
``vocab`` and the weights - and of nothing else. ``meta`` (where the sources lay, dev
scores, versions), any training state of a ``last.pt`` and the file's pickling are left
out, so the same recipe rebuilt in another folder or on another machine gets the same
digest whenever it gets the same weights, while the file's own sha256 would differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..errors import UserError
from ..io_utils import atomic_write

FORMAT = "robustsnn/1"
REQUIRED = ("format", "kind", "model", "config", "vocab")
# The parts of a checkpoint the content digest covers (see model_sha256).
DIGESTED = ("format", "kind", "config", "vocab")
# Versions the digest's byte layout: a change to what is hashed or how must change this,
# so that no old digest is ever reused for another definition.
DIGEST_VERSION = "robustsnn-model-digest/1"


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> None:
    """Write atomically, so a kill mid-save leaves the previous checkpoint intact."""
    import torch

    missing = [k for k in REQUIRED if k != "format" and k not in payload]
    if missing:
        raise ValueError(f"checkpoint payload lacks {missing}")

    def write(tmp: Path) -> None:
        # Through a file object, not the path: given a path, torch.save names the
        # archive inside the zip after the file, here a random temporary name, so the
        # same weights saved twice would differ in bytes. Saved this way, retraining
        # with the same seed and recipe at the same paths reproduces the file byte for
        # byte. (Attack logs name the content digest, model_sha256, which does not
        # depend on the bytes or the paths at all.)
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


def model_sha256(ckpt: Mapping[str, Any]) -> str:
    """The content digest of a loaded checkpoint dict (:func:`load_checkpoint`): the
    sha256 of the byte stream

    * ``DIGEST_VERSION`` and a newline;
    * one line of canonical JSON (sorted keys, no spaces, ASCII) holding ``format``,
      ``kind``, ``config`` and ``vocab``, then a newline;
    * for each entry of the ``model`` state dict, in sorted name order: one JSON line
      ``{"name", "dtype", "shape", "nbytes"}`` and then the tensor's raw bytes (C order,
      little-endian, as torch keeps them on every machine robustsnn runs on). The byte
      count in the line keeps the stream unambiguous. A non-tensor entry (a module's
      extra state) is one JSON line ``{"name", "value"}``.

    ``meta`` and every other key (a ``last.pt``'s optimiser states, RNG, history) are not
    part of it: they do not change what the network computes, and ``meta`` holds absolute
    paths. Two checkpoints with equal digests classify every text alike."""
    import hashlib
    import json

    import torch

    def line(value: Any) -> bytes:
        return (json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True) + "\n").encode("ascii")

    digest = hashlib.sha256((DIGEST_VERSION + "\n").encode("ascii"))
    try:
        digest.update(line({k: ckpt[k] for k in DIGESTED}))
    except (TypeError, ValueError) as exc:  # a config holding something JSON cannot say
        raise UserError(f"checkpoint config or vocabulary is not plain data ({exc})") from None
    state = ckpt["model"]
    for name in sorted(state):
        value = state[name]
        if not isinstance(value, torch.Tensor):
            digest.update(line({"name": name, "value": value}))
            continue
        # Contiguous CPU copy, then its bytes: a view's storage may hold more than the
        # tensor, and a strided layout is a pickling detail, not a weight.
        tensor = value.detach().to("cpu").contiguous()
        raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        digest.update(line({"name": name, "dtype": str(tensor.dtype).removeprefix("torch."),
                            "shape": list(tensor.shape), "nbytes": len(raw)}))
        digest.update(raw)
    return digest.hexdigest()


_DIGESTS: dict[tuple[str, int, int], str] = {}


def model_digest(path: str | Path) -> str:
    """:func:`model_sha256` of the checkpoint at ``path`` (loaded safely; a bad file is a
    one-line :class:`UserError`). Remembered per file, size and modification time for
    the process: a campaign describes the same checkpoint once per cell."""
    path = Path(path)
    try:
        stat = path.stat()
    except OSError:
        stat = None
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns) if stat is not None else None
    if key is not None and key in _DIGESTS:
        return _DIGESTS[key]
    digest = model_sha256(load_checkpoint(path))
    if key is not None:
        _DIGESTS[key] = digest
    return digest


def training_seeds(ckpt: Mapping[str, Any]) -> dict[str, int]:
    """The recipe seeds that shaped a checkpoint's weights, read from its ``config`` (inside
    the content digest, so two seeds never share one): ``{"train": s}`` for a network
    ``robustsnn train`` trained; for a spiking net of kind ``snn`` also ``"finetune"`` when
    it was fine-tuned (``train`` is then its parent's, carried over by the conversion), only
    ``"finetune"`` when it was trained directly (``train-snn`` seeds with it), and only
    ``"train"`` for a converted one (nothing trained since). Its data split's
    ``data.split_seed`` is not a training seed."""
    config = ckpt.get("config") or {}

    def seed(section: str) -> int:
        return int((config.get(section) or {}).get("seed", 0))

    if ckpt.get("kind") != "snn":
        return {"train": seed("train")}
    training = (ckpt.get("meta") or {}).get("training")
    if training == "direct":
        return {"finetune": seed("finetune")}
    if training == "finetune":
        return {"train": seed("train"), "finetune": seed("finetune")}
    return {"train": seed("train")}


def checkpoint_seeds(path: str | Path) -> dict[str, int]:
    """:func:`training_seeds` of the checkpoint at ``path`` (a bad file: a one-line UserError)."""
    return training_seeds(load_checkpoint(path))
