"""The content digest of a checkpoint (models/checkpoint.py ``model_sha256``): equal for
the same recipe rebuilt under another root, blind to ``meta``, sensitive to every weight."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import make_tiny_dataset, tiny_recipe_dict, train_zoo_models

MODELS = ("textcnn/best.pt", "tailored/best.pt", "snn/converted-none.pt")


def _build_chain(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The tiny textcnn, tailored and converted SNN, with data and runs under ``root``."""
    monkeypatch.setenv("ROBUSTSNN_DATA", str(make_tiny_dataset(root / "data")))
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(root / "runs"))
    return train_zoo_models(time_steps=4) / "sst2"


@pytest.fixture(scope="module")
def two_chains(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    with pytest.MonkeyPatch.context() as mp:
        # The machine's thread count must not matter: each build runs under another one,
        # and training pins its own (robustsnn/train/threads.py).
        import torch

        before = torch.get_num_threads()
        try:
            torch.set_num_threads(2)
            a = _build_chain(tmp_path_factory.mktemp("root-a"), mp)
            torch.set_num_threads(1)
            b = _build_chain(tmp_path_factory.mktemp("elsewhere-b"), mp)
        finally:
            torch.set_num_threads(before)
    return a, b


def test_the_same_chain_under_two_roots_has_one_content_digest(two_chains: tuple[Path, Path]) -> None:
    from robustsnn.io_utils import file_sha256
    from robustsnn.models.checkpoint import load_checkpoint, model_digest

    a, b = two_chains
    for name in MODELS:
        assert model_digest(a / name) == model_digest(b / name), name
    # The files differ: their meta names the folders they were built from.
    for name in ("textcnn/best.pt", "snn/converted-none.pt"):
        assert load_checkpoint(a / name)["meta"] != load_checkpoint(b / name)["meta"], name
        assert file_sha256(a / name) != file_sha256(b / name), name
    # And the three models are three digests.
    assert len({model_digest(a / name) for name in MODELS}) == 3


def test_training_pins_and_records_its_thread_count(two_chains: tuple[Path, Path],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from robustsnn.errors import UserError
    from robustsnn.models.checkpoint import load_checkpoint
    from robustsnn.train.threads import THREADS_ENV, training_threads

    a, _ = two_chains
    for name in ("textcnn/best.pt", "textcnn/last.pt", "snn/converted-none.pt"):
        meta = load_checkpoint(a / name)["meta"]
        assert meta["torch_threads"] == 1, name
        assert meta["torch_numerics"]["torch"] == torch.__version__ and meta["torch_numerics"]["cpu_capability"]
    monkeypatch.setenv(THREADS_ENV, "3")
    assert training_threads() == 3
    monkeypatch.setenv(THREADS_ENV, "none")
    with pytest.raises(UserError, match=THREADS_ENV):
        training_threads()


def test_resuming_with_another_thread_count_is_refused(tmp_path: Path, tiny_data: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from robustsnn.config import recipe_from_dict
    from robustsnn.errors import UserError
    from robustsnn.train.ann import train
    from robustsnn.train.threads import THREADS_ENV

    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 1}))
    train(recipe, "textcnn", tmp_path / "run", log=lambda _: None)
    monkeypatch.setenv(THREADS_ENV, "2")
    with pytest.raises(UserError, match="trained with 1 torch threads, this run has 2"):
        train(recipe, "textcnn", tmp_path / "run", resume=True, log=lambda _: None)


def test_the_digest_covers_the_weights_and_not_meta(two_chains: tuple[Path, Path]) -> None:
    import torch

    from robustsnn.models.checkpoint import load_checkpoint, model_sha256

    ckpt = load_checkpoint(two_chains[0] / "snn/converted-none.pt")
    digest = model_sha256(ckpt)
    assert model_sha256({**ckpt, "meta": {"source_checkpoint": "/another/machine/best.pt"}}) == digest
    assert model_sha256({k: v for k, v in ckpt.items() if k != "meta"}) == digest
    assert model_sha256({**ckpt, "history": [1, 2], "epoch": 9}) == digest  # a last.pt's training state
    # The state dict's order and a tensor's memory layout are pickling details.
    state = ckpt["model"]
    reordered = {k: state[k] for k in reversed(list(state))}
    strided = {k: (v.t().contiguous().t() if v.dim() == 2 else v) for k, v in state.items()}
    assert model_sha256({**ckpt, "model": reordered}) == digest
    assert model_sha256({**ckpt, "model": strided}) == digest

    name = "fc.weight"
    one = state[name].clone()
    one.view(-1)[0] = torch.nextafter(one.view(-1)[0], torch.tensor(float("inf")))  # one ulp
    assert model_sha256({**ckpt, "model": {**state, name: one}}) != digest
    assert model_sha256({**ckpt, "model": {**state, name: state[name].double()}}) != digest  # the dtype
    assert model_sha256({**ckpt, "model": {**state, name: state[name].reshape(-1)}}) != digest  # the shape
    renamed = {("fc.weight2" if k == name else k): v for k, v in state.items()}
    assert model_sha256({**ckpt, "model": renamed}) != digest
    assert model_sha256({**ckpt, "vocab": [*ckpt["vocab"][:-1], "zzz"]}) != digest
    assert model_sha256({**ckpt, "config": {**ckpt["config"], "snn": {"time_steps": 9}}}) != digest
    assert model_sha256({**ckpt, "kind": "tailored"}) != digest


def test_the_file_digest_is_remembered_per_file_version(tmp_path: Path, tiny_net) -> None:  # noqa: ANN001
    import shutil

    from robustsnn.models.checkpoint import load_checkpoint, model_digest, save_checkpoint

    path = tmp_path / "model.pt"
    shutil.copy(tiny_net.converted, path)
    first = model_digest(path)
    ckpt = load_checkpoint(path)
    ckpt["model"]["fc.weight"].mul_(2)
    save_checkpoint(path, {k: v for k, v in ckpt.items() if k != "format"})
    os.utime(path, ns=(1, 1))  # another version even where mtime resolution is coarse
    assert model_digest(path) != first
