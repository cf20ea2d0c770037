"""Gradients of the loss with respect to the input word vectors, for white-box attacks.

The attacker's question is "which words matter, and which way": the gradient of the
classification loss with respect to each position's word vector. Both networks are
taken as deployed: ``eval()`` mode, no dropout (TextAttack's ``PyTorchModelWrapper``
switches the model to ``train()`` for its gradient, i.e. with dropout on), and the loss
is the cross-entropy against the model's *own* prediction, as TextAttack does (an
attacker does not know the label).

* **TextCNNs** (original and tailored): ordinary backpropagation to the embedding output.
* **The SNN**: backpropagation through time over the ``T`` steps with the surrogate
  spike derivative the network was fine-tuned with (fast sigmoid; the fused neuron
  node of :mod:`.neurons` gives snnTorch's exact gradient), and through the Bernoulli
  encoder as a straight-through rate gradient: a spike at step t is drawn with
  probability p, and its value is replaced in the backward pass by p itself (so
  ``d spike[t] / d p = 1``; Bu et al., CVPR 2023, "Rate gradient approximation attack").
  The gradient is averaged over the draws of the encoding (``mean-k``: k fresh draws, the
  expectation-over-transformation gradient; ``crn-k``: the k frozen draws of its derived
  seeds, the same for every text; ``frozen``: the one fixed draw; ``fresh``: one new draw).

Gradients never accumulate into the networks' parameters (``torch.autograd.grad`` on the
input only).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from ..noise import CRN
from .encoding import Encoding, input_spikes


def _leaf(model: torch.nn.Module, ids: torch.Tensor, dtype: torch.dtype | None = None) -> torch.Tensor:
    with torch.no_grad():
        x = model.embedding(ids)
    x = x.to(dtype) if dtype is not None else x
    return x.detach().requires_grad_(True)


def ann_input_gradient(model: torch.nn.Module, ids: torch.Tensor,
                       labels: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(gradient [batch, length, dim], labels [batch])`` for a TextCNN or tailored TextCNN
    (both expose ``classify(embedded)``). ``labels`` default to the model's predictions."""
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = _leaf(model, ids, next(model.parameters()).dtype)
            scores = model.classify(x)
            if labels is None:
                labels = scores.detach().argmax(dim=1)
            loss = F.cross_entropy(scores, labels, reduction="sum")  # each row's own gradient
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        model.train(was_training)
    return grad, labels


def snn_input_gradient(model: torch.nn.Module, ids: torch.Tensor, encoding: Encoding,
                       labels: torch.Tensor | None = None, generator: torch.Generator | None = None,
                       simulate: Callable[[torch.Tensor], object] | None = None,
                       ) -> tuple[torch.Tensor, torch.Tensor]:
    """``(gradient [batch, length, dim], labels [batch])`` for the spiking TextCNN under
    ``encoding`` (see the module docstring). The draws of ``mean-k`` and ``crn-k`` are folded
    into the batch (one simulation). ``labels`` default to the class with the most output spikes
    over all draws. ``simulate`` replaces ``model.simulate`` (tests pass the per-step
    snnTorch reference)."""
    simulate = simulate or model.simulate
    draws, batch = encoding.draws, ids.shape[0]
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            x = _leaf(model, ids)  # [batch, length, dim]: the word vectors
            p = x.transpose(1, 2).clamp(0.0, 1.0)  # firing probabilities [batch, dim, length]
            p_all, ids_all = p.repeat(draws, 1, 1), ids.repeat(draws, 1)
            if encoding.mode == CRN:  # the k frozen draws, draw-major like p_all
                sample = torch.cat([input_spikes(p.detach(), ids, draw, model.time_steps)
                                    for draw in encoding.frozen_draws()], dim=1)
            else:
                sample = input_spikes(p_all.detach(), ids_all, encoding, model.time_steps, generator)
            spikes = sample + (p_all - p_all.detach()).unsqueeze(0)  # straight through: value = sample
            counts = model.population_counts(simulate(spikes).out_spikes)  # [T, draws * batch, C]
            if labels is None:
                labels = counts.detach().sum(dim=0).view(draws, batch, -1).sum(dim=0).argmax(dim=1)
            steps, rows, classes = counts.shape
            # rate_loss per example (mean over steps), averaged over the draws.
            loss = F.cross_entropy(counts.reshape(steps * rows, classes), labels.repeat(draws).repeat(steps),
                                   reduction="sum") / (steps * draws)
            (grad,) = torch.autograd.grad(loss, x)
    finally:
        model.train(was_training)
    return grad, labels
