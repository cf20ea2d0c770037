"""The masked language model BERT-Attack draws its candidates from.

None is obtainable offline here, so nothing is assumed: the model is named by the
campaign (or ``$ROBUSTSNN_MLM``) as a Hugging Face model id (``bert-base-uncased``,
the recipe's choice, where online or already in the Hugging Face cache) or a local
folder written by ``save_pretrained``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError

MLM_ENV = "ROBUSTSNN_MLM"

_HOW = (f"set {MLM_ENV} (or the campaign's masked-LM setting) to a Hugging Face model id "
        "such as bert-base-uncased where online, or to a local folder saved with save_pretrained")


@dataclass(frozen=True)
class MaskedLM:
    """A loaded masked LM and its tokenizer, as ``WordSwapMaskedLM`` takes them
    (``masked_language_model=mlm.model, tokenizer=mlm.tokenizer``)."""

    model: Any
    tokenizer: Any
    source: str  # the id or resolved folder it was loaded from

    def describe(self) -> str:
        name = getattr(getattr(self.model, "config", None), "_name_or_path", "") or self.source
        return f"masked LM {self.model.__class__.__name__} from {self.source}" + (
            f" ({name})" if name != self.source else "")


def _looks_like_path(spec: str) -> bool:
    """Hub ids are ``name`` or ``org/name``; anything else is meant as a folder."""
    return spec.startswith(("/", "./", "../", "~")) or spec.count("/") > 1


def _hub_offline() -> bool:
    from huggingface_hub import constants

    env = any(os.environ.get(k, "").strip().upper() in {"1", "ON", "YES", "TRUE"}
              for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return env or bool(getattr(constants, "HF_HUB_OFFLINE", False))


def _load(source: str, local_only: bool) -> MaskedLM:
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
    model = AutoModelForMaskedLM.from_pretrained(source, local_files_only=local_only)
    if getattr(tokenizer, "mask_token", None) is None:
        raise UserError(f"masked LM '{source}' has a tokenizer without a mask token")
    model.eval()
    return MaskedLM(model, tokenizer, source)


def resolve_masked_lm(spec: str | None = None) -> MaskedLM:
    """Load the masked LM named by ``spec``, else by ``$ROBUSTSNN_MLM``.

    A local folder is read with ``local_files_only``; a model id is taken from the
    Hugging Face cache first and downloaded only where the hub is reachable (not with
    ``HF_HUB_OFFLINE=1``). Failures are one-line :class:`UserError` s.
    """
    spec = (spec or os.environ.get(MLM_ENV, "")).strip()
    if not spec:
        raise UserError(f"BERT-Attack needs a masked language model and none is configured: {_HOW}")
    path = Path(spec).expanduser()
    if path.exists() or _looks_like_path(spec):
        if not (path / "config.json").is_file():
            raise UserError(f"masked LM folder {path} not found or has no config.json: {_HOW}")
        try:
            return _load(str(path.resolve()), local_only=True)
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot load masked LM from {path}: {str(exc).splitlines()[0]}") from None
    try:
        return _load(spec, local_only=True)
    except (OSError, ValueError):
        pass  # not in the local Hugging Face cache
    if _hub_offline():
        raise UserError(f"masked LM '{spec}' is not in the Hugging Face cache and the hub is "
                        f"offline (HF_HUB_OFFLINE): {_HOW}")
    try:
        return _load(spec, local_only=False)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot load masked LM '{spec}' ({str(exc).splitlines()[0]}): {_HOW}") from None
