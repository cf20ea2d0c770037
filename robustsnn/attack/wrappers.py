"""A :class:`~robustsnn.classifier.TextClassifier` as a TextAttack model wrapper.

Why the rows are checked and renormalised here: TextAttack 0.3.11's classification
goal functions (``ClassificationGoalFunction._process_model_outputs``) take the
model's output as probabilities only when EVERY row of the batch sums to 1 within
1e-6; otherwise they softmax the whole batch. Softmaxing probabilities squashes them
towards uniform (a 0.9/0.1 row becomes 0.69/0.31) and, for rates that merely do not
add up, scores rows inconsistently - what happened to spike rates in the original
code. So the wrapper insists on proper probability rows from the classifier (a
clear error otherwise, never a silent softmax) and returns them in float64,
renormalised, so that TextAttack's 1e-6 test always passes and the classifier's
numbers are used as they are.

The classifier batches its own inputs (``NetworkClassifier.batch_size``); the goal
functions built by :mod:`robustsnn.attack.recipes` hand it every candidate at once.

Importing this module imports TextAttack (through :func:`import_textattack`); it is
only imported by attack code, never by ``import robustsnn``.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from ..classifier import TextClassifier
from ..errors import UserError
from ..resources.textattack_import import import_textattack

import_textattack()

from textattack.models.wrappers import ModelWrapper  # noqa: E402

# Rows may be off by float32 rounding (or a spike-rate normalisation); anything more
# means the classifier does not return probabilities.
ROW_SUM_TOLERANCE = 1e-4


class TextClassifierWrapper(ModelWrapper):
    """Texts in, the classifier's ``[n, num_classes]`` probability rows out."""

    def __init__(self, classifier: TextClassifier) -> None:
        if not isinstance(classifier, TextClassifier):
            raise UserError(f"{type(classifier).__name__} is not a TextClassifier "
                            "(needs num_classes, predict_proba(texts), describe())")
        self.classifier = classifier

    @property
    def model(self) -> Any:
        """The torch module when the classifier has one (TextAttack reads its class
        and moves it between devices), else the classifier itself."""
        import torch  # a TextAttack dependency

        inner = getattr(self.classifier, "model", None)
        return inner if isinstance(inner, torch.nn.Module) else self.classifier

    def __call__(self, text_input_list: Sequence[str], **kwargs: Any) -> np.ndarray:
        texts = list(text_input_list)
        for i, text in enumerate(texts):
            if not isinstance(text, str):  # TextAttack passes tuples for text pairs
                raise UserError(f"input {i} is a {type(text).__name__}; robustsnn classifiers "
                                "take single texts, not text pairs")
        num_classes = int(self.classifier.num_classes)
        if not texts:
            return np.zeros((0, num_classes))
        return checked_rows(self.classifier.predict_proba(texts), len(texts), num_classes,
                            self.classifier)


    def tokenize(self, inputs: Sequence[str], strip_prefix: bool = False) -> list[list[str]]:
        """The classifier's own tokens per text (TextAttack aligns words with them to
        read the per-token gradients of :meth:`get_grad`)."""
        tokens_of = _white_box(self.classifier, "tokens")
        return [tokens_of(text) for text in inputs]

    def get_grad(self, text_input: str) -> dict[str, Any]:
        """``{"ids", "gradient"}``: the loss gradient with respect to each token's word
        vector, ``[tokens, dim]`` (see robustsnn/models/gradients.py for what it is for
        each model)."""
        if not isinstance(text_input, str):
            raise UserError("get_grad takes a single text")
        ids, gradient = _white_box(self.classifier, "input_gradient")(text_input)
        return {"ids": ids, "gradient": gradient}


    def token_ids(self, text: str) -> list[int]:
        """The classifier's token ids of ``text`` (not padded or truncated; hotflip)."""
        return [int(i) for i in _white_box(self.classifier, "token_ids")(text)]

    def word_vectors(self, ids: Sequence[int]) -> np.ndarray:
        """``[len(ids), dim]``: the classifier's own vector of each token id, the rows that
        :meth:`get_grad` differentiates with respect to (hotflip)."""
        return np.asarray(_white_box(self.classifier, "word_vectors")(list(ids)), dtype=np.float64)

    @property
    def max_tokens(self) -> int:
        """Tokens the network reads; the rest of a longer text never reaches it."""
        return int(_white_box(self.classifier, "max_tokens"))


def _white_box(classifier: Any, method: str) -> Any:
    """A white-box method of ``classifier``, or a one-line error: gradient recipes need a
    model that exposes its input gradients (a defense wrapper hides them)."""
    found = getattr(classifier, method, None)
    if found is None:
        raise UserError(f"{type(classifier).__name__} exposes no {method}(); gradient-based recipes "
                        "(gradient-wir, hotflip) need a white-box robustsnn network (textcnn, tailored, snn) "
                        "without a defense")
    return found


def checked_rows(probs: Any, n: int, num_classes: int, who: object) -> np.ndarray:
    """``probs`` as float64 probability rows of shape ``[n, num_classes]``, each summing
    to 1 to machine precision; a one-line error naming ``who`` otherwise."""
    name = type(who).__name__
    rows = np.asarray(probs, dtype=np.float64)
    if rows.shape != (n, num_classes):
        raise UserError(f"{name}.predict_proba returned shape {rows.shape} for {n} texts; "
                        f"expected ({n}, {num_classes})")
    if not np.isfinite(rows).all() or (rows < 0).any():
        raise UserError(f"{name}.predict_proba returned negative or non-finite values; "
                        "it must return probabilities")
    sums = rows.sum(axis=1, keepdims=True)
    if (np.abs(sums - 1.0) > ROW_SUM_TOLERANCE).any():
        worst = float(sums.ravel()[np.argmax(np.abs(sums.ravel() - 1.0))])
        raise UserError(f"{name}.predict_proba returned a row summing to {worst:.6g}, not 1; "
                        "TextAttack would softmax such scores, so return probabilities")
    return rows / sums


# The name the campaign runner was first written against.
RobustSNNModelWrapper = TextClassifierWrapper
