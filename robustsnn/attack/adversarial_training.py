"""A2T adversarial training of the TextCNNs (``robustsnn train --defense a2t``), offline.

It lives in ``attack/`` because it builds TextAttack attacks against the net being
trained; the training loop is ``train/``'s (the augmentation hook of
:func:`robustsnn.train.ann.ann_trainer`), which sits below ``attack/`` and never imports it.

A2T (Yoo & Qi 2021, "Towards Improving Adversarial Training of NLP Models"): after
``warmup_epochs`` clean epochs, every epoch attacks a random share (``fraction``) of the
training split with a cheap gradient-ranked word-substitution attack against the net
as it stands, and trains on the clean split plus the adversarial texts that fooled it
(each labelled with its original's label; the adversarial loss weighted like the clean
one, A2T's alpha = 1). Dev selection, early stopping, resume and the checkpoint format
are the ordinary loop's (:func:`robustsnn.train.fit.fit`), so an A2T net differs from
the plain one only by the augmentation.

The attack is A2T's (TextAttack's ``A2TYoo2021``) rebuilt from the project's offline
parts: ``GreedyWordSwapWIR(wir_method="gradient")`` over the shared counter-fitted swap,
A2T's word-embedding cosine >= 0.8 and part-of-speech constraint (NLTK's tagger,
nouns and verbs may not swap), under the standard evaluation's shared constraints
(attack/threat.py: at most 10% of the words, K = 15, the project's sentence encoder at
cosine >= 0.8) in place of A2T's own (K = 20, at least 4 words, SBERT >= 0.9).

Why not TextAttack's ``Trainer``: for a model that is not a HuggingFace one it trains
with one ``torch.optim.Adam`` over all parameters, which refuses the sparse embedding
gradients our nets train with (``SparseAdam`` for the word vectors, ``AdamW`` for the
rest), it knows nothing of the tailored net's clipping of spike probabilities after
each step, and it selects, saves and resumes in its own format; its attack loop runs
until a number of *successful* examples, an unbounded cost once the net is robust.
So the project's loop drives training and TextAttack's ``Attack`` objects only make
the examples (a fixed number of attacks per epoch: a bounded cost).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from ..artifacts import Artifact
from ..checks import require_bool, require_fraction, require_nonnegative_int
from ..config import Recipe
from ..errors import UserError
from .threat import ThreatModel

if TYPE_CHECKING:
    import torch

    from ..data.tsv import Split
    from ..models.loading import LoadedModel

NAME = "a2t"
REFERENCE = ("Yoo & Qi 2021, Towards Improving Adversarial Training of NLP Models (A2T), "
             "Findings of EMNLP 2021, arXiv:2109.00544")


def _shared_threat() -> dict[str, Any]:
    # The shared constraints' defaults, which the standard evaluation uses (a test holds
    # them equal): training against another attack than the benchmark's would teach the
    # net texts the benchmark never tries, and miss those it does.
    return ThreatModel().to_dict()


@dataclass(frozen=True)
class A2TSettings:
    """What A2T adds to a recipe's training (recorded in every checkpoint's meta)."""

    warmup_epochs: int = 1  # clean epochs first (A2T / TextAttack's num_clean_epochs)
    fraction: float = 0.2  # share of the training split attacked per later epoch
    word_similarity: float = 0.8  # A2T's word-embedding cosine between a word and its swap (0: none)
    part_of_speech: bool = True  # A2T's part-of-speech constraint (NLTK tagger)
    threat: dict[str, Any] = field(default_factory=_shared_threat)  # a ThreatModel's fields

    def __post_init__(self) -> None:
        require_nonnegative_int("a2t warmup_epochs", self.warmup_epochs)
        require_fraction("a2t fraction", self.fraction, low_open=True)
        require_fraction("a2t word_similarity", self.word_similarity)
        require_bool("a2t part_of_speech", self.part_of_speech)
        if not isinstance(self.threat, dict):
            raise UserError(f"a2t threat must be a table of threat keys, got {self.threat!r}")
        self.threat_model()  # every threat value checked now, not at the first attacked epoch

    def threat_model(self) -> ThreatModel:
        try:
            return ThreatModel(**self.threat)
        except TypeError as exc:
            raise UserError(f"a2t threat: {exc}") from None

    def to_dict(self) -> dict[str, Any]:
        """The checkpoint's meta["defense"]: the name, the paper and these settings."""
        return {"name": NAME, "reference": REFERENCE, "attack": "gradient-wir + A2T constraints",
                **asdict(self)}


def a2t_attack(model_wrapper: Any, threat: Any, settings: A2TSettings, resources: Any = None) -> Any:
    """A new ``textattack.Attack``: A2T's search and constraints under ``threat`` (see the
    module docstring), against ``model_wrapper`` (a white-box TextClassifierWrapper)."""
    from ..resources.offline import AttackResources
    from . import recipe_builders as rb  # first: it imports TextAttack offline (no downloads)
    from .recipes import _quiet_model_check

    res = resources or AttackResources()
    from textattack.constraints.grammaticality import PartOfSpeech
    from textattack.constraints.pre_transformation import RepeatModification
    from textattack.constraints.semantics import WordEmbeddingDistance
    from textattack.search_methods import GreedyWordSwapWIR

    swap = rb.counterfitted_swap(threat, res)
    constraints: list[Any] = [RepeatModification(), *rb.shared_pre_constraints(threat)]
    if settings.word_similarity:
        constraints.append(WordEmbeddingDistance(embedding=swap.embedding, min_cos_sim=settings.word_similarity))
    if settings.part_of_speech and not rb.chinese(res):  # NLTK's tagger knows no Chinese
        constraints.append(PartOfSpeech(tagger_type="nltk", allow_verb_noun_swap=False))
    with _quiet_model_check():
        return rb.assemble(model_wrapper, threat, swap, constraints, GreedyWordSwapWIR(wir_method="gradient"))


