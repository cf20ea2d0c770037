"""The attack recipes, rebuilt from TextAttack 0.3.11 components.

Each builder follows ``textattack/attack_recipes/<recipe>.py`` (goal function, search,
constraints), with the paper's numbers in comments and every deviation stated. The
offline resources come from :mod:`robustsnn.resources.offline` (TextAttack's own
``build()`` downloads them), and the campaign's shared constraints replace the
recipe's own value of each knob they cover (see :mod:`robustsnn.attack.recipes`).
Every builder makes a NEW ``textattack.Attack``; nothing is appended to an existing
attack's constraint list. ``gradient-wir``, ``hotflip`` and ``hard-label`` follow no
TextAttack recipe: their docstrings say what they are.

Deviations common to all of them (beside the per-recipe ones below):

- Stopwords: NLTK's English list when ``threat.stopwords`` (TextAttack's default for
  TextBugger, BERT-Attack and PWWS; TextFooler's own 240-word list is not used).
- Modification rate: ``MaxModificationRate(threat.max_modification_rate, min_threshold=1)``
  for every recipe (BERT-Attack's own 40 % cap is replaced).
- Sentence similarity: one sentence-encoder constraint with the threat's threshold,
  metric and window, compared against the ORIGINAL text and applied to texts of any
  length; it replaces each recipe's own USE setting (listed per recipe). PWWS, which
  has none, gets it too. ``threat.similarity == 0`` means no such constraint.
- Query budget: the goal function's ``query_budget`` (0 = unlimited).
- The goal function hands every candidate to the model wrapper at once
  (``model_batch_size``); the classifier batches (TextAttack's default is 32).
- "Unknown-word" importance (BERT-Attack, PWWS) replaces a word with TextAttack's
  "[UNK]", as the original runs did; our English tokenizer reads it as "[ unk ]".
- Texts are single sentences: TextFooler's premise/hypothesis column rule is left out.

Importing this module imports TextAttack; :mod:`.recipes` imports it on first build.
"""

from __future__ import annotations

from typing import Any, Callable

from ..errors import UserError
from ..resources import offline
from ..resources.offline import AttackResources
from ..resources.textattack_import import import_textattack
from .threat import ThreatModel

import_textattack()

from textattack import Attack  # noqa: E402
from textattack.constraints.grammaticality import PartOfSpeech  # noqa: E402
from textattack.constraints.pre_transformation import (  # noqa: E402
    MaxModificationRate,
    RepeatModification,
    StopwordModification,
)
from textattack.constraints.semantics import WordEmbeddingDistance  # noqa: E402
from textattack.goal_functions import UntargetedClassification  # noqa: E402
from textattack.search_methods import GreedyWordSwapWIR  # noqa: E402
from textattack.transformations import (  # noqa: E402
    CompositeTransformation,
    WordSwap,
    WordSwapEmbedding,
    WordSwapMaskedLM,
    WordSwapNeighboringCharacterSwap,
    WordSwapRandomCharacterDeletion,
    WordSwapRandomCharacterInsertion,
)

# The goal function passes lists of this many texts at most to the wrapper: in
# practice all candidates of one step; the classifier applies its own batch size.
WHOLE_LIST = 1 << 30


# ------------------------------------------------------------------ shared parts


def goal_function(model_wrapper: Any, threat: ThreatModel,
                  kind: type[UntargetedClassification] = UntargetedClassification) -> UntargetedClassification:
    """Untargeted classification (every recipe; ``kind`` a subclass such as hard-label's
    label-only one) with the shared query budget."""
    budget = threat.query_budget if threat.query_budget else float("inf")
    return kind(model_wrapper, query_budget=budget, model_batch_size=WHOLE_LIST)


