"""From a recipe (or a checkpoint) to data, vocabulary and a ready network.

One code path builds the text encoder for training, evaluation and attacks, so the
three can never preprocess differently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import Recipe, recipe_from_dict, validate_recipe
from ..data.registry import get_dataset_spec
from ..data.text import TextEncoder, get_tokenizer
from ..data.tsv import Dataset, Split, load_dataset
from ..errors import UserError

if TYPE_CHECKING:
    import torch


@dataclass
class Prepared:
    recipe: Recipe
    dataset: Dataset
    encoder: TextEncoder
    table: Any  # embeddings.EmbeddingTable


def load_recipe_dataset(recipe: Recipe) -> Dataset:
    return load_dataset(recipe.data.dataset, recipe.data.dev_fraction, recipe.data.split_seed)


def recipe_vectors(recipe: Recipe, dataset: Dataset | None = None) -> Any:
    """The word vectors ``recipe`` names (an ``embeddings.WordVectors``; word2vec ones are
    trained on its dataset's training texts, once, then read from the cache)."""
    from ..embeddings import vectors_for_recipe

    dataset = dataset or load_recipe_dataset(recipe)
    tokenize = get_tokenizer(dataset.spec.language)
    needs_tokens = recipe.embedding.source in ("word2vec", "random")
    return vectors_for_recipe(recipe, [tokenize(t) for t in dataset.train.texts] if needs_tokens else [])


def prepare(recipe: Recipe) -> Prepared:
    """Load the dataset and the word vectors the recipe names; build the encoder."""
    from ..embeddings import build_table

    dataset = load_recipe_dataset(recipe)
    table = build_table(recipe_vectors(recipe, dataset))
    encoder = TextEncoder(table.vocab, dataset.spec.language, recipe.data.max_len)
    return Prepared(recipe, dataset, encoder, table)


def encode_split(encoder: TextEncoder, split: Split) -> tuple[torch.Tensor, torch.Tensor]:
    import torch

    return encoder.encode(split.texts), torch.tensor(split.labels, dtype=torch.long)


@dataclass
class LoadedModel:
    """A network rebuilt from a checkpoint, with everything needed to feed it text."""

    kind: str
    model: Any  # torch.nn.Module, in eval() mode
    recipe: Recipe
    encoder: TextEncoder
    meta: dict[str, Any]
    path: Path
    _dataset: Dataset | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def dataset(self) -> Dataset:
        """The dataset its recipe names (loaded on first use, then kept)."""
        if self._dataset is None:
            self._dataset = load_recipe_dataset(self.recipe)
        return self._dataset

    def encoded(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """``(ids, labels)`` of ``split`` (train | dev | test) of its dataset, encoded as
        the network reads it."""
        return encode_split(self.encoder, self.dataset.split(split))


def load_model(path: str | Path) -> LoadedModel:
    """Rebuild any robustsnn checkpoint (strict weights, safe unpickling)."""
    from .checkpoint import load_checkpoint, load_state_strict
    from .factory import build_from_checkpoint

    path = Path(path)
    ckpt = load_checkpoint(path)
    try:
        recipe = recipe_from_dict(ckpt["config"])
        validate_recipe(recipe)
    except UserError as exc:
        raise UserError(f"checkpoint {path} has an invalid config: {exc}") from None
    spec = get_dataset_spec(recipe.data.dataset)
    vocab = ckpt["vocab"]
    if not isinstance(vocab, list) or not vocab:
        raise UserError(f"checkpoint {path} has no vocabulary")
    try:
        encoder = TextEncoder(vocab, spec.language, recipe.data.max_len)
    except ValueError as exc:
        raise UserError(f"checkpoint {path}: {exc}") from None
    model = build_from_checkpoint(ckpt, recipe, spec.num_classes)
    load_state_strict(model, ckpt["model"], path)
    model.eval()
    return LoadedModel(ckpt["kind"], model, recipe, encoder, dict(ckpt.get("meta", {})), path)
