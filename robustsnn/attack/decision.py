"""A decision-based (hard-label) attack: it reads the victim's predicted label, nothing else.

Why: the SNN's output is quantised (spike counts), so a single word swap rarely moves
its probabilities, and the score-based searches (PWWS, TextFooler, ...) often stop
with no word changed although a combination of swaps would flip the label. A search
that only asks "is the label still the original one?" needs no score to climb; it
also models the deployed threat (an API that returns labels).

Two parts, both built on TextAttack 0.3.11 classes (nothing copied from TextAttack or
the papers' code):

* :class:`LabelOnlyClassification`, an untargeted goal function that turns every model
  output into the one-hot vector of its argmax before anything sees it, so the result's
  score (1.0 if the label differs from the ground truth, else 0.0), its raw output and
  its cache hold nothing but the label: no search can exploit the probabilities.
* :class:`HardLabelSearch`, in the spirit of HLBB (Maheshwary et al., AAAI 2021) and
  TextHoaxer (Ye et al., AAAI 2022): a random perturbation that flips the label, then
  every swap that is not needed undone, then each remaining swap moved to a closer
  candidate where the label stays flipped. To raise the sentence similarity, HLBB then
  runs a population-based (genetic) search and TextHoaxer optimises a perturbation
  matrix in the word-embedding space with estimated gradients; ours is a short,
  bounded local search over the transformation's own candidates, ranked by the word
  embedding's cosine.

The randomness comes from Python's global ``random`` (seeded per example by
:func:`robustsnn.campaign.runner.seed_all`), and candidate lists are sorted by text
(TextAttack's ``filter_transformations``), so a seeded run repeats exactly.
"""

from __future__ import annotations

import random
from typing import Any

from ..checks import require_positive_int
from ..errors import UserError
from ..resources.textattack_import import import_textattack

import_textattack()

import torch  # noqa: E402  (a TextAttack dependency)
from textattack.goal_function_results import GoalFunctionResultStatus  # noqa: E402
from textattack.goal_functions import UntargetedClassification  # noqa: E402
from textattack.search_methods import SearchMethod  # noqa: E402
from textattack.shared.validators import transformation_consists_of_word_swaps  # noqa: E402

# Random perturbations tried before giving up on an example. Each try costs at most one
# query (a text already tried is not asked again), so an example no capped perturbation
# flips costs at most 100 queries here: fewer than PWWS spends just ranking the words of
# a 20-word text at K = 15 (about 20 x 15). And if a random perturbation within the cap
# flips the label with probability p, 100 independent tries find one with probability
# 1 - (1 - p)^100, over 99 % for p >= 5 %; rarer flips are left to the score-based
# searches. (The value is ours, not taken from HLBB or TextHoaxer.)
INIT_TRIES = 100


