"""The two conventional networks of the paper.

* :class:`TextCNN` - Kim (2014): widths 3/4/5 x 100 maps, ReLU, max-pool over time,
  dropout, linear layer with biases, over the raw pre-trained vectors.
* :class:`TailoredTextCNN` - the SNN-tailored variant (docs/method.md step 3): positive
  embeddings in [0, 1], ReLU, no bias anywhere, average pooling over time, and a
  population output of ``neurons_per_class`` neurons per class summed per class.

Both take padded id rows ``[batch, length]`` and return class scores ``[batch, classes]``.
Embeddings use sparse gradients: the vocabulary is the whole pre-trained one (400k
rows) and a dense optimiser step over it costs ~100x more than the rest of the net.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ..data.text import PAD_ID


def _embedding(weights: torch.Tensor, trainable: bool) -> nn.Embedding:
    emb = nn.Embedding(weights.shape[0], weights.shape[1], padding_idx=PAD_ID, sparse=True)
    with torch.no_grad():
        emb.weight.copy_(weights)
    emb.weight.requires_grad_(trainable)
    return emb


@torch.no_grad()
def clip_unit_rows(embedding: nn.Embedding, ids: torch.Tensor | None = None) -> None:
    """Clamp ``embedding``'s vectors to [0, 1] in place; only the rows of ``ids`` if given
    (a sparse update touched only those)."""
    weight = embedding.weight
    if ids is None:
        weight.clamp_(0.0, 1.0)
    else:
        rows = torch.unique(ids)
        weight[rows] = weight[rows].clamp(0.0, 1.0)


class TextCNN(nn.Module):
    """Original TextCNN (Kim 2014)."""

    kind = "textcnn"

    def __init__(self, vocab_size: int, dim: int, num_classes: int, widths: Sequence[int] = (3, 4, 5),
                 maps: int = 100, dropout: float = 0.5, trainable_embedding: bool = True):
        super().__init__()
        self.embedding = _embedding(torch.zeros(vocab_size, dim), trainable_embedding)
        self.convs = nn.ModuleList(nn.Conv1d(dim, maps, w) for w in widths)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(maps * len(widths), num_classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embedding(ids))

    def classify(self, embedded: torch.Tensor) -> torch.Tensor:
        """Class scores from word vectors ``[B, L, dim]`` (white-box attacks differentiate here)."""
        x = embedded.transpose(1, 2)  # [B, dim, L]: channels = embedding dims
        pooled = [torch.relu(conv(x)).amax(dim=2) for conv in self.convs]
        return self.fc(self.dropout(torch.cat(pooled, dim=1)))


class TailoredTextCNN(nn.Module):
    """SNN-tailored TextCNN: every layer has a spiking counterpart (models/snn.py)."""

    kind = "tailored"

    def __init__(self, vocab_size: int, dim: int, num_classes: int, widths: Sequence[int] = (3, 4, 5),
                 maps: int = 100, dropout: float = 0.5, neurons_per_class: int = 10):
        super().__init__()
        self.num_classes = num_classes
        self.neurons_per_class = neurons_per_class
        self.embedding = _embedding(torch.zeros(vocab_size, dim), True)
        self.convs = nn.ModuleList(nn.Conv1d(dim, maps, w, bias=False) for w in widths)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(maps * len(widths), num_classes * neurons_per_class, bias=False)

    def features(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """Per-branch pooled activations (what the spiking net's pooling neurons see)."""
        return self._features(self.embedding(ids))

    def _features(self, embedded: torch.Tensor) -> list[torch.Tensor]:
        x = embedded.transpose(1, 2)
        return [torch.relu(conv(x)).mean(dim=2) for conv in self.convs]

    def population(self, ids: torch.Tensor) -> torch.Tensor:
        """Output-neuron pre-activations ``[batch, classes * neurons_per_class]``."""
        return self._population(self.embedding(ids))

    def _population(self, embedded: torch.Tensor) -> torch.Tensor:
        return self.fc(self.dropout(torch.cat(self._features(embedded), dim=1)))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.classify(self.embedding(ids))

    def classify(self, embedded: torch.Tensor) -> torch.Tensor:
        """Class scores from word vectors ``[B, L, dim]`` (white-box attacks differentiate here)."""
        pop = self._population(embedded)
        return pop.view(pop.shape[0], self.num_classes, self.neurons_per_class).sum(dim=2)

    @torch.no_grad()
    def clip_embedding(self, ids: torch.Tensor | None = None) -> None:
        """Keep embeddings in [0, 1] (they are spike probabilities); only ``ids`` rows if given."""
        clip_unit_rows(self.embedding, ids)