def shared_pre_constraints(threat: ThreatModel) -> list[Any]:
    """Stopwords and the modification cap, after the recipe's RepeatModification."""
    constraints: list[Any] = [StopwordModification()] if threat.stopwords else []
    # ceil(rate * words) words may change, and at least one.
    constraints.append(MaxModificationRate(max_rate=threat.max_modification_rate, min_threshold=1))
    return constraints


def shared_similarity(threat: ThreatModel) -> list[Any]:
    """The shared sentence-encoder constraint, or none when ``similarity`` is 0."""
    if not threat.similarity:
        return []
    return [offline.sentence_encoder(
        threat.sentence_encoder, threshold=threat.similarity, metric=threat.similarity_metric,
        window_size=threat.similarity_window or None, compare_against_original=True,
        skip_text_shorter_than_window=False)]


def counterfitted_swap(threat: ThreatModel, res: AttackResources) -> WordSwapEmbedding:
    """The shared-swap transformation: each word's K nearest counter-fitted neighbours
    (for a Chinese dataset: its K nearest neighbours in the dataset's word vectors,
    resources/chinese.py)."""
    return WordSwapEmbedding(max_candidates=threat.candidates,
                             embedding=res.swap_embedding(threat.candidates))


def chinese(res: AttackResources) -> bool:
    return res.language == "zh"


def assemble(model_wrapper: Any, threat: ThreatModel, transformation: Any,
             constraints: list[Any], search_method: Any,
             goal: type[UntargetedClassification] = UntargetedClassification) -> Attack:
    """A new attack: the recipe's constraints, with ``threat.model_reach`` only the words
    the model reads, then the shared similarity (slowest last); ``goal`` the goal
    function's class."""
    reach: list[Any] = []
    if threat.model_reach:
        from .reach import WithinModelReach

        reach = [WithinModelReach(model_wrapper)]
    return Attack(goal_function(model_wrapper, threat, goal), constraints + reach + shared_similarity(threat),
                  transformation, search_method)


class CappedWordNetSwap(WordSwap):
    """PWWS's WordNet synonyms, at most K, in WordNet's order (senses by frequency).

    TextAttack's ``WordSwapWordNet`` returns its synonyms in set order, which changes
    with ``PYTHONHASHSEED``, so "the first K" would differ from run to run; its
    candidate filter is kept (one-word lemmas other than the word itself).
    """

    def __init__(self, inner: Any, max_candidates: int) -> None:
        super().__init__()
        self.inner = inner  # a WordSwapWordNet from resources.wordnet_swap()
        self.max_candidates = max_candidates

    def _get_replacement_words(self, word: str) -> list[str]:
        from nltk.corpus import wordnet

        allowed = set(self.inner._get_replacement_words(word))
        ordered = dict.fromkeys(
            lemma for synset in wordnet.synsets(word, lang=self.inner.language)
            for lemma in synset.lemma_names(lang=self.inner.language) if lemma in allowed)
        return list(ordered)[: self.max_candidates]

    def extra_repr_keys(self) -> list[str]:
        return ["max_candidates"]


class DescribedMaskedLMSwap(WordSwapMaskedLM):
    """``WordSwapMaskedLM`` that records which masked LM it draws from, and pads to
    at most the model's own number of positions (TextAttack always pads to 512, which
    fails for a model with fewer)."""

    def __init__(self, mlm: Any, **kwargs: Any) -> None:
        positions = getattr(getattr(mlm.model, "config", None), "max_position_embeddings", 512)
        super().__init__(masked_language_model=mlm.model, tokenizer=mlm.tokenizer,
                         max_length=min(512, int(positions)), **kwargs)
        self.masked_lm_source = mlm.describe()

    def describe(self) -> str:
        return self.masked_lm_source


# ------------------------------------------------------------------ the recipes


