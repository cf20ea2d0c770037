"""A white-box first-order swap scorer (HotFlip-style): the gradient ranks the swaps themselves.

``gradient-wir`` uses the input gradient only to order the *words* (the L1 norm of each
word's gradient row) and then queries every candidate of each word in turn. HotFlip
(Ebrahimi et al., ACL 2018) scores each *substitution* directly with the first-order
change of the loss: replacing the vector ``e_old`` at position ``i`` by ``e_new`` changes
the loss by about ``(e_new - e_old) . g_i``, where ``g_i`` is the loss gradient with respect
to the vector at ``i``. HotFlip flips characters; later work applies the same estimate
to word swaps, as here, over the campaign's shared counter-fitted candidates. Only the
estimate is taken from HotFlip; the search below (a small beam checked by queries) and
every constant are ours, and nothing is copied from TextAttack or the papers' code.

The model's side (:class:`~robustsnn.attack.wrappers.TextClassifierWrapper`, through
:meth:`~robustsnn.classifier.NetworkClassifier.input_gradient` and friends):

* ``g``: ``get_grad(text)``, the gradient of the cross-entropy against the model's own
  prediction with respect to each token's word vector (robustsnn/models/gradients.py:
  backpropagation for the TextCNNs; for the SNN the surrogate spike derivative through
  the T steps with a straight-through Bernoulli encoder, averaged over the encoding's
  draws). The attack only starts on examples the model classifies correctly, so until
  it succeeds the prediction is the ground truth and a positive gain means the ground
  truth's probability should fall.
* ``e``: ``word_vectors(ids)``, the model's *own* embedding rows (not the counter-fitted
  vectors that propose the candidates), for the ids its tokenizer gives (``token_ids``).
  A word the model does not know is its unknown token and is scored with the unknown
  token's row: that is the input the network would read.

Words and tokens are not aligned at all: a candidate's gain is computed from the
model's token ids of the whole candidate text against those of the current text. For
the positions whose id changes (among the first ``max_tokens``, the ones the network
reads), the gain is ``sum_j (E[new_j] - E[old_j]) . G[j]``, so a word that is several
tokens (clitics, a hyphenated compound split into its parts) is scored exactly, and a
swap the model cannot see is recognised as such. Two kinds of candidate get no
first-order score:

* the model reads the same ids (a swap past ``max_tokens``, or an unknown word for an
  unknown word): dropped, never queried. A deterministic model's output cannot change;
  a freshly drawn SNN's changes by noise only;
* the swap changes the number of tokens (every later token shifts, and the gradient at
  the padding positions is not exposed): ranked after every scored candidate, in text
  order, so they are queried only when fewer than ``beam`` scored candidates exist.

The search, :class:`HotFlipSearch`, one step at a time until the goal is reached:

1. one gradient of the current text (one forward and backward pass; **not a query**:
   the goal function counts only the texts it classifies, as for gradient-wir);
2. every candidate the transformation gives for the words the pre-transformation
   constraints allow (stopwords, RepeatModification, the modification cap, the model's
   reach), filtered by the other constraints (the shared sentence similarity, ...),
   scored as above and ranked by gain (ties: text order, TextAttack sorts candidates by
   text);
3. the best ``beam`` (B = :data:`BEAM` = 5) are queried at once (at most B queries); the
   one with the highest goal-function score (ties: the higher gain) is taken when it
   beats the current score, and the step repeats from it (a new gradient).

It stops when the goal is reached, when no candidate is left (the modification cap is
reached or no allowed swap changes the model's input), when no candidate of the beam
raises the score (the first-order ranking says the rest are no better; they are not
queried), or when the query budget is spent. So an example costs at most B queries per
changed word, plus B for the final step that finds no improvement. The gradient is
recomputed after every accepted swap and only then.

Randomness: none in the search; an SNN's gradient under ``fresh`` or ``mean-k`` draws
from torch's global generator (seeded per example by
:func:`robustsnn.campaign.runner.seed_all`), so a seeded run repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from ..checks import require_positive_int
from ..errors import UserError
from ..resources.textattack_import import import_textattack

import_textattack()

from textattack.goal_function_results import GoalFunctionResultStatus  # noqa: E402
from textattack.search_methods import SearchMethod  # noqa: E402
from textattack.shared.validators import transformation_consists_of_word_swaps  # noqa: E402

# Candidates queried per step. One query per candidate, so a step costs at most 5
# queries, against K (15 by default) per word for gradient-wir and about K per word
# just to rank for PWWS; 5 leaves room for the first-order estimate to be wrong in its
# top choice (it often is for the SNN, whose outputs are quantised) without paying for
# a full word's worth of candidates. Our choice, not HotFlip's (which takes the argmax
# only, or a beam of flips in its adversarial training).
BEAM = 5

# What the search reads from the victim besides its outputs (TextClassifierWrapper).
WHITE_BOX = ("input_gradient", "token_ids", "word_vectors", "max_tokens")


def require_white_box(model_wrapper: Any) -> None:
    """A one-line error unless ``model_wrapper`` is a robustsnn wrapper around a network that
    exposes its input gradients, token ids and word vectors."""
    from .wrappers import TextClassifierWrapper, _white_box

    if not isinstance(model_wrapper, TextClassifierWrapper):
        raise UserError(f"hotflip needs a robustsnn TextClassifierWrapper around a white-box network, "
                        f"got {type(model_wrapper).__name__}")
    for method in WHITE_BOX:
        _white_box(model_wrapper.classifier, method)


@dataclass(frozen=True)
class ScoredSwap:
    """A candidate text and its first-order gain against the current text."""

    text: Any  # textattack AttackedText
    gain: float | None  # first-order change of the loss; None: the number of tokens changes
    changes_input: bool  # False: the network reads the same ids as for the current text


def score_swaps(model_wrapper: Any, current: Any, candidates: Sequence[Any]) -> list[ScoredSwap]:
    """The first-order gain of replacing ``current`` (an AttackedText) by each candidate, in
    the candidates' order (see the module docstring)."""
    out = model_wrapper.get_grad(current.tokenizer_input)
    old = [int(i) for i in out["ids"]]
    gradient = np.asarray(out["gradient"], dtype=np.float64)
    reach = model_wrapper.max_tokens
    read_old = old[:reach]
    new_ids = [model_wrapper.token_ids(text.text) for text in candidates]

    changed: list[list[int] | None] = []  # per candidate: positions whose id changes (None: unscored)
    for ids in new_ids:
        if ids[:reach] == read_old:
            changed.append([])
        elif len(ids) != len(old):
            changed.append(None)
        else:
            changed.append([j for j in range(len(read_old)) if ids[j] != old[j]])
    needed = sorted({old[j] for c in changed if c for j in c} |
                    {ids[j] for ids, c in zip(new_ids, changed) if c for j in c})
    vectors = dict(zip(needed, model_wrapper.word_vectors(needed))) if needed else {}

    scored = []
    for text, ids, positions in zip(candidates, new_ids, changed):
        if positions is None:
            scored.append(ScoredSwap(text, None, True))
        elif not positions:
            scored.append(ScoredSwap(text, 0.0, False))
        else:
            gain = sum(float((vectors[ids[j]] - vectors[old[j]]) @ gradient[j]) for j in positions)
            scored.append(ScoredSwap(text, gain, True))
    return scored


