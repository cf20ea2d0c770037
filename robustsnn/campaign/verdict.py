"""The final verdict over draws for stochastic models (docs/protocol.md).

Poisson input makes the SNN's answer vary from query to query, and TextAttack keeps
the first answer per text. So after the attack, the clean text and the attack's final
text are each re-scored with R fresh draws; the majority class decides (ties go to
the lowest class index, as ``argmax`` breaks them): the text counts as right when that
class is its true label.

Early stopping, exact by construction
-------------------------------------
The draws of a text come in chunks, and the vote stops as soon as no outcome of the
draws still to come can change the verdict; the verdict is then the one all R draws
would give. Why this is exact: adding votes to the true label never makes it lose, and
adding votes to another class never makes the label win. So, with ``m`` draws left,

* if the label does not win even when all ``m`` go to it, it wins in no completion;
* if, for every other class ``c``, the label still wins when all ``m`` go to ``c``, it
  wins in every completion (any completion in which some ``c`` beats it has ``c`` at
  most ``m`` higher and the label no lower than here).

Both tests apply the verdict's own rule (:func:`majority`) to a completed count, so ties
and the runner-up of a many-class task are decided exactly as with all R draws.

Reproducible draws: each text draws from its own stream - every RNG (torch, numpy,
random) seeded from one number taken from torch's global generator on entry and the
text's position in ``texts`` - and the chunk sizes depend only on that text's own votes
so far. So the draws of an early-stopped vote are exactly the first draws of the
full-R vote (``early_stop=False``: the same chunks, never stopping) under the same seed,
and its verdict equals that vote's verdict (tests/test_verdict.py). Whether other texts
stopped early changes nothing, and the caller's RNG states are restored afterwards, so
what comes after (one number taken from torch's generator) does not depend on it either.

What it saves: a verdict can settle only once one class has about R/2 votes, so a
clear-cut text takes R/2 to R/2 + a chunk draws instead of R; knife-edge texts take all R.
"""

from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

# Stop a text's vote as soon as its verdict is settled (False: always draw all R, in
# the same chunks from the same stream; the verdicts are the same, the counts out of R).
EARLY_STOP = True
# Draws per chunk after the first (the first is the fewest after which a verdict can
# settle, about R/2): smaller chunks stop closer to the settling point, larger ones make
# fewer, larger model calls.
CHUNK = 10


@dataclass(frozen=True)
class Votes:
    label_votes: int  # draws that predicted the true label, of ``draws``
    correct: bool  # the majority class of all R draws (ties -> lowest index) is the true label
    draws: int  # draws made: R, or fewer when the verdict was settled before the last one


def majority(counts: Sequence[int]) -> int:
    """The majority class of vote ``counts``: the most votes, ties to the lowest index
    (``np.argmax``'s rule)."""
    return max(range(len(counts)), key=lambda c: (counts[c], -c))


def settled(counts: Sequence[int], label: int, remaining: int) -> bool | None:
    """The verdict (is ``label`` the majority?) that every outcome of ``remaining`` more
    draws gives after ``counts``, or None while some outcome could still change it."""
    best = list(counts)
    best[label] += remaining  # the most favourable completion
    if majority(best) != label:
        return False
    for c in range(len(counts)):
        if c != label:
            worst = list(counts)
            worst[c] += remaining  # the least favourable completion for the runner-up c
            if majority(worst) != label:
                return None
    return True


def next_chunk(counts: Sequence[int], label: int, remaining: int, chunk: int = CHUNK) -> int:
    """Draws to make next: the fewest after which the verdict could be settled (all of
    them going to one class), at least ``chunk``, at most ``remaining``. A function of
    the text's own votes only, so early and full votes draw the same chunks."""
    for k in range(1, remaining):
        for c in range(len(counts)):
            after = list(counts)
            after[c] += k
            if settled(after, label, remaining - k) is not None:
                return min(remaining, max(chunk, k))
    return remaining


def _text_seeds(base: int, index: int) -> tuple[int, int]:
    """(torch/random seed, numpy seed) of text ``index`` under ``base``."""
    a, b = np.random.SeedSequence([base, index]).generate_state(2, dtype=np.uint32)
    return ((int(a) << 32) | int(b)) & (2**63 - 1), int(a)


@contextmanager
def _own_stream(base: int, index: int) -> Iterator[None]:
    """Every RNG seeded for text ``index``; the caller's states restored afterwards."""
    import torch

    seed, np_seed = _text_seeds(base, index)
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
    py_state, np_state = random.getstate(), np.random.get_state()
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        np.random.seed(np_seed)
        random.seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def vote(classifier: Any, text: str, label: int, draws: int, early_stop: bool = EARLY_STOP,
         chunk: int = CHUNK) -> Votes:
    """The R-draw verdict of one ``text`` from the current RNG state, in chunks
    (:func:`next_chunk`); ``early_stop``: stop once it is settled (:func:`settled`)."""
    counts = [0] * classifier.num_classes
    used = 0
    decided = None
    while used < draws:
        decided = settled(counts, label, draws - used)
        if early_stop and decided is not None:
            break
        k = next_chunk(counts, label, draws - used, chunk)
        predictions = np.asarray(classifier.predict_proba([text] * k)).argmax(axis=1)
        for p in predictions:
            counts[int(p)] += 1
        used += k
    correct = majority(counts) == label if used == draws else bool(decided)
    return Votes(counts[label], correct, used)


def majority_votes(classifier: Any, texts: list[str], label: int, draws: int,
                   early_stop: bool = EARLY_STOP, chunk: int = CHUNK) -> list[Votes]:
    """The R-draw verdict (``draws`` = R) of each of ``texts``, each from its own stream
    (see the module docstring): early-stopped by default, exact either way."""
    import torch

    base = int(torch.randint(0, 2**62, (1,)).item())
    out = []
    for index, text in enumerate(texts):
        with _own_stream(base, index):
            out.append(vote(classifier, text, label, draws, early_stop, chunk))
    return out
