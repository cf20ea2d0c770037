"""The standard evaluation's definition: what ``standard-v1`` attacks with, on which examples.

One evaluation for every model and defense, so that rows of the leaderboard faced the same
attacks on the same examples (RobustBench ranks only such results). It ships inside the
package: ``pip install robustsnn`` and a model plugin are enough to run it, and every run
record and card names the version. A change to anything below that can change a number is
a new version (``standard-v2``), never an edit of this one.

``standard-v1``:

* **Examples**: 500 test sentences per dataset, drawn with seed 0 (shuffle-then-cut, so
  the first 100 of the draw are also in the 500). Not the first 500 lines: test files are
  often sorted (by source, length or label) and the first lines are not a sample.
* **Threat model**: the paper's shared constraints (at most 10% of words changed, the 15
  nearest counter-fitted neighbours, sentence similarity >= 0.8 under the USE encoder, no
  query budget), one counter-fitted swap for every recipe (``shared-swap``).
* **The ensemble**, adapted to what the model is (:mod:`.plan`):
  score-based PWWS and TextFooler on the deployed form and on every deterministic form;
  for a stochastic model, expectation over ``eot_draws`` draws per query (``mean-20``);
  the decision-based ``hard-label`` search, which reads labels only; the white-box
  ``hotflip`` (first-order swap scores) and ``gradient-wir`` (gradient word ranking) where
  the model exposes input gradients; transfer from the dataset's
  built-in TextCNN and tailored TextCNN and from the model's own deterministic form; and
  a second word source, PWWS with WordNet synonyms (the ``native`` protocol).
* **Verdict**: a stochastic model is judged as deployed, by its majority over 100 fresh
  draws on the clean and on the final text of every attack.

Why ``eot_draws = 20``: AutoAttack's choice for randomised defenses. The committed k-curve
(``results/adaptive/adaptive-k.md``: PWWS on 50 SST-2 sentences) has not flattened at 20 - the share
of majorities fooled is 36.6% at k = 1, 53.7% at 5, 61.0% at 20 and 70.7% at 100 - so an
EOT-20 worst case is an upper bound that more draws per query may lower; 100 draws per
query cost five times as much and are out of reach on two cores today.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from ..errors import UserError


@dataclass(frozen=True)
class StandardEvaluation:
    """One version of the standard evaluation (see the module docstring)."""

    name: str
    split: str = "test"
    num_examples: int = 500
    selection: str = "random"
    seed: int = 0
    # The threat model of the main campaign (a ThreatModel's fields; protocol shared-swap).
    threat: dict[str, Any] = field(default_factory=dict)
    verdict_draws: int = 100
    eot_draws: int = 20
    score_recipes: tuple[str, ...] = ("pwws", "textfooler")
    decision_recipe: str = "hard-label"
    # White-box attacks where the model exposes input gradients: hotflip scores every swap by
    # its first-order effect on the loss (on the first 30 SST-2 sentences it matched PWWS's
    # successes with ~25x fewer queries, where gradient-wir, which only ranks words, fell
    # short on the SNN); gradient-wir is kept beside it, it is cheap.
    white_box_recipes: tuple[str, ...] = ("hotflip", "gradient-wir")
    # The second word source: this recipe under the native protocol (PWWS: WordNet synonyms).
    second_source_recipe: str = "pwws"
    # Built-in surrogates whose adversarial texts are replayed against the model.
    surrogates: tuple[str, ...] = ("textcnn", "tailored")
    # Flag a model on which more than this share of the attacked examples ended with no
    # word changed although the search had candidates (a flat or quantised output).
    flat_output_share: float = 0.2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


STANDARD_V1 = StandardEvaluation(
    name="standard-v1",
    threat={"protocol": "shared-swap", "max_modification_rate": 0.1, "candidates": 15, "similarity": 0.8,
            "similarity_metric": "cosine", "similarity_window": 0, "query_budget": 0, "stopwords": True,
            "sentence_encoder": "usem3-cached"},
)

EVALUATIONS = {e.name: e for e in (STANDARD_V1,)}
DEFAULT = STANDARD_V1.name


def get_evaluation(name: str) -> StandardEvaluation:
    """The evaluation called ``name``; an unknown name is an error listing the known ones."""
    try:
        return EVALUATIONS[name]
    except KeyError:
        raise UserError(f"unknown evaluation '{name}' (known: {', '.join(sorted(EVALUATIONS))})") from None