def textfooler(model_wrapper: Any, threat: ThreatModel,
               resources: AttackResources | None = None) -> Attack:
    """TextFooler (Jin et al. 2019), after textattack's textfooler_jin_2019.py."""
    res = resources or AttackResources()
    # Transformation, both protocols: swap a word with one of its nearest counter-
    # fitted neighbours. Paper / TextAttack: 50 neighbours (N = 50) of Mrksic et al.'s
    # counter-fitted PARAGRAM-SL999 300d. Here: K = threat.candidates neighbours in
    # the counter-fitted vectors from resources. So native == shared-swap here.
    transformation = counterfitted_swap(threat, res)
    constraints = [RepeatModification(), *shared_pre_constraints(threat)]
    # Word-embedding cosine >= 0.5 between a word and its substitute (the paper says
    # delta = 0.7; TextAttack found 0.5 in the released code and uses it; so do we).
    constraints.append(WordEmbeddingDistance(embedding=transformation.embedding, min_cos_sim=0.5))
    # Same part of speech (NLTK tagger, universal tagset; nouns and verbs may swap).
    # English only: the NLTK tagger knows no Chinese (it would tag every word alike).
    if not chinese(res):
        constraints.append(PartOfSpeech(allow_verb_noun_swap=True))
    # USE in the paper: angular similarity >= 0.840845057 (1 - 0.5/pi: the released
    # code forgot to divide by pi) in a 15-word window, against the previous text,
    # skipped for texts under 15 words -> replaced by the shared similarity.
    # Search: greedy over words ranked by the score change when each is deleted.
    return assemble(model_wrapper, threat, transformation, constraints,
                    GreedyWordSwapWIR(wir_method="delete"))


def textbugger(model_wrapper: Any, threat: ThreatModel,
               resources: AttackResources | None = None) -> Attack:
    """TextBugger (Li et al. 2018, black-box), after textattack's textbugger_li_2018.py."""
    res = resources or AttackResources()
    if threat.protocol == "native" and chinese(res):
        # Chinese: the character bugs become homophone characters (same toneless pinyin,
        # the usual Chinese misspelling), Sub-W the dataset's word neighbours; spaces,
        # deletions, swaps and Latin homoglyphs mean nothing inside a Chinese word.
        from ..resources.chinese import HomophoneCharacterSwap

        transformation = CompositeTransformation([HomophoneCharacterSwap(threat.candidates),
                                                  counterfitted_swap(threat, res)])
    elif threat.protocol == "native":
        # The paper's five bugs. Each character bug yields one random edit per word
        # (random_one) and the homoglyph bug one candidate per substitutable
        # character: K does not apply to character edits, only to Sub-W.
        transformation = CompositeTransformation([
            # (1) Insert a space inside the word (not before the first/after the last char).
            WordSwapRandomCharacterInsertion(random_one=True, letters_to_insert=" ",
                                             skip_first_char=True, skip_last_char=True),
            # (2) Delete a character other than the first and the last.
            WordSwapRandomCharacterDeletion(random_one=True, skip_first_char=True,
                                            skip_last_char=True),
            # (3) Swap two adjacent inner characters.
            WordSwapNeighboringCharacterSwap(random_one=True, skip_first_char=True,
                                             skip_last_char=True),
            # (4) Sub-C: visually similar characters (TextAttack's map + Unicode
            # homoglyphs). The paper also uses keyboard-adjacent characters; TextAttack
            # does not, nor do we.
            offline.homoglyph_swap(),
            # (5) Sub-W: the paper takes the top 5 GloVe neighbours; TextAttack the top
            # 5 counter-fitted ones; here the top K counter-fitted ones.
            counterfitted_swap(threat, res),
        ])
    else:
        transformation = counterfitted_swap(threat, res)
    constraints = [RepeatModification(), *shared_pre_constraints(threat)]
    # USE in the paper: cosine similarity >= 0.8 over the whole text (epsilon = 0.8)
    # -> replaced by the shared similarity (the same numbers under the defaults).
    # Search: the paper ranks sentences, then words by the score change when deleted;
    # TextAttack (and we) rank words by deletion directly, then take each word's best bug.
    return assemble(model_wrapper, threat, transformation, constraints,
                    GreedyWordSwapWIR(wir_method="delete"))


