"""Input spike encoding: Bernoulli ("Poisson") spike trains from positive embeddings.

Every embedding component ``p`` in [0, 1] fires with probability ``p`` at each of the
``T`` time steps. How the random numbers are drawn is chosen per call by an
:class:`Encoding` (docs/protocol.md, "A stochastic model under attack"):

* ``fresh``  - a new draw on every call (what the paper did).
* ``frozen`` - each word's spike train is a pure function of (campaign seed, position,
  token id), so the network is a deterministic function of the text and replacing one
  word changes only that word's input spikes. The uniforms come from an integer hash,
  not a stateful generator, so a batch is drawn in one vectorised pass.
* ``mean-k`` - the output rates of ``k`` fresh draws are averaged (expectation over
  transformation); at the input this is ``k`` fresh draws. Spelled with its number of
  draws wherever a user writes a mode (``--noise mean-20``, ``noise = ["mean-20"]``):
  :meth:`Encoding.parse` is the one parser, and ``str(encoding)`` spells it back.
* ``crn-k``  - the output rates of ``k`` *frozen* draws averaged, draw ``j`` the frozen
  hash with the seed :func:`crn_seed` derives from (seed, j). Every query of a search
  meets the same k draws (common random numbers): a sample-average approximation of
  mean-k's expectation that compares candidate texts without fresh noise, and each of
  its k deterministic networks can be simulated incrementally (models/incremental.py).
  :meth:`Encoding.frozen_draws` are its k frozen encodings, in draw order.
* ``direct`` - no sampling: each component's value ``p`` is injected as a constant input
  current at every step (the "direct" or "real-valued" input coding of converted SNNs).
  The same weights as under Poisson input; the network becomes a deterministic function
  of the text, so comparing it with the tailored TextCNN isolates spiking itself (binary
  neurons over T steps), and comparing it with ``fresh``/``frozen`` isolates the Poisson
  input noise.

Spikes are laid out ``[T, batch, dim, length]`` so that folding time into the batch
gives exactly the ``[N, channels, length]`` layout of ``Conv1d`` without a copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..errors import UserError
from ..noise import COUNTED, CRN, MODES, check_draws, parse_mode, spell

_MASK32 = 0xFFFFFFFF
# Multiplier of the 32-bit integer hash (Mueller's "hash32"); below 2^27, so every
# product of a 32-bit value stays below 2^63 and int64 arithmetic never overflows.
_MUL = 0x45D9F3B
_GOLDEN = 0x9E3779B9
_CRN_SALT = 0x5BD1E995  # separates crn-k's seeds from the frozen mode's


@dataclass(frozen=True)
class Encoding:
    """How input spikes are drawn for one call: ``Encoding("fresh")``,
    ``Encoding("frozen", seed=7)``, ``Encoding("mean-k", k=20)`` or ``Encoding("crn-k", k=20, seed=7)``."""

    mode: str
    k: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise UserError(f"unknown encoding mode '{self.mode}' (choices: {', '.join(MODES)})")
        from ..checks import require_nonnegative_int, require_positive_int

        require_positive_int("encoding k", self.k)
        if self.mode not in COUNTED and self.k != 1:
            raise UserError(f"encoding k applies to modes 'mean-k' and 'crn-k' only (got mode '{self.mode}', "
                            f"k={self.k})")
        if self.mode in COUNTED:
            check_draws(self.k, self.mode)
        require_nonnegative_int("encoding seed", self.seed)

    @property
    def draws(self) -> int:
        """Simulations per call (``k`` for mean-k and crn-k, else 1)."""
        return self.k

    def frozen_draws(self) -> tuple[Encoding, ...]:
        """The ``k`` frozen encodings of a ``crn-k`` call, in draw order: draw ``j`` is
        ``Encoding("frozen", seed=crn_seed(seed, j))``."""
        if self.mode != CRN:
            raise ValueError(f"frozen_draws() is for crn-k, not '{self}'")
        return tuple(Encoding("frozen", seed=crn_seed(self.seed, j)) for j in range(self.k))

    @property
    def poisson(self) -> bool:
        """Spikes are sampled: the deployed network answers differently from call to call
        (``frozen`` only fixes the draw an attacker sees), so results carry an R-draw
        verdict. False for ``direct``, which samples nothing."""
        return self.mode != "direct"

    @classmethod
    def parse(cls, text: str, seed: int = 0) -> Encoding:
        """``fresh``, ``frozen``, ``direct``, ``mean-<k>`` with ``k`` the number of fresh draws
        averaged per call (``mean-20``) or ``crn-<k>`` (k frozen draws): the one parser of a mode as users write it
        (``--noise``, a campaign's ``noise``). Case and surrounding blanks are ignored;
        ``str()`` of the result is the canonical spelling (``mean-020`` -> ``mean-20``)."""
        parsed = parse_mode(text)  # robustsnn/noise.py: the one spelling of a mode
        return cls(parsed.mode, k=parsed.k, seed=seed)

    def __str__(self) -> str:
        return spell(self.mode, self.k)


FRESH = Encoding("fresh")


def _mix32(x: torch.Tensor) -> torch.Tensor:
    """Avalanching 32-bit integer hash on int64 tensors holding values in [0, 2^32)."""
    x = x ^ (x >> 16)
    x = (x * _MUL) & _MASK32
    x = x ^ (x >> 16)
    x = (x * _MUL) & _MASK32
    return x ^ (x >> 16)


def crn_seed(seed: int, draw: int) -> int:
    """The frozen seed of draw ``draw`` of ``crn-k`` under campaign seed ``seed``: a 32-bit
    hash of the pair (distinct from the plain frozen mode's ``seed``, so crn-1 is a frozen
    draw of its own, not the frozen mode's)."""
    key = _mix32(torch.tensor((seed & _MASK32) ^ _CRN_SALT, dtype=torch.int64))
    return int(_mix32((key + (draw + 1) * _GOLDEN) & _MASK32))


def word_keys(ids: torch.Tensor, seed: int) -> torch.Tensor:
    """One 32-bit key per (position, token id) for the frozen mode: ``[batch, length]``."""
    positions = torch.arange(ids.shape[1], dtype=torch.int64).expand_as(ids)
    key = _mix32(torch.full_like(ids, seed & _MASK32, dtype=torch.int64) ^ _GOLDEN)
    key = _mix32(key ^ (ids.to(torch.int64) & _MASK32))
    return _mix32((key + positions * _GOLDEN) & _MASK32)


def frozen_uniforms(ids: torch.Tensor, seed: int, time_steps: int, dim: int) -> torch.Tensor:
    """Uniforms in [0, 1) ``[T, batch, dim, length]``, a pure function of (seed, position,
    token, t, component): the same word at the same position always gets the same train."""
    return uniforms_of_keys(word_keys(ids, seed), time_steps, dim)


def uniforms_of_keys(keys: torch.Tensor, time_steps: int, dim: int) -> torch.Tensor:
    """:func:`frozen_uniforms` from the :func:`word_keys` ``[batch, columns]`` of some
    columns (any subset of positions: each column's train depends on its key alone)."""
    keys = keys[None, :, None, :]  # [1, B, 1, L]
    counter = torch.arange(time_steps * dim, dtype=torch.int64).view(time_steps, 1, dim, 1)
    bits = _mix32(keys ^ _mix32((counter + _GOLDEN) & _MASK32))
    bits = _mix32((bits + keys) & _MASK32)  # second round: decorrelates neighbouring keys
    return (bits >> 8).to(torch.float32) * (1.0 / (1 << 24))


def input_spikes(probabilities: torch.Tensor, ids: torch.Tensor, encoding: Encoding, time_steps: int,
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw of input spikes ``[T, batch, dim, length]`` from ``probabilities``
    ``[batch, dim, length]`` (embedding values). ``mean-k`` draws fresh here; the caller
    repeats the simulation ``k`` times and averages. ``direct`` returns the values
    themselves at every step (input currents, not spikes). ``crn-k`` has no one draw: pass
    each of :meth:`Encoding.frozen_draws` instead."""
    if encoding.mode == CRN:
        raise ValueError("crn-k is k frozen draws: draw each of encoding.frozen_draws()")
    shape = (time_steps, *probabilities.shape)
    if encoding.mode == "direct":
        return probabilities.unsqueeze(0).expand(shape).contiguous()
    if encoding.mode == "frozen":
        uniforms = frozen_uniforms(ids, encoding.seed, time_steps, probabilities.shape[1])
    else:
        uniforms = torch.rand(shape, generator=generator, device=probabilities.device)
    return (uniforms < probabilities.unsqueeze(0)).to(probabilities.dtype)
