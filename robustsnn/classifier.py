"""Text in, per-row class probabilities out: the one interface attacks and defenses see.

A :class:`TextClassifier` takes raw strings, tokenizes them with the model's own
encoder (the same one training used), and returns one probability row per text that
sums to 1 - TextAttack softmaxes a whole batch when rows do not sum to 1, which scored
spike-rate outputs inconsistently in the original code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import UserError
from .models.checkpoint import model_digest
from .paths import portable_path


@runtime_checkable
class TextClassifier(Protocol):
    """What attack wrappers and defenses need from a model."""

    num_classes: int

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        """``[len(texts), num_classes]`` float array; every row sums to 1."""
        ...

    def describe(self) -> dict[str, Any]:
        """Provenance for result records (model kind, checkpoint, encoding...)."""
        ...


def wrapped_with(classifier: Any, attribute: str) -> Any:
    """``classifier`` itself or, through the defenses around it (each keeps what it wraps
    as ``.base``), the first wrapped classifier that has ``attribute``; None if none has."""
    while classifier is not None and not hasattr(classifier, attribute):
        classifier = getattr(classifier, "base", None)
    return classifier


def check_texts(texts: Sequence[str]) -> list[str]:
    """A list of non-empty strings, or a one-line error saying what is wrong."""
    if isinstance(texts, str):
        raise UserError("expected a list of texts, got a single string")
    texts = list(texts)
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise UserError(f"text {i} is {type(text).__name__}, not str")
        if not text.strip():
            raise UserError(f"text {i} is empty")
    return texts


def normalise_rows(scores: torch.Tensor) -> np.ndarray:  # noqa: F821
    """Non-negative scores -> probability rows; an all-zero row becomes uniform."""
    import torch

    scores = scores.double().clamp_min(0.0)
    total = scores.sum(dim=1, keepdim=True)
    uniform = torch.full_like(scores, 1.0 / scores.shape[1])
    return torch.where(total > 0, scores / total.clamp_min(1e-300), uniform).numpy()


@dataclass
class NetworkClassifier:
    """A robustsnn checkpoint as a :class:`TextClassifier`.

    The TextCNNs answer with the softmax of their class scores, in ``eval()`` mode
    under ``no_grad`` (the original code attacked its TextCNN with dropout on). The SNN
    answers with its decoded spike scores (rates with the tie rule folded in; see
    models/snn.py) normalised per row, drawn with ``encoding``.
    """

    loaded: Any  # pipeline.LoadedModel
    # models.encoding.Encoding, SNN only and required there: the mode is parsed once where
    # the user gave it (Encoding.parse); this class takes the parsed value, never a string,
    # and has no default of its own.
    encoding: Any = None
    batch_size: int = 64
    # frozen, direct and crn-k SNNs: simulate queries that differ from a recent one in a few
    # words incrementally (models/incremental.py: the same outputs, bit for bit).
    incremental: bool = True
    _simulator: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from .models.encoding import Encoding

        if self.loaded.kind == "snn":
            if not isinstance(self.encoding, Encoding):
                raise UserError(f"an SNN classifier needs an Encoding (e.g. Encoding.parse('frozen') "
                                f"or Encoding.parse('mean-20')), got {self.encoding!r}")
        elif self.encoding is not None:
            raise UserError(f"model '{self.loaded.kind}' is deterministic; it takes no encoding")
        if self.batch_size < 1:
            raise UserError("batch_size must be positive")

    @property
    def model(self) -> Any:
        return self.loaded.model

    @property
    def num_classes(self) -> int:
        from .data.registry import get_dataset_spec

        return get_dataset_spec(self.loaded.recipe.data.dataset).num_classes

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        texts = check_texts(texts)
        if not texts:
            return np.zeros((0, self.num_classes))
        model = self.loaded.model
        model.eval()
        rows = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                ids = self.loaded.encoder.encode(texts[start : start + self.batch_size])
                if self.loaded.kind == "snn":
                    rows.append(normalise_rows(model.run(ids, self.encoding, simulator=self._incremental()).scores))
                else:
                    rows.append(torch.softmax(model(ids).double(), dim=1).numpy())
        return np.concatenate(rows)

    def _incremental(self) -> Any:
        """The incremental simulator of a frozen, direct or crn-k SNN (None: simulate in full)."""
        if not self.incremental or self.encoding.mode not in ("frozen", "direct", "crn-k"):
            return None
        if self._simulator is None or self._simulator.time_steps != self.loaded.model.time_steps:
            from .models.incremental import CommonDrawsSimulator, IncrementalSimulator

            kind = CommonDrawsSimulator if self.encoding.mode == "crn-k" else IncrementalSimulator
            self._simulator = kind(self.loaded.model, self.encoding)
        return self._simulator

    def tokens(self, text: str) -> list[str]:
        """The model's tokens of ``text`` (white-box attacks align words with them)."""
        return self.loaded.encoder.tokens(text)

    def token_ids(self, text: str) -> list[int]:
        """The model's token ids of ``text``, before padding or truncation (a word the model
        does not know is its unknown token); white-box attacks compare texts by them."""
        return self.loaded.encoder.token_ids(text)

    def word_vectors(self, ids: Sequence[int]) -> np.ndarray:
        """``[len(ids), dim]``: the model's own input vector of each token id, i.e. its
        embedding rows (the unknown token's row for unknown words, zeros for padding):
        what :meth:`input_gradient` differentiates with respect to."""
        import torch

        weight = self.loaded.model.embedding.weight
        with torch.no_grad():
            rows = weight[torch.as_tensor(list(ids), dtype=torch.long)]
        return rows.double().numpy()

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` before truncation (attack/reach.py)."""
        return len(self.loaded.encoder.token_ids(text))

    @property
    def max_tokens(self) -> int:
        """Tokens the network reads; the rest of a longer text is cut off."""
        return int(self.loaded.encoder.max_len)

    def input_gradient(self, text: str) -> tuple[list[int], np.ndarray]:
        """``(token ids, gradient [tokens, dim])``: the loss gradient with respect to each
        token's word vector, against the model's own prediction (models/gradients.py: the
        SNN's through the surrogate and a straight-through encoder, averaged over the
        encoding's draws). Tokens past ``max_len`` never reach the network: zero rows."""
        from .models.gradients import ann_input_gradient, snn_input_gradient

        [text] = check_texts([text])
        ids = self.loaded.encoder.token_ids(text)
        row = self.loaded.encoder.encode([text])
        model = self.loaded.model
        if self.loaded.kind == "snn":
            grad, _ = snn_input_gradient(model, row, self.encoding)
        else:
            grad, _ = ann_input_gradient(model, row)
        out = np.zeros((len(ids), grad.shape[2]), dtype=np.float64)
        kept = min(len(ids), grad.shape[1])
        out[:kept] = grad[0, :kept].double().numpy()
        return ids, out

    def describe(self) -> dict[str, Any]:
        return {
            "model": self.loaded.kind,
            "checkpoint": portable_path(self.loaded.path),
            # What the network is, not which file holds it: the same weights rebuilt
            # elsewhere keep it (models/checkpoint.py), so logs resume against them.
            "model_sha256": model_digest(self.loaded.path),
            "tokenizer_sha256": self.loaded.encoder.digest(),
            "dataset": self.loaded.recipe.data.dataset,
            "encoding": str(self.encoding) if self.encoding is not None else None,
            "encoding_seed": getattr(self.encoding, "seed", None),
        }
