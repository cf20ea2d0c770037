"""Accuracy of a stochastic spiking net: mean and spread over independent Poisson draws.

Draw ``r`` uses a generator seeded with ``seed + r``, so a reported number can be
reproduced exactly, and two models (or two epochs) evaluated with the same seed see the
same random numbers (common random numbers make dev-based selection less noisy).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

import torch

from ..models.encoding import FRESH, Encoding


@dataclass(frozen=True)
class DrawAccuracy:
    mean: float
    std: float  # sample standard deviation over draws (0 for a single draw)
    per_draw: tuple[float, ...]

    def __str__(self) -> str:
        return f"{self.mean:.4f} +- {self.std:.4f} ({len(self.per_draw)} draws)"


@torch.no_grad()
def predict_snn(model: torch.nn.Module, ids: torch.Tensor, encoding: Encoding = FRESH,
                generator: torch.Generator | None = None, time_steps: int | None = None,
                batch_size: int = 128) -> torch.Tensor:
    """Predictions ``[n]`` in eval mode (the caller's mode is restored)."""
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model.predict(ids[i : i + batch_size], encoding, time_steps, generator)
                          for i in range(0, len(ids), batch_size)])
    finally:
        model.train(was_training)


def evaluate_snn(model: torch.nn.Module, ids: torch.Tensor, labels: torch.Tensor, draws: int = 5,
                 seed: int = 0, time_steps: int | None = None, batch_size: int = 128) -> DrawAccuracy:
    """Accuracy over ``draws`` independent fresh draws of the whole split."""
    accs = []
    for r in range(draws):
        generator = torch.Generator().manual_seed(seed + r)
        pred = predict_snn(model, ids, FRESH, generator, time_steps, batch_size)
        accs.append(float((pred == labels).float().mean()))
    std = statistics.stdev(accs) if len(accs) > 1 else 0.0
    return DrawAccuracy(statistics.fmean(accs), std, tuple(accs))