@dataclass(frozen=True)
class EpochExamples:
    """What one epoch's attacks gave: the adversarial texts and their (original) labels."""

    epoch: int
    attacked: int  # examples handed to the attack (misclassified ones are skipped by it)
    texts: tuple[str, ...]
    labels: tuple[int, ...]
    seconds: float


class A2TAugmentation:
    """The :class:`~robustsnn.train.ann.Augmentation` of A2T: each epoch after the warm-up,
    attack ``fraction`` of the training split (drawn with a generator seeded by the
    recipe seed and the epoch, so a resumed run attacks the same examples) and return
    the successful adversarial texts, encoded. Each epoch's texts are also written to
    ``<run>/adversarial/epoch-<e>.tsv`` when a run folder is given."""

    def __init__(self, settings: A2TSettings, seed: int, resources: Any = None, run_dir: Path | None = None,
                 log: Callable[[str], None] = print) -> None:
        self.settings = settings
        self.seed = seed
        self.resources = resources
        self.run_dir = run_dir
        self.log = log
        self.defense = settings.to_dict()
        self.select_after = settings.warmup_epochs  # the warm-up nets saw no adversarial example
        self.history: list[EpochExamples] = []
        self._attack: Any = None

    def _build(self, network: LoadedModel) -> Any:
        """The attack against ``network`` (built once: it follows the net's weights as they
        train, and its caches are cleared after every example)."""
        if self._attack is None:
            from ..classifier import NetworkClassifier
            from ..resources.offline import AttackResources
            from .wrappers import TextClassifierWrapper

            self.resources = self.resources or AttackResources()
            self._attack = a2t_attack(TextClassifierWrapper(NetworkClassifier(network)),
                                      self.settings.threat_model(), self.settings, self.resources)
        return self._attack

    def chosen(self, epoch: int, n: int) -> list[int]:
        """The training examples attacked in ``epoch`` (sorted indices)."""
        import torch

        count = math.ceil(self.settings.fraction * n)
        # Seeded by the recipe seed and the epoch alone (a resumed run draws the same), and
        # offset from the epoch's shuffling seed (fit.epoch_seed) so the two draws differ.
        generator = torch.Generator().manual_seed(self.seed * 100_003 + epoch + 7_919)
        return sorted(torch.randperm(n, generator=generator)[:count].tolist())

    def generate(self, epoch: int, network: LoadedModel, train: Split) -> EpochExamples:
        """Attack this epoch's share of ``train`` against ``network`` as it stands."""
        attack = self._build(network)  # imports TextAttack offline before the line below
        from textattack.attack_results import SuccessfulAttackResult

        began = time.perf_counter()
        picked = self.chosen(epoch, len(train))
        texts, labels = [], []
        was_training = network.model.training
        network.model.eval()  # dropout off: the attack sees the net as it will be deployed
        try:
            for i in picked:
                result = attack.attack(train.texts[i], int(train.labels[i]))
                attack.clear_cache()  # the weights change between epochs: no stale scores
                if isinstance(result, SuccessfulAttackResult):
                    texts.append(result.perturbed_result.attacked_text.text)
                    labels.append(int(train.labels[i]))
        finally:
            network.model.train(was_training)
        return EpochExamples(epoch, len(picked), tuple(texts), tuple(labels), time.perf_counter() - began)

    def examples(self, epoch: int, network: LoadedModel, train: Split) -> tuple[torch.Tensor, torch.Tensor] | None:
        """This epoch's adversarial examples, encoded (None during the warm-up or when no
        attack succeeded)."""
        import torch

        if epoch <= self.settings.warmup_epochs:
            return None
        made = self.generate(epoch, network, train)
        self.history.append(made)
        self.log(f"a2t epoch {epoch}: {len(made.texts)} adversarial examples from {made.attacked} attacked "
                 f"training examples ({made.seconds:.0f}s)")
        if self.run_dir is not None:
            self._write(made)
        if not made.texts:
            return None
        return network.encoder.encode(list(made.texts)), torch.tensor(made.labels, dtype=torch.long)

    def _write(self, made: EpochExamples) -> None:
        from ..io_utils import atomic_write_text

        rows = "".join(f"{y}\t{t}\n" for y, t in zip(made.labels, made.texts))
        atomic_write_text(Path(self.run_dir) / "adversarial" / f"epoch-{made.epoch}.tsv", "label\ttext\n" + rows)


def train_a2t(recipe: Recipe, kind: str, run_dir: Path | None = None, resume: bool = False,
              log: Callable[[str], None] = print, settings: A2TSettings | None = None,
              resources: Any = None) -> Any:
    """Train ``kind`` (textcnn | tailored) from ``recipe`` with A2T; the ordinary loop's
    :class:`~robustsnn.train.ann.TrainResult`. Default run folder: the ``-a2t`` one of
    :mod:`robustsnn.artifacts` (``<runs>/<dataset>/textcnn-a2t``). ``resources``: an
    :class:`~robustsnn.resources.AttackResources` for the attack (tests pass small ones)."""
    from ..train.ann import ann_trainer
    from ..train.fit import fit

    settings = settings or A2TSettings()
    if recipe.train.max_epochs <= settings.warmup_epochs:
        raise UserError(f"train.max_epochs ({recipe.train.max_epochs}) must exceed a2t's "
                        f"{settings.warmup_epochs} clean warm-up epochs")
    run_dir = Path(run_dir or Artifact(kind, defense=NAME).run_path(recipe.data.dataset))
    augment = A2TAugmentation(settings, recipe.train.seed, resources, run_dir, log)
    return fit(ann_trainer(recipe, kind, augment), run_dir, resume, log)