def bert_attack(model_wrapper: Any, threat: ThreatModel,
                resources: AttackResources | None = None) -> Attack:
    """BERT-Attack (Li et al. 2020), after textattack's bert_attack_li_2020.py."""
    res = resources or AttackResources()
    if threat.protocol == "native" and chinese(res) and not threat.masked_lm:
        raise UserError("BERT-Attack on a Chinese dataset needs a Chinese masked LM: set threat.masked_lm to "
                        "its folder (e.g. bert-base-chinese), or use the shared-swap protocol")
    if threat.protocol == "native":
        # Candidates: the masked LM's top predictions at the word's position (sub-word
        # words: combinations of the top predictions per piece, ranked by perplexity).
        # Paper: K = 48 from bert-base-uncased. TextAttack: K = 8, because K^n
        # combinations for an n-piece word made runs take hours (TextAttack issue
        # #586). Here K = threat.candidates (15 by default) and the masked LM the
        # threat (or $ROBUSTSNN_MLM) names. TextAttack 0.3.11 never actually sorts the
        # sub-word combinations by perplexity (its `sorted` result is discarded): it
        # keeps the first K in product order; inherited, not patched.
        transformation = DescribedMaskedLMSwap(res.mlm(threat.masked_lm), method="bert-attack",
                                               max_candidates=threat.candidates)
    else:
        transformation = counterfitted_swap(threat, res)
    constraints = [RepeatModification(), *shared_pre_constraints(threat)]
    # Paper: at most epsilon = 40 % of the words change -> replaced by the shared
    # modification rate. USE: the paper filters finished examples by a per-dataset
    # threshold; TextAttack uses cosine >= 0.2 over the whole text -> replaced by the
    # shared similarity.
    # Search: greedy over words ranked by the score change when each is replaced by
    # an unknown token (the paper masks it with [MASK]; TextAttack uses [UNK]).
    return assemble(model_wrapper, threat, transformation, constraints,
                    GreedyWordSwapWIR(wir_method="unk"))


def pwws(model_wrapper: Any, threat: ThreatModel,
         resources: AttackResources | None = None) -> Attack:
    """PWWS (Ren et al. 2019), after textattack's pwws_ren_2019.py."""
    res = resources or AttackResources()
    if threat.protocol == "native" and chinese(res):
        # No Chinese WordNet offline (NLTK's OMW needs a download): the dataset's word
        # neighbours instead.
        transformation = counterfitted_swap(threat, res)
    elif threat.protocol == "native":
        # Paper: every WordNet synonym (plus named-entity swaps, which TextAttack omits:
        # they need the dataset's entity statistics). Here: at most K synonyms, the
        # first in WordNet's order, from English WordNet 3.0 in resources.
        transformation = CappedWordNetSwap(offline.wordnet_swap(), threat.candidates)
    else:
        transformation = counterfitted_swap(threat, res)
    # PWWS has no semantic constraint of its own; the shared ones apply.
    constraints = [RepeatModification(), *shared_pre_constraints(threat)]
    # Search: words ordered by softmax(saliency) x the best score gain of their
    # candidates (saliency: score change when the word becomes [UNK]), then greedy.
    return assemble(model_wrapper, threat, transformation, constraints,
                    GreedyWordSwapWIR(wir_method="weighted-saliency"))


