"""The spiking TextCNN: the tailored network's layers on snnTorch LIF neurons.

Layer mapping (tailored ANN -> spiking net), and why
----------------------------------------------------

=========================  ==========================================================
tailored TextCNN           spiking TextCNN
=========================  ==========================================================
positive embedding p       Bernoulli spike generator, P(spike) = p per step (encoding.py)
conv_w (no bias)           the same ``Conv1d`` weights, applied to input spikes
ReLU after each conv       one ``snntorch.Leaky`` per branch (``conv_lifs[i]``, never shared)
average pool over words    average of the branch's *spike trains* over word positions
(nothing)                  ``pool_lif``: a neuron layer after pooling
dropout                    dropout on the pooled spikes (one mask per example, all steps)
fc (no bias)               the same ``Linear`` weights
population sum per class   ``out_lif``: 10 (``neurons_per_class``) output neurons per class
=========================  ==========================================================

An integrate-and-fire neuron (beta 1, reset by subtraction, threshold theta) driven by a
current with time-average ``I`` fires at rate ``clip(I / theta, 0, 1)``: it *is* a ReLU
(clipped at one spike per step). Conv is linear, so the mean conv current equals the
ANN's conv output on ``p``; the branch neurons then fire at ~``relu(conv(p))`` and the
average of their spike trains over positions is ~ the ANN's average-pooled feature.
Pooling is averaging only (no neuron can emit "0.37 spikes"), so the averaged trains are
graded; ``pool_lif`` turns them back into binary spikes at the same rate (its input is
at most 1 per step, so it never saturates) - the fc layer then sees spikes, as on
neuromorphic hardware. The output neurons fire at ~``clip(fc(pooled), 0, 1)``; the ANN
sums the same pre-activations per class, but negative ones are cut at zero here
(docs/method.md, "Practical notes": a known conversion loss). Conversion is therefore a pure
weight copy; normalisation (convert.py) only rescales weights.

Speed: no layer feeds back, so each layer is run over all ``T`` steps before the next.
Conv, pooling and fc are stateless and run once over time folded into the batch
(``[T * batch, ...]``); only the neuron recurrences step through time. This is exactly
the per-step network (:func:`simulate_stepwise`, the reference), just reordered. Without
autograd the recurrences run in place, with autograd as one fused node per layer
(neurons.py: :func:`run_neurons`), with spikes, membranes and gradients identical to
``snntorch.Leaky``'s. Both forms do the same convolution FLOPs, which dominate on a CPU
(benchmarks/snn_throughput.py measures what the reordering buys).

State: every recurrence starts from an explicit zero membrane and the neuron modules'
stored membrane is cleared afterwards, so nothing survives a forward call (snnTorch's
``Leaky(x, mem=None)`` would otherwise reuse the last call's membrane).

Decisions (ties): a class's score is its spike count over time and population; equal
counts go to the class with the larger summed final output membrane (with beta 1 and
reset by subtraction, count + membrane / theta is exactly the class's total input
current, so this ranks by "closest to its next spike"); exact ties left after that go
to the lowest class index. :attr:`SNNOutput.scores` folds this rule into one number per
class, so ``scores.argmax(1)`` is the prediction and attack wrappers can normalise it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..noise import CRN, DIRECT
from .encoding import FRESH, Encoding, input_spikes
from .neurons import leaky_layer, run_neurons  # noqa: F401  (re-exported)
from .textcnn import _embedding


@dataclass
class Simulation:
    """One simulated draw."""

    out_spikes: torch.Tensor  # [T, batch, classes * neurons_per_class]
    out_membrane: torch.Tensor  # [batch, classes * neurons_per_class] after the last step
    layer_spikes: dict[str, torch.Tensor]  # layer name -> spikes per example [batch] (detached)


@dataclass
class SNNOutput:
    """Decoded output of one call (averaged over the draws of ``mean-k`` or ``crn-k``)."""

    rates: torch.Tensor  # [batch, classes] in [0, 1]: mean over time and class population
    membrane: torch.Tensor  # [batch, classes]: summed final output membrane / threshold
    scores: torch.Tensor  # [batch, classes] in [0, 1): rates with the tie rule folded in
    layer_rates: dict[str, torch.Tensor]  # layer -> firing rate per neuron per step [batch]
    time_steps: int

    @property
    def predictions(self) -> torch.Tensor:
        return self.scores.argmax(dim=1)


class SpikingTextCNN(nn.Module):
    """Spiking TextCNN over id rows ``[batch, length]`` (see the module docstring)."""

    kind = "snn"

    def __init__(self, vocab_size: int, dim: int, num_classes: int, widths: Sequence[int] = (3, 4, 5),
                 maps: int = 100, dropout: float = 0.5, neurons_per_class: int = 10,
                 time_steps: int = 50, threshold: float = 1.0, beta: float = 1.0,
                 surrogate_slope: float = 25.0):
        super().__init__()
        self.num_classes = num_classes
        self.neurons_per_class = neurons_per_class
        self.time_steps = time_steps
        self.threshold = threshold
        self.widths = tuple(widths)
        self.maps = maps
        self.dropout_p = dropout
        # Rows (time steps x batch) per conv call; see simulate(). Speed only, not results.
        self.fold_rows = 256
        # Rows (draws x texts) per simulation of a mean-k call; see _draw_simulations().
        # Speed and memory only (the input spikes of a group are held at once), not results.
        # Measured on the SST-2 SNN, mean-20, one thread: 2.3x faster for one text, 1.3x
        # for two, 1.15x for four, ~1x from eight (larger groups spill the cache).
        self.fold_draw_rows = 64
        # Frozen during fine-tuning: gradients cannot pass the Bernoulli sampling (see
        # snn_training.py); the tailored net already trained the rows it saw.
        self.embedding = _embedding(torch.zeros(vocab_size, dim), False)
        self.convs = nn.ModuleList(nn.Conv1d(dim, maps, w, bias=False) for w in widths)
        self.fc = nn.Linear(maps * len(widths), num_classes * neurons_per_class, bias=False)
        self.conv_lifs = nn.ModuleList(leaky_layer(beta, threshold, surrogate_slope) for _ in widths)
        self.pool_lif = leaky_layer(beta, threshold, surrogate_slope)
        self.out_lif = leaky_layer(beta, threshold, surrogate_slope)

    # ---------------------------------------------------------------- pieces

    def probabilities(self, ids: torch.Tensor) -> torch.Tensor:
        """Firing probabilities ``[batch, dim, length]`` (embedding values, clipped to [0, 1])."""
        return self.embedding(ids).transpose(1, 2).clamp(0.0, 1.0)

    def encode(self, ids: torch.Tensor, encoding: Encoding = FRESH, time_steps: int | None = None,
               generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw of input spikes ``[T, batch, dim, length]``."""
        with torch.no_grad():
            p = self.probabilities(ids)
        return input_spikes(p, ids, encoding, time_steps or self.time_steps, generator)

    def layer_sizes(self, length: int) -> dict[str, int]:
        """Neurons per layer for sentences of ``length`` tokens (for firing rates)."""
        sizes = {"input": self.embedding.embedding_dim * length}
        for i, w in enumerate(self.widths):
            sizes[f"conv{i}"] = self.maps * max(length - w + 1, 0)
        sizes["pool"] = self.maps * len(self.widths)
        sizes["output"] = self.fc.out_features
        return sizes

    def _dropout_mask(self, batch: int, features: int, like: torch.Tensor) -> torch.Tensor | None:
        if not self.training or self.dropout_p == 0.0:
            return None
        return F.dropout(torch.ones(batch, features, dtype=like.dtype), self.dropout_p, True)

    def simulate(self, spikes: torch.Tensor, constant: bool = False) -> Simulation:
        """Run the network on input spikes ``[T, batch, dim, length]``; ``constant``: the
        input is the same at every step (``direct`` currents; see :meth:`conv_stage`).

        Time is folded into the batch in chunks of ``fold_rows // batch`` steps: one conv
        call per chunk and branch (few calls for small batches, where per-call overhead
        dominates) while each chunk's currents stay cache-sized (for large batches, a
        fully folded ``[T * batch, ...]`` tensor spills the cache and runs slower than a
        per-step loop). Membranes carry over between chunks, so the result does not
        depend on the chunking. The convolutional stage runs over all steps first, then
        the tail (pool neurons, fc, output neurons) over the same chunks: every layer
        sees exactly the tensors it would see interleaved, so the order changes nothing;
        it lets :mod:`.incremental` assemble the pooled input of some rows from a cache."""
        steps, batch = spikes.shape[:2]
        chunk = self.fold_chunk(steps, batch)
        pooled, counts = self.conv_stage(spikes, chunk, constant=constant)
        return self.tail(pooled, chunk, counts)

    def fold_chunk(self, steps: int, batch: int) -> int:
        """Time steps per folded call for a batch of ``batch`` rows."""
        return max(1, min(steps, self.fold_rows // max(batch, 1)))

    def conv_stage(self, spikes: torch.Tensor, chunk: int, keep_spikes: bool = False,
                   constant: bool = False) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Convolutions, branch neurons and average pooling: ``(pooled [T, batch,
        branches * maps], spike counts per example)``. With ``keep_spikes`` the counts also
        hold each branch's spikes per position, ``"spikes{i}"`` ``[T, batch, maps, length -
        w + 1]`` as bool (positions past the trimmed length are silent: zeros).

        ``constant``: ``spikes`` is the same at every step (``direct`` input currents).
        Then every chunk of ``n`` steps hands a convolution the same tensor, so its output
        from the first such chunk serves the others (outside autograd): the same input in
        the same shape, so the same bits as computing it again (tests/test_snn_model.py),
        at one convolution per chunk length instead of one per chunk."""
        steps, batch, dim, length = spikes.shape
        # Average pooling divides by every window of the padded row, trimmed or not.
        windows = [max(length - w + 1, 1) for w in self.widths]
        full_length = length
        keep = self.active_length(spikes)
        if keep < length:
            spikes = spikes[..., :keep].contiguous()
            length = keep
        mems: list[torch.Tensor | None] = [None] * len(self.convs)
        counts = {"input": spikes.detach().sum(dim=(0, 2, 3))}
        for i in range(len(self.convs)):
            counts[f"conv{i}"] = torch.zeros(batch)
            if keep_spikes:
                counts[f"spikes{i}"] = torch.zeros(steps, batch, self.maps, max(full_length - self.widths[i] + 1, 0),
                                                   dtype=torch.bool)
        pooled_chunks = []
        reuse = ConvReuse(constant)
        for start in range(0, steps, chunk):
            x = spikes[start : start + chunk]
            n = x.shape[0]
            folded = x.reshape(n * batch, dim, length)
            pooled = []
            for i, (conv, lif) in enumerate(zip(self.convs, self.conv_lifs)):
                cur = reuse(i, n, conv, folded)
                spk, mems[i] = run_neurons(lif, cur.view(n, batch, *cur.shape[1:]), mems[i])
                counts[f"conv{i}"] += spk.detach().sum(dim=(0, 2, 3))
                if keep_spikes:
                    counts[f"spikes{i}"][start : start + n, :, :, : spk.shape[3]] = spk.detach() > 0
                pooled.append(spk.sum(dim=3) / windows[i])  # average pool over word positions
            pooled_chunks.append(torch.cat(pooled, dim=2))
        return torch.cat(pooled_chunks), counts

    def tail(self, pooled: torch.Tensor, chunk: int, counts: dict[str, torch.Tensor]) -> Simulation:
        """Pool neurons, dropout, fc and output neurons over ``pooled`` ``[T, batch,
        features]`` in chunks of ``chunk`` steps; ``counts`` gains "pool" and "output"."""
        steps, batch = pooled.shape[:2]
        mem_pool: torch.Tensor | None = None
        mem_out: torch.Tensor | None = None
        mask = self._dropout_mask(batch, self.fc.in_features, pooled)
        counts = {k: v for k, v in counts.items() if not k.startswith("spikes")}
        counts["pool"], counts["output"] = torch.zeros(batch), torch.zeros(batch)
        outputs = []
        for start in range(0, steps, chunk):
            pool_spk, mem_pool = run_neurons(self.pool_lif, pooled[start : start + chunk], mem_pool)
            counts["pool"] += pool_spk.detach().sum(dim=(0, 2))
            if mask is not None:
                pool_spk = pool_spk * mask
            out_spk, mem_out = run_neurons(self.out_lif, self.fc(pool_spk), mem_out)
            counts["output"] += out_spk.detach().sum(dim=(0, 2))
            outputs.append(out_spk)
        return Simulation(torch.cat(outputs), mem_out, counts)

    def active_length(self, spikes: torch.Tensor) -> int:
        """Columns of ``spikes`` ``[T, batch, dim, length]`` the convolutions need: up to the
        last position where any input spikes, plus the widest window's reach past it.

        Why this is exact: nothing has a bias, so a window whose input columns are all
        silent gets exactly zero current at every step; its membrane stays exactly 0 and
        it never spikes (threshold > 0). Dropping those windows changes no spike, no
        membrane and no spike count; pooling keeps dividing by the padded row's window
        count, and spike sums are whole numbers (exact in float32), so the pooled rates
        are bit-identical too (tests/test_snn_model.py checks outputs against the
        per-step reference). It saves the convolution work on trailing padding shared by
        the whole batch: a batch of one sentence's perturbations (attacks) or of short
        sentences. A training batch of 32 SST-2 sentences nearly always holds one at the
        pad length, so it saves nothing there."""
        length = spikes.shape[-1]
        # Spikes are 0/1, so a column is active iff its sum is positive; a row-wise sum over
        # the contiguous [-1, length] view is ~10x faster than amax over dims (0, 1, 2).
        columns = spikes.detach().reshape(-1, length).sum(dim=0).nonzero()
        last = int(columns.max()) + 1 if len(columns) else 0
        return min(length, max(last + max(self.widths) - 1, max(self.widths)))

    def population_counts(self, out_spikes: torch.Tensor) -> torch.Tensor:
        """Output spikes ``[T, batch, C * N]`` -> per-step spikes per class ``[T, batch, C]``."""
        steps, batch, _ = out_spikes.shape
        return out_spikes.view(steps, batch, self.num_classes, self.neurons_per_class).sum(dim=3)

    # ---------------------------------------------------------------- public API

    def forward(self, ids: torch.Tensor, encoding: Encoding = FRESH, time_steps: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-step population spike counts ``[T, batch, classes]`` (each in 0..N) of one
        draw - what the training loss consumes (:func:`rate_loss`)."""
        spikes = self.encode(ids, encoding, time_steps, generator)
        return self.population_counts(self.simulate(spikes).out_spikes)

    @torch.no_grad()
    def run(self, ids: torch.Tensor, encoding: Encoding = FRESH, time_steps: int | None = None,
            generator: torch.Generator | None = None, simulator: Any = None) -> SNNOutput:
        """Decoded output of one call: ``encoding.draws`` simulations averaged. Runs in the
        module's current mode (``load_model`` returns it in eval mode: no dropout).
        ``simulator``: an :class:`~.incremental.IncrementalSimulator` for ``encoding`` (a
        :class:`~.incremental.CommonDrawsSimulator` for ``crn-k``): same outputs, bit for
        bit; faster on texts that differ in a few words."""
        steps = time_steps or self.time_steps
        draws = encoding.draws
        n = self.neurons_per_class
        counts = torch.zeros(len(ids), self.num_classes)
        membrane = torch.zeros(len(ids), self.num_classes)
        spikes: dict[str, torch.Tensor] = {}
        if simulator is not None and (simulator.encoding != encoding or simulator.time_steps != steps):
            raise ValueError(f"the simulator runs {simulator.encoding} with T={simulator.time_steps}, "
                             f"this call {encoding} with T={steps}")
        for sim in self._draw_simulations(ids, encoding, steps, generator, simulator):
            counts += self.population_counts(sim.out_spikes).sum(dim=0)  # whole spikes: exact
            membrane += sim.out_membrane.view(len(ids), self.num_classes, n).sum(dim=2) / self.threshold
            for name, count in sim.layer_spikes.items():
                spikes[name] = spikes.get(name, 0) + count
        # Divide once, so equal spike totals give bit-equal rates and the tie rule applies.
        rates, membrane = counts / (draws * steps * n), membrane / draws
        sizes = self.layer_sizes(ids.shape[1])
        layer_rates = {name: count / (draws * steps * max(sizes[name], 1)) for name, count in spikes.items()}
        return SNNOutput(rates, membrane, tie_broken_scores(rates, membrane, steps * n * draws),
                         layer_rates, steps)

    def _draw_simulations(self, ids: torch.Tensor, encoding: Encoding, steps: int,
                          generator: torch.Generator | None, simulator: Any) -> Iterator[Simulation]:
        """The ``encoding.draws`` simulations of one call, one per draw and in draw order.

        Fresh draws are folded into the batch: up to ``fold_draw_rows`` rows (draws x
        texts) run as one simulation, so a mean-k query of a few texts costs a few large
        convolutions instead of k small ones. The uniforms are drawn draw by draw exactly as
        unfolded (same generator calls, same order), every neuron is per row, and the
        caller sums the draws in the same order, so the outputs are bit-identical to
        simulating each draw alone (tests/test_snn_model.py). ``crn-k`` folds alike, draw
        ``j`` being the frozen draw of :meth:`Encoding.frozen_draws` ``[j]``; with a
        simulator, that simulator yields the k draws (``simulate_draws``)."""
        if simulator is not None:
            if encoding.mode == CRN:
                yield from simulator.simulate_draws(ids)
                return
            for _ in range(encoding.draws):
                yield simulator.simulate(ids)
            return
        batch = len(ids)
        per_group = max(1, self.fold_draw_rows // max(batch, 1))
        with torch.no_grad():
            p = self.probabilities(ids)
        each = encoding.frozen_draws() if encoding.mode == CRN else (encoding,) * encoding.draws
        for first in range(0, encoding.draws, per_group):
            group = min(per_group, encoding.draws - first)
            drawn = [input_spikes(p, ids, each[first + j], steps, generator) for j in range(group)]
            if group == 1:
                yield self.simulate(drawn[0], constant=encoding.mode == DIRECT)
                continue
            sim = self.simulate(torch.cat(drawn, dim=1))
            del drawn
            for j in range(group):
                rows = slice(j * batch, (j + 1) * batch)
                yield Simulation(sim.out_spikes[:, rows], sim.out_membrane[rows],
                                 {name: count[rows] for name, count in sim.layer_spikes.items()})

    def class_rates(self, ids: torch.Tensor, encoding: Encoding = FRESH, time_steps: int | None = None,
                    generator: torch.Generator | None = None) -> torch.Tensor:
        """Per-class output rates ``[batch, classes]`` in [0, 1] (no gradient)."""
        return self.run(ids, encoding, time_steps, generator).rates

    def predict(self, ids: torch.Tensor, encoding: Encoding = FRESH, time_steps: int | None = None,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Predicted classes ``[batch]`` under the documented tie rule."""
        return self.run(ids, encoding, time_steps, generator).predictions


class ConvReuse:
    """The convolutions of a simulation whose input is the same at every time step
    (``direct``): ``reuse(branch, n, conv, x)`` is ``conv(x)``, computed once per branch and
    chunk length ``n`` when ``constant`` and no gradient is recorded, since every chunk of
    that length feeds the branch the same tensor. Otherwise it simply calls ``conv``."""

    def __init__(self, constant: bool):
        self.on = constant and not torch.is_grad_enabled()
        self.outputs: dict[tuple[int, int], torch.Tensor] = {}

    def __call__(self, branch: int, n: int, conv: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if not self.on:
            return conv(x)
        key = (branch, n)
        if key not in self.outputs:
            self.outputs[key] = conv(x)
        return self.outputs[key]


def tie_broken_scores(rates: torch.Tensor, membrane: torch.Tensor, resolution: int) -> torch.Tensor:
    """``rates`` plus a tie-break smaller than one spike count: ``resolution`` is the number
    of (draw x step x neuron) slots, so distinct rates differ by at least ``1/resolution``
    and the membrane term (< ``0.5/resolution``) only orders equal rates. Scaled to [0, 1)."""
    delta = 0.5 / resolution
    return (rates + delta * torch.sigmoid(membrane)) / (1.0 + delta)


def rate_loss(counts: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the per-step population spike counts ``[T, batch, C]`` used as
    logits, averaged over time steps and examples (docs/method.md, step 5)."""
    steps, batch, classes = counts.shape
    return F.cross_entropy(counts.reshape(steps * batch, classes), labels.repeat(steps))


def simulate_stepwise(model: SpikingTextCNN, spikes: torch.Tensor) -> Simulation:
    """Reference: the straightforward snnTorch loop (every layer once per time step).
    Slow; kept to check and benchmark the folded :meth:`SpikingTextCNN.simulate`."""
    steps, batch, _, _ = spikes.shape
    mems = [None] * (len(model.convs) + 2)
    out_spikes, names = [], ["input", *(f"conv{i}" for i in range(len(model.convs))), "pool", "output"]
    counts = {name: torch.zeros(batch) for name in names}
    mask = model._dropout_mask(batch, model.fc.in_features, spikes)
    lifs = [*model.conv_lifs, model.pool_lif, model.out_lif]
    try:
        for t in range(steps):
            x = spikes[t]
            counts["input"] += x.detach().sum(dim=(1, 2))
            pooled = []
            for i, conv in enumerate(model.convs):
                cur = conv(x)
                mems[i] = torch.zeros_like(cur) if mems[i] is None else mems[i]
                spk, mems[i] = model.conv_lifs[i](cur, mems[i])
                counts[f"conv{i}"] += spk.detach().sum(dim=(1, 2))
                pooled.append(spk.mean(dim=2))
            cur = torch.cat(pooled, dim=1)
            mems[-2] = torch.zeros_like(cur) if mems[-2] is None else mems[-2]
            pool_spk, mems[-2] = model.pool_lif(cur, mems[-2])
            counts["pool"] += pool_spk.detach().sum(dim=1)
            cur = model.fc(pool_spk if mask is None else pool_spk * mask)
            mems[-1] = torch.zeros_like(cur) if mems[-1] is None else mems[-1]
            out, mems[-1] = model.out_lif(cur, mems[-1])
            counts["output"] += out.detach().sum(dim=1)
            out_spikes.append(out)
    finally:
        for lif in lifs:
            lif.mem = torch.zeros(0)
    return Simulation(torch.stack(out_spikes), mems[-1], counts)
