"""snnTorch LIF layers and the three ways robustsnn steps them through time.

Every spiking layer is a ``snntorch.Leaky`` (reset by subtraction, fast-sigmoid
surrogate); its beta, threshold and surrogate slope are read from that module. What
differs is only how its recurrence over ``T`` steps is executed:

* **in place, no autograd** (inference: attacks, evaluation): the update runs on one
  membrane buffer, 4 passes per step instead of snnTorch's ~12.
* **fused, with autograd** (training): the same in-place forward, plus a hand-written
  backward (:class:`_FusedLeaky`) that applies exactly the gradient snnTorch's autograd
  graph would: ``dS/dU`` is the fast-sigmoid surrogate ``1 / (slope |U - theta| + 1)^2``,
  the reset term is detached (``Leaky.mem_reset`` detaches it), and ``dU[t]/dU[t-1] =
  beta``. One reverse sweep of 2 passes per step replaces autograd's ~20 recorded nodes
  per step.
* **snnTorch's own ``Leaky.forward`` per step**: any neuron the two fast paths do not
  reproduce (learnable beta or threshold, reset to zero, inhibition, quantisation,
  graded spikes).

tests/test_snn_model.py holds the fast paths against ``Leaky.forward``: identical spikes
and membranes, identical gradients.
"""

from __future__ import annotations

import torch
from torch import nn


def leaky_layer(beta: float, threshold: float, slope: float) -> nn.Module:
    """An IF/LIF layer: reset by subtraction, fast-sigmoid surrogate (slope ``slope``)."""
    import snntorch
    from snntorch import surrogate
    from snntorch._neurons.neurons import SpikingNeuron

    lif = snntorch.Leaky(beta=beta, threshold=threshold, reset_mechanism="subtract",
                         spike_grad=surrogate.fast_sigmoid(slope=slope))
    lif.surrogate_slope = float(slope)  # snnTorch keeps it only inside a closure; the fused backward needs it
    # snnTorch keeps every neuron ever built in a class-level list (used only with
    # init_hidden=True, which we never use); drop ours so models can be garbage-collected.
    if lif in SpikingNeuron.instances:
        SpikingNeuron.instances.remove(lif)
    return lif


def run_neurons(lif: nn.Module, currents: torch.Tensor, mem: torch.Tensor | None = None,
                fused: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """Step ``lif`` through ``currents`` ``[T, ...]`` from membrane ``mem`` (zeros when
    None); returns the spikes ``[T, ...]`` and the last membrane, which a caller passes
    back to continue through the next chunk of time. The module keeps no state.
    ``fused=False`` forces snnTorch's per-step ``Leaky.forward`` (the reference)."""
    needs_grad = torch.is_grad_enabled() and (currents.requires_grad or (mem is not None and mem.requires_grad))
    if fused and _plain_subtractive(lif):
        beta, theta = float(lif.beta.detach().clamp(0, 1)), float(lif.threshold.detach())
        if not needs_grad:
            spikes, _, last = _recurrence(currents, mem, beta, theta, keep_membranes=False)
            return spikes, last
        if _fusable(lif):
            start = torch.zeros_like(currents[0]) if mem is None else mem
            return _FusedLeaky.apply(currents, start, beta, theta, lif.surrogate_slope)
    return _run_snntorch(lif, currents, mem)


def _run_snntorch(lif: nn.Module, currents: torch.Tensor,
                  mem: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
    mem = torch.zeros_like(currents[0]) if mem is None else mem
    spikes = []
    try:
        for cur in currents:
            spk, mem = lif(cur, mem)
            spikes.append(spk)
    finally:
        lif.mem = torch.zeros(0)  # drop snnTorch's stored membrane (and the graph it holds)
    return torch.stack(spikes), mem


def _plain_subtractive(lif: nn.Module) -> bool:
    """The neuron our in-place path reproduces: reset by subtraction, no extras."""
    return (lif.reset_mechanism == "subtract" and not lif.inhibition and not lif.state_quant
            and lif.reset_delay and float(lif.graded_spikes_factor) == 1.0)


def _fusable(lif: nn.Module) -> bool:
    """The fused backward knows the fast-sigmoid slope and treats beta and the threshold
    as constants: true for layers built by :func:`leaky_layer` without learnable ones."""
    learnable = any(isinstance(p, torch.Tensor) and p.requires_grad
                    for p in (lif.beta, lif.threshold, lif.graded_spikes_factor))
    return hasattr(lif, "surrogate_slope") and not learnable


def _recurrence(currents: torch.Tensor, mem: torch.Tensor | None, beta: float, theta: float,
                keep_membranes: bool) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor]:
    """``U[t] = beta U[t-1] + I[t] - theta H(U[t-1] - theta)``, ``S[t] = H(U[t] - theta)``
    in the operation order of ``snntorch.Leaky`` (so results match it bit for bit).
    Returns spikes, every step's membrane (when ``keep_membranes``) and the last one."""
    currents = currents.detach()
    spikes = torch.empty_like(currents)
    membranes = torch.empty_like(currents) if keep_membranes else None
    if mem is None:
        mem, previous = torch.zeros_like(currents[0]), None
    else:
        mem = mem.detach().clone()
        previous = (mem > theta).to(currents.dtype)  # the spike whose reset is still due
    for t in range(currents.shape[0]):
        if beta != 1.0:
            mem.mul_(beta)
        mem.add_(currents[t])
        if previous is not None:
            mem.sub_(previous, alpha=theta)
        torch.gt(mem, theta, out=spikes[t])  # straight into the float buffer: no bool temporary
        if membranes is not None:
            membranes[t].copy_(mem)
        previous = spikes[t]
    return spikes, membranes, mem


class _FusedLeaky(torch.autograd.Function):
    """The whole recurrence as one autograd node (see the module docstring)."""

    @staticmethod
    def forward(ctx, currents: torch.Tensor, mem: torch.Tensor, beta: float, theta: float,
                slope: float) -> tuple[torch.Tensor, torch.Tensor]:
        spikes, membranes, last = _recurrence(currents, mem, beta, theta, keep_membranes=True)
        ctx.save_for_backward(membranes)
        ctx.beta, ctx.theta, ctx.slope = beta, theta, slope
        return spikes, last

    @staticmethod
    def backward(ctx, grad_spikes: torch.Tensor | None, grad_last: torch.Tensor | None):
        (membranes,) = ctx.saved_tensors
        beta = ctx.beta
        # Per step: the surrogate's share, in snnTorch's FastSigmoid.backward arithmetic.
        if grad_spikes is None:
            grad_u = torch.zeros_like(membranes)
        else:
            grad_u = grad_spikes / (ctx.slope * torch.abs(membranes - ctx.theta) + 1.0) ** 2
        # The last membrane is an output itself; every U[t] also feeds U[t+1] (times beta):
        # accumulate from the last step back.
        last = membranes.shape[0] - 1
        if grad_last is not None:
            grad_u[last].add_(grad_last)
        for t in range(last - 1, -1, -1):
            grad_u[t].add_(grad_u[t + 1] * beta if beta != 1.0 else grad_u[t + 1])
        grad_mem = grad_u[0] * beta if beta != 1.0 else grad_u[0].clone()
        return grad_u, grad_mem, None, None, None