def rank(scored: Sequence[ScoredSwap]) -> list[ScoredSwap]:
    """Swaps that change the model's input: scored ones by gain, highest first, then the
    unscored ones; ties keep the given (text) order."""
    live = [s for s in scored if s.changes_input]
    with_gain = sorted((s for s in live if s.gain is not None), key=lambda s: -s.gain)  # type: ignore[operator]
    return with_gain + [s for s in live if s.gain is None]


class HotFlipSearch(SearchMethod):
    """Greedy word swaps ranked by their first-order gain, the top ``beam`` checked by
    queries each step (see the module docstring)."""

    def __init__(self, beam: int = BEAM) -> None:
        self.beam = require_positive_int("beam", beam)

    @property
    def is_black_box(self) -> bool:
        return False

    def check_transformation_compatibility(self, transformation: Any) -> bool:
        """Word swaps only: each candidate replaces one word of the current text."""
        return transformation_consists_of_word_swaps(transformation)

    def extra_repr_keys(self) -> list[str]:
        return ["beam"]

    def perform_search(self, initial_result: Any) -> Any:
        model_wrapper = self.get_victim_model()
        original = initial_result.attacked_text
        current = initial_result
        while current.goal_status != GoalFunctionResultStatus.SUCCEEDED:
            candidates = self.get_transformations(current.attacked_text, original_text=original)
            ranked = rank(score_swaps(model_wrapper, current.attacked_text, candidates)) if candidates else []
            if not ranked:
                break  # the cap is reached, or no allowed swap changes what the model reads
            results, over = self.get_goal_results([s.text for s in ranked[: self.beam]])
            if results:
                best = max(results, key=lambda r: r.score)  # the first of equals: the higher gain
                if best.score > current.score:
                    current = best
                    if not over:
                        continue
            break
        return current
