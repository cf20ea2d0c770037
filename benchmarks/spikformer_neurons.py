"""Which LIF implementation trains the spiking transformer faster: the project's fused
recurrence (models/neurons.py, one autograd node per layer with a hand-written backward)
or snnTorch's own ``Leaky.forward`` stepped per time step (what ``fused=False`` runs).

    .venv/bin/python benchmarks/spikformer_neurons.py                    # the sst2-spikformer recipe
    .venv/bin/python benchmarks/spikformer_neurons.py --set spikformer.depth=2

Both run the same network (same weights, same batches: SST-2-shaped, 32 x 25 words with
padding) in one process, interleaved batch by batch so that load from other processes hits
them alike; the per-batch median is reported. Training = forward, cross-entropy, backward
(the optimiser step is the same for both and left out); inference = ``no_grad`` forward in
eval mode. The scores and input gradients of the two are compared as well.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def build(overrides: list[str]) -> torch.nn.Module:
    from robustsnn.config import load_recipe
    from robustsnn.models.factory import build_model

    recipe = load_recipe("sst2-spikformer", overrides)
    torch.manual_seed(0)
    model = build_model("spikformer", recipe, 5000, 50, 2)
    with torch.no_grad():  # positive-GloVe-like input currents; padding stays zero
        model.embedding.weight.normal_(0.5, 0.17).clamp_(0.0, 1.0)
        model.embedding.weight[0] = 0.0
    return model


def batches(n: int, batch: int, length: int, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n):
        ids = torch.randint(2, 5000, (batch, length), generator=g)
        lengths = torch.randint(5, length + 1, (batch,), generator=g)
        ids[torch.arange(length)[None, :] >= lengths[:, None]] = 0
        out.append((ids, torch.randint(0, 2, (batch,), generator=g)))
    return out


def step(model: torch.nn.Module, ids: torch.Tensor, labels: torch.Tensor, train: bool) -> float:
    start = time.perf_counter()
    if train:
        model.train()
        model.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(ids), labels).backward()
    else:
        model.eval()
        with torch.no_grad():
            model(ids)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()
    model = build(args.overrides)
    data = batches(args.batches, 32, 25)
    # Same answers first: the speed comparison is between two forms of one computation.
    ids, labels = data[0]
    grads = []
    for fused in (True, False):
        model.set_fused(fused)
        model.eval()
        x = model.embedding(ids).detach().requires_grad_(True)
        scores = model.classify(x)
        torch.nn.functional.cross_entropy(scores, labels).backward()
        grads.append((scores.detach(), x.grad))
    same = all(torch.allclose(a, b, atol=1e-5) for a, b in zip(*grads))
    print(f"fused and snnTorch agree (scores, input gradients): {same}")
    for train in (True, False):
        times: dict[bool, list[float]] = {True: [], False: []}
        for i, (ids, labels) in enumerate(data):
            for fused in ((True, False) if i % 2 == 0 else (False, True)):
                model.set_fused(fused)
                times[fused].append(step(model, ids, labels, train))
        fused_ms = 1000 * statistics.median(times[True])
        ref_ms = 1000 * statistics.median(times[False])
        print(f"{'training' if train else 'inference'} batch of 32 (median of {len(data)}): "
              f"fused {fused_ms:.1f} ms, snnTorch per step {ref_ms:.1f} ms ({ref_ms / fused_ms:.2f}x)")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