class LabelOnlyClassification(UntargetedClassification):
    """Untargeted classification that sees only the predicted label.

    The model's probabilities are validated as TextAttack does, then replaced by the
    one-hot vector of their argmax (ties: the first class, as ``argmax`` picks), so that
    two models with the same labels are indistinguishable to the search. The score is
    1.0 when the label differs from the ground truth and 0.0 otherwise.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("target_max_score") is not None:
            raise UserError("LabelOnlyClassification reads labels only; target_max_score needs probabilities")
        super().__init__(*args, **kwargs)

    def _process_model_outputs(self, inputs: Any, scores: Any) -> torch.Tensor:
        probs = super()._process_model_outputs(inputs, scores)
        one_hot = torch.zeros_like(probs)
        one_hot[torch.arange(probs.shape[0]), probs.argmax(dim=1)] = 1.0
        return one_hot

    def _is_goal_complete(self, model_output: torch.Tensor, _: Any) -> bool:
        return int(model_output.argmax()) != self.ground_truth_output

    def _get_score(self, model_output: torch.Tensor, attacked_text: Any) -> float:
        return 1.0 if self._is_goal_complete(model_output, attacked_text) else 0.0


class HardLabelSearch(SearchMethod):
    """Random flip, then reduction, then a bounded move towards closer words.

    1. **Initialisation** (at most ``init_tries`` tries, one query each): visit the
       words the pre-transformation constraints allow (stopwords, RepeatModification,
       the modification cap) in a random order and swap each for a random candidate that
       passes the constraints, until the cap leaves no word; ask the model about the
       result. Stop at the first text whose label differs. A try that could swap no word
       means no allowed perturbation exists, and the search gives up at once.
    2. **Reduction**: put original words back one at a time, the swap whose substitute
       is least similar to its original first (word-embedding cosine; random order
       without an embedding), keeping each restoration that passes the constraints and
       leaves the label flipped; passes repeat until one keeps nothing. So in the text
       returned, restoring any single changed word makes it non-adversarial (or breaks a
       constraint). At most m(m + 1) / 2 + m queries for m swaps.
    3. **Improvement** (with an ``embedding``): for each remaining swap, try the
       transformation's other candidates at that word that are closer to the original
       word than the current substitute, closest first, and keep the first that leaves
       the label flipped: at most K - 1 queries per swap, one pass. If anything moved,
       the reduction runs again (a closer word may make another swap unnecessary).

    The goal function's query budget ends every phase (``search_over``); the best text
    so far is returned: the latest adversarial one, or the original text (a failed
    result) when none was found.
    """

    def __init__(self, init_tries: int = INIT_TRIES, embedding: Any = None) -> None:
        self.init_tries = require_positive_int("init_tries", init_tries)
        self.embedding = embedding  # a textattack WordEmbedding; None: no improvement step

    @property
    def improve(self) -> bool:
        return self.embedding is not None

    @property
    def is_black_box(self) -> bool:
        return True

    def check_transformation_compatibility(self, transformation: Any) -> bool:
        """Word swaps only: a perturbation is a map from word positions to substitutes."""
        return transformation_consists_of_word_swaps(transformation)

    def extra_repr_keys(self) -> list[str]:
        return ["init_tries", "improve"]

    def perform_search(self, initial_result: Any) -> Any:
        run = _Run(self, initial_result)
        found = run.initialise()
        if found is None:
            return initial_result
        swaps, best = run.reduce(*found)
        if self.improve and not run.over:
            swaps, improved, moved = run.improve(swaps, best)
            if moved:
                swaps, improved = run.reduce(swaps, improved)
            best = improved
        return best


Swaps = dict[int, str]  # word index in the original text -> its substitute


class _Run:
    """The state of one example's search: the original text, the results of the texts
    asked so far (by text) and whether the query budget is spent."""

    def __init__(self, search: HardLabelSearch, initial_result: Any) -> None:
        self.search = search
        self.original = initial_result.attacked_text
        self.asked: dict[str, Any] = {self.original.text: initial_result}
        self.over = False
        self.swap: Any = None  # the transformation that made the candidates (for restored texts)

    # -------------------------------------------------------------- helpers

    def query(self, text: Any) -> Any:
        """The goal function's result for ``text`` (asked once per text), or None when the
        budget is spent."""
        if text.text in self.asked:
            return self.asked[text.text]
        if self.over:
            return None
        results, self.over = self.search.get_goal_results([text])
        if not results:
            self.over = True
            return None
        self.asked[text.text] = results[0]
        return results[0]

    def text(self, swaps: Swaps) -> Any:
        """The original text with ``swaps`` applied (its attack_attrs relative to the original)."""
        if not swaps:
            return self.original
        indices = sorted(swaps)
        return self.original.replace_words_at_indices(indices, [swaps[i] for i in indices])

    def candidates(self, current: Any, index: int) -> list[Any]:
        """The swaps of word ``index`` of ``current`` that pass every constraint (TextAttack
        sorts them by text), less any that would change the number of words."""
        found = self.search.get_transformations(current, original_text=self.original,
                                                indices_to_modify=[index])
        if found:
            self.swap = found[0].attack_attrs["last_transformation"]
        return [t for t in found if t.num_words == self.original.num_words]

    def closeness(self, index: int, word: str) -> float:
        """Word-embedding cosine between the original word at ``index`` and ``word``."""
        try:
            return float(self.search.embedding.get_cos_sim(self.original.words[index].lower(), word.lower()))
        except KeyError:
            return float("-inf")

    def order(self, swaps: Swaps) -> list[int]:
        """Swaps to revisit: least similar substitute first (ties by position), or a
        random order without an embedding."""
        if self.search.embedding is not None:
            return sorted(swaps, key=lambda i: (self.closeness(i, swaps[i]), i))
        indices = sorted(swaps)
        random.shuffle(indices)
        return indices

    @staticmethod
    def adversarial(result: Any) -> bool:
        return result.goal_status == GoalFunctionResultStatus.SUCCEEDED

    # -------------------------------------------------------------- the phases

    def initialise(self) -> tuple[Swaps, Any] | None:
        """A random perturbation within the constraints that flips the label, or None."""
        _, allowed = self.search.get_indices_to_order(self.original)
        allowed = sorted(allowed)
        for _ in range(self.search.init_tries):
            order = allowed[:]
            random.shuffle(order)
            swaps: Swaps = {}
            current = self.original
            for index in order:
                if not self.search.get_indices_to_order(current)[1]:
                    break  # the modification cap is reached
                options = self.candidates(current, index)
                if options:
                    current = random.choice(options)
                    swaps[index] = current.words[index]
            if not swaps:
                return None  # no word has an allowed swap: nothing to try
            if current.text in self.asked:
                continue  # tried before, and not adversarial (else the search had stopped)
            result = self.query(current)
            if result is None:
                return None
            if self.adversarial(result):
                return swaps, result
        return None

    def restored(self, swaps: Swaps, index: int) -> Any:
        """``swaps`` less the one at ``index``, as the swap of that word back to its original:
        the constraints read which transformation made a text and which word it changed
        (a windowed sentence encoder centres its window there)."""
        text = self.text({i: w for i, w in swaps.items() if i != index})
        text.attack_attrs["newly_modified_indices"] = {index}
        text.attack_attrs["last_transformation"] = self.swap
        return text

    def reduce(self, swaps: Swaps, best: Any) -> tuple[Swaps, Any]:
        """Undo swaps while the label stays flipped, until no single undo keeps it so."""
        while True:
            undone = False
            for index in self.order(swaps):
                if len(swaps) == 1:
                    break  # undoing the last swap gives the original text back
                fewer = {i: w for i, w in swaps.items() if i != index}
                restored = self.restored(swaps, index)
                if not self.search.filter_transformations([restored], best.attacked_text,
                                                          original_text=self.original):
                    continue
                result = self.query(restored)
                if result is None:
                    return swaps, best
                if self.adversarial(result):
                    swaps, best, undone = fewer, result, True
            if not undone:
                return swaps, best

    def improve(self, swaps: Swaps, best: Any) -> tuple[Swaps, Any, bool]:
        """Move each swap to the closest candidate that keeps the label flipped."""
        moved = False
        for index in self.order(swaps):
            now = self.closeness(index, swaps[index])
            base = self.text({i: w for i, w in swaps.items() if i != index})
            closer = [t for t in self.candidates(base, index) if self.closeness(index, t.words[index]) > now]
            closer.sort(key=lambda t: (-self.closeness(index, t.words[index]), t.text))
            for text in closer:
                result = self.query(text)
                if result is None:
                    return swaps, best, moved
                if self.adversarial(result):
                    swaps, best, moved = {**swaps, index: text.words[index]}, result, True
                    break
        return swaps, best, moved
