"""A small spiking transformer for text classification (Spikformer / SpikeBERT's student).

The second spiking family next to the converted spiking TextCNN (snn.py): trained
directly with surrogate gradients, never converted. Per example, over ``T`` steps:

=====================  ======================================================================
stage                  what it does
=====================  ======================================================================
input ("direct")       the positive word vectors in [0, 1] are input *currents*, the same at
                       every step: nothing is sampled, so the network is a deterministic
                       function of the text (a TextCNN-like classifier to the harness)
spiking tokenizer      ``Conv1d`` over ``kernel`` neighbouring words + BatchNorm: each position's
                       current also carries its neighbours (Spikformer's convolutional
                       patch embedding; the only source of word order, as the attention
                       itself is blind to position)
block x ``depth``      spiking self-attention, then a spiking MLP, each as a residual branch
spiking self-attention ``Q, K, V = LIF(BN(W s))`` are binary spike tensors; the attention is
                       ``scale * Q (K^T V)`` with **no softmax** (products of spikes are
                       non-negative counts already), then ``LIF`` at ``attention_threshold``
                       and a BN-ed projection
spiking MLP            ``BN(W2 LIF(BN(W1 s)))``
readout                the last stream through a LIF layer; the spike rate of each channel over
                       time and words (padding excluded), dropout, a linear head: class scores
=====================  ======================================================================

Residuals are added to the membrane stream (the "membrane shortcut" of the spike-driven
transformer, Yao et al. 2023), not to spikes as in Spikformer v1: every branch starts with
a LIF layer, so every weight matrix multiplies binary spikes (adds, no multiplies), and
no spike tensor ever holds a 2.

Padding: a position whose input vector is all zeros is padding (the padding row is pinned
at zero: ``padding_idx`` gets no gradient, and training clips the rows to [0, 1]). Its
key spikes are masked out of attention and its spikes out of the readout, so a text's
scores do not depend on how much padding follows it.

Firing rates: :meth:`SpikingTransformer.run` gives the class scores of the same forward
pass together with each LIF layer's firing rate per example (spikes per neuron per step,
over all ``T x length`` positions, padding included, like ``SpikingTextCNN.run``'s
``layer_rates``); reports/energy.py prices the layers those spikes feed. The recording
only reads the spike tensors, so the scores are those of ``forward``, bit for bit.

Neurons: the project's LIF (neurons.py): snnTorch ``Leaky`` layers (reset by subtraction,
fast-sigmoid surrogate) stepped by the fused in-place recurrence with a hand-written
backward, which gives snnTorch's exact spikes and gradients (tests/test_snn_model.py)
faster than stepping ``Leaky.forward``; ``fused=False`` runs snnTorch's own steps (the
reference; docs/training.md gives the measured difference). Every stateless layer runs
once over time folded into the batch; only the recurrences step through time.

``classify(embedded)`` takes the word vectors ``[batch, length, dim]`` like the TextCNNs,
so the white-box attacks differentiate through the surrogate exactly as through a
TextCNN (models/gradients.py, ``ann_input_gradient``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from .neurons import leaky_layer, run_neurons
from .textcnn import _embedding, clip_unit_rows

# Records a layer's output spikes ``[T, batch, ...]`` under a name (see SpikingTransformer.run).
Recorder = Callable[[str, torch.Tensor], None]


class LIF(nn.Module):
    """One layer of LIF neurons over ``[T, ...]`` currents (no state between calls)."""

    def __init__(self, threshold: float, beta: float, slope: float):
        super().__init__()
        self.lif = leaky_layer(beta, threshold, slope)
        self.fused = True  # False: snnTorch's per-step Leaky.forward (the reference)

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        spikes, _ = run_neurons(self.lif, currents, fused=self.fused)
        return spikes


class LinearBN(nn.Module):
    """``BN(W x)`` on ``[T, B, L, C_in]`` (time, batch and words folded into the BN batch)."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.linear = nn.Linear(c_in, c_out, bias=False)  # BN's shift is the bias
        self.norm = nn.BatchNorm1d(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape[:-1]
        y = self.norm(self.linear(x.reshape(-1, x.shape[-1])))
        return y.view(*shape, -1)


class SpikingSelfAttention(nn.Module):
    """Q, K, V as spike tensors; ``scale * Q (K^T V)`` without softmax; LIF; projection."""

    def __init__(self, width: int, heads: int, scale: float, threshold: float,
                 attention_threshold: float, beta: float, slope: float):
        super().__init__()
        self.heads, self.scale = heads, scale
        self.q, self.k, self.v = LinearBN(width, width), LinearBN(width, width), LinearBN(width, width)
        self.q_lif, self.k_lif, self.v_lif = (LIF(threshold, beta, slope) for _ in range(3))
        self.attn_lif = LIF(attention_threshold, beta, slope)
        self.proj = LinearBN(width, width)

    def qkv(self, s: torch.Tensor, mask: torch.Tensor,
            record: Recorder | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The spike tensors ``[T, B, heads, L, width / heads]`` (padding keys silenced;
        ``record`` sees the keys after the mask, the spikes the product reads)."""
        t, b, length, width = s.shape

        def split(x: torch.Tensor) -> torch.Tensor:
            return x.view(t, b, length, self.heads, width // self.heads).transpose(2, 3)

        q = self.q_lif(self.q(s))
        k = self.k_lif(self.k(s)) * mask[None, :, :, None]
        v = self.v_lif(self.v(s))
        if record is not None:
            record("q_lif", q)
            record("k_lif", k)
            record("v_lif", v)
        return split(q), split(k), split(v)

    def forward(self, s: torch.Tensor, mask: torch.Tensor, record: Recorder | None = None) -> torch.Tensor:
        t, b, length, width = s.shape
        q, k, v = self.qkv(s, mask, record)
        # Without a softmax the product is associative: K^T V first is [d, d] per head,
        # linear in the number of words (and exact: sums of 0/1 products are integers).
        attended = q @ (k.transpose(-2, -1) @ v) * self.scale  # [T, B, heads, L, d]
        attended = attended.transpose(2, 3).reshape(t, b, length, width)
        spikes = self.attn_lif(attended)
        if record is not None:
            record("attn_lif", spikes)
        return self.proj(spikes)


class SpikingMLP(nn.Module):
    def __init__(self, width: int, hidden: int, threshold: float, beta: float, slope: float):
        super().__init__()
        self.fc1, self.fc2 = LinearBN(width, hidden), LinearBN(hidden, width)
        self.hidden_lif = LIF(threshold, beta, slope)

    def forward(self, s: torch.Tensor, record: Recorder | None = None) -> torch.Tensor:
        spikes = self.hidden_lif(self.fc1(s))
        if record is not None:
            record("hidden_lif", spikes)
        return self.fc2(spikes)


class SpikingBlock(nn.Module):
    """``h += SSA(LIF(h)); h += MLP(LIF(h))`` on the membrane stream ``h``."""

    def __init__(self, width: int, heads: int, mlp_ratio: int, scale: float, threshold: float,
                 attention_threshold: float, beta: float, slope: float):
        super().__init__()
        self.attn_in, self.mlp_in = LIF(threshold, beta, slope), LIF(threshold, beta, slope)
        self.attention = SpikingSelfAttention(width, heads, scale, threshold, attention_threshold, beta, slope)
        self.mlp = SpikingMLP(width, width * mlp_ratio, threshold, beta, slope)

    def forward(self, h: torch.Tensor, mask: torch.Tensor, record: Recorder | None = None) -> torch.Tensor:
        s = self.attn_in(h)
        if record is not None:
            record("attn_in", s)
        h = h + self.attention(s, mask, record)
        s = self.mlp_in(h)
        if record is not None:
            record("mlp_in", s)
        return h + self.mlp(s, record)


@dataclass
class SpikformerOutput:
    """Class scores of one forward pass and the firing rates of its LIF layers."""

    scores: torch.Tensor  # [batch, classes]: what forward returns
    layer_rates: dict[str, torch.Tensor]  # LIF layer -> spikes per neuron per step [batch]
    time_steps: int

    @property
    def predictions(self) -> torch.Tensor:
        return self.scores.argmax(dim=1)


class SpikingTransformer(nn.Module):
    """Spikformer-style text classifier over ``T`` steps of direct (current) input."""

    kind = "spikformer"

    def __init__(self, vocab_size: int, dim: int, num_classes: int, width: int = 128, depth: int = 1,
                 heads: int = 4, mlp_ratio: int = 2, kernel: int = 3, time_steps: int = 4,
                 threshold: float = 1.0, attention_threshold: float = 0.5, beta: float = 0.5,
                 surrogate_slope: float = 4.0, attention_scale: float = 0.125, dropout: float = 0.1):
        super().__init__()
        self.time_steps = time_steps
        self.embedding = _embedding(torch.zeros(vocab_size, dim), True)
        self.tokenizer = nn.Conv1d(dim, width, kernel, padding=kernel // 2, bias=False)
        self.tokenizer_norm = nn.BatchNorm1d(width)
        self.blocks = nn.ModuleList(
            SpikingBlock(width, heads, mlp_ratio, attention_scale, threshold, attention_threshold, beta,
                         surrogate_slope) for _ in range(depth))
        self.out_lif = LIF(threshold, beta, surrogate_slope)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(width, num_classes)

    def set_fused(self, fused: bool) -> None:
        """Step every LIF layer by the fused recurrence (True) or by snnTorch (False)."""
        for module in self.modules():
            if isinstance(module, LIF):
                module.fused = fused

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embedding(ids))

    def classify(self, embedded: torch.Tensor, record: Recorder | None = None) -> torch.Tensor:
        """Class scores ``[B, classes]`` from word vectors ``[B, L, dim]`` (white-box
        attacks differentiate here). ``record(name, spikes)`` is called with every LIF
        layer's output spikes (see :meth:`run`); it changes nothing."""
        return self.head(self.dropout(self.rates(embedded, record)))

    def rates(self, embedded: torch.Tensor, record: Recorder | None = None) -> torch.Tensor:
        """Each channel's output spike rate over steps and words ``[B, width]``."""
        spikes, mask = self.simulate(embedded, record)
        counts = (spikes * mask[None, :, :, None]).sum(dim=(0, 2))  # [B, width]
        words = mask.sum(dim=1, keepdim=True).clamp_min(1.0)
        return counts / (words * self.time_steps)

    def simulate(self, embedded: torch.Tensor,
                 record: Recorder | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(output spikes [T, B, L, width], word mask [B, L])``."""
        mask = (embedded.detach() != 0).any(dim=2).to(embedded.dtype)  # padding rows are all zero
        currents = self.tokenizer_norm(self.tokenizer(embedded.transpose(1, 2))).transpose(1, 2)
        # Direct input: the same current at every step; the first LIF layers encode it.
        h = currents.unsqueeze(0).expand(self.time_steps, *currents.shape)
        for i, block in enumerate(self.blocks):
            h = block(h, mask, None if record is None else _prefixed(record, f"block{i}."))
        spikes = self.out_lif(h)
        if record is not None:
            record("out_lif", spikes)
        return spikes, mask

    def layer_sizes(self, length: int) -> dict[str, int]:
        """Neurons per LIF layer (per time step) for sentences of ``length`` tokens, in the
        order the layers fire; the names are :meth:`run`'s ``layer_rates`` keys."""
        sizes: dict[str, int] = {}
        for i, block in enumerate(self.blocks):
            width, hidden = block.mlp.fc1.linear.in_features, block.mlp.fc1.linear.out_features
            for name in ("attn_in", "q_lif", "k_lif", "v_lif", "attn_lif", "mlp_in"):
                sizes[f"block{i}.{name}"] = width * length
            sizes[f"block{i}.hidden_lif"] = hidden * length
        sizes["out_lif"] = self.head.in_features * length
        return sizes

    @torch.no_grad()
    def run(self, ids: torch.Tensor) -> SpikformerOutput:
        """Scores of ``forward(ids)`` (bit for bit: the same pass, in the module's current
        mode) and every LIF layer's firing rate per example: spikes over ``T`` steps and
        all ``length`` positions (padding included) per neuron per step. ``k_lif`` counts
        the key spikes after the padding mask (the ones the attention reads)."""
        counts: dict[str, torch.Tensor] = {}

        def record(name: str, spikes: torch.Tensor) -> None:
            per_example = spikes.detach().transpose(0, 1).reshape(spikes.shape[1], -1).sum(dim=1)
            counts[name] = counts[name] + per_example if name in counts else per_example

        scores = self.classify(self.embedding(ids), record)
        sizes = self.layer_sizes(ids.shape[1])
        rates = {name: count / (self.time_steps * max(sizes[name], 1)) for name, count in counts.items()}
        return SpikformerOutput(scores, rates, self.time_steps)

    @torch.no_grad()
    def clip_embedding(self, ids: torch.Tensor | None = None) -> None:
        """Keep the input vectors in [0, 1] like the other spiking nets' (positive currents
        with padding at exactly zero); only ``ids`` rows if given."""
        clip_unit_rows(self.embedding, ids)


def _prefixed(record: Recorder, prefix: str) -> Recorder:
    return lambda name, spikes: record(prefix + name, spikes)