def gradient_wir(model_wrapper: Any, threat: ThreatModel,
                 resources: AttackResources | None = None) -> Attack:
    """White-box greedy word swap: words ranked by the loss gradient, not by queries.

    Not a published recipe of its own: TextAttack's ``GreedyWordSwapWIR(wir_method=
    "gradient")`` ranks each word by the L1 norm of the loss gradient with respect to its
    word vector (its tokens' gradients averaged), under the shared constraints and the
    shared swap in both protocols. The gradient comes from the wrapper's ``get_grad``:
    backpropagation for the TextCNNs, and for the SNN the surrogate gradient through time
    with a straight-through Bernoulli encoder, averaged over the encoding's draws
    (robustsnn/models/gradients.py). Ranking costs one forward and backward pass instead
    of one query per word, so the query count covers the swaps only.
    """
    res = resources or AttackResources()
    constraints = [RepeatModification(), *shared_pre_constraints(threat)]
    return assemble(model_wrapper, threat, counterfitted_swap(threat, res), constraints,
                    GreedyWordSwapWIR(wir_method="gradient"))


def hotflip(model_wrapper: Any, threat: ThreatModel,
            resources: AttackResources | None = None) -> Attack:
    """White-box first-order swap scorer (HotFlip-style): robustsnn/attack/hotflip.py.

    Not a TextAttack recipe: HotFlip's first-order estimate (Ebrahimi et al. 2018) of the
    loss change of each candidate swap, ``(e_new - e_old) . g`` with the model's own word
    vectors and its input gradient (``get_grad``), ranks every allowed candidate; the
    best B = 5 are queried each step and the best true improvement of the score is
    kept (:class:`.hotflip.HotFlipSearch`). The gradient is not a query, so the query
    count covers the beams only. Refuses (one line) a victim that does not expose its
    gradients (a defense, a black-box classifier).
    """
    from .describe import NoModel
    from .hotflip import BEAM, HotFlipSearch, require_white_box

    if not isinstance(model_wrapper, NoModel):  # built to be described: nothing to check
        require_white_box(model_wrapper)
    res = resources or AttackResources()
    # Transformation, both protocols: the shared counter-fitted swap (HotFlip flips
    # characters; its word-level uses score word swaps, and the campaign's are these),
    # so native == shared-swap here.
    constraints = [RepeatModification(), *shared_pre_constraints(threat)]
    return assemble(model_wrapper, threat, counterfitted_swap(threat, res), constraints,
                    HotFlipSearch(beam=BEAM))


def hard_label(model_wrapper: Any, threat: ThreatModel,
               resources: AttackResources | None = None) -> Attack:
    """Decision-based (hard-label): reads only the predicted label (robustsnn/attack/decision.py).

    After HLBB (Maheshwary et al. 2021) and TextHoaxer (Ye et al. 2022) in what it
    needs: the label alone, a random adversarial start, then as few and as close swaps
    as the label allows. The search itself is ours (see :class:`.decision.HardLabelSearch`):
    the papers' optimisation of the sentence similarity (HLBB: a genetic search;
    TextHoaxer: a perturbation matrix with estimated gradients) is replaced by undoing
    swaps and moving each to a closer candidate of the transformation.
    """
    from .decision import INIT_TRIES, HardLabelSearch, LabelOnlyClassification

    res = resources or AttackResources()
    # Transformation, both protocols: the shared counter-fitted swap (K nearest
    # neighbours). The papers draw synonyms from counter-fitted vectors too; their
    # count is replaced by K, and native == shared-swap here.
    transformation = counterfitted_swap(threat, res)
    constraints = [RepeatModification(), *shared_pre_constraints(threat)]
    # The papers' USE similarity -> the shared similarity, as for every recipe. The
    # search ranks a word's candidates by the swap's own embedding (cosine to the
    # original word) when it moves swaps closer.
    return assemble(model_wrapper, threat, transformation, constraints,
                    HardLabelSearch(init_tries=INIT_TRIES, embedding=transformation.embedding),
                    goal=LabelOnlyClassification)


BUILDERS: dict[str, Callable[..., Attack]] = {
    "textfooler": textfooler,
    "textbugger": textbugger,
    "bert-attack": bert_attack,
    "pwws": pwws,
    "gradient-wir": gradient_wir,
    "hotflip": hotflip,
    "hard-label": hard_label,
}

