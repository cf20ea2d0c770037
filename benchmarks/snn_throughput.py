"""Throughput of the spiking TextCNN: the shipped network (time folded into the batch for
every stateless layer) against the straightforward per-time-step snnTorch loop.

    .venv/bin/python benchmarks/snn_throughput.py                     # synthetic SST-2-sized net
    .venv/bin/python benchmarks/snn_throughput.py --checkpoint runs/sst2/snn/converted-none.pt

Both run in one process on the same input spikes (drawn once per batch), interleaved
batch by batch so that load from other processes hits both alike; the per-batch median
is reported. Inference outputs are checked to be identical. Training = forward, the
rate loss and backward (the optimiser step is the same for both and left out).
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch


def build(args: argparse.Namespace) -> torch.nn.Module:
    from robustsnn.models.snn import SpikingTextCNN

    if args.checkpoint:
        from robustsnn.models.loading import load_model

        model = load_model(args.checkpoint).model
        model.time_steps = args.time_steps
        return model
    torch.manual_seed(0)
    model = SpikingTextCNN(5000, 50, 2, (3, 4, 5), 100, 0.5, 10, args.time_steps)
    with torch.no_grad():  # positive-GloVe-like firing probabilities
        model.embedding.weight.normal_(0.5, 0.17).clamp_(0.0, 1.0)
        model.embedding.weight[0] = 0.0  # padding emits no spikes, as in real checkpoints
    return model


def timed(fn: Callable[[], object]) -> float:
    began = time.perf_counter()
    fn()
    return time.perf_counter() - began


def main() -> None:
    from robustsnn.models.encoding import Encoding
    from robustsnn.models.snn import rate_loss, simulate_stepwise

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="a spiking checkpoint (default: synthetic net)")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--length", type=int, default=25, help="tokens per row")
    parser.add_argument("--real-tokens", type=int, default=None,
                        help="real tokens per row, the rest padding (default: all real); the shipped net "
                             "skips trailing padding the whole batch shares")
    parser.add_argument("--time-steps", type=int, default=50)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--fold-rows", type=int, default=None,
                        help="rows (steps x batch) per conv call in the shipped net (default: its own)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model = build(args)
    if args.fold_rows:
        model.fold_rows = args.fold_rows
    g = torch.Generator().manual_seed(0)
    vocab = model.embedding.num_embeddings
    batches = [torch.randint(2, vocab, (args.batch, args.length), generator=g) for _ in range(args.batches + 1)]
    if args.real_tokens is not None:
        for ids in batches:
            ids[:, args.real_tokens:] = 0  # padding
    spikes = [model.encode(ids, Encoding("fresh"), generator=g) for ids in batches]
    labels = torch.randint(0, model.num_classes, (args.batch,), generator=g)

    def infer(sim: Callable) -> Callable[[torch.Tensor], object]:
        def run(s: torch.Tensor) -> object:
            with torch.no_grad():
                return sim(s)
        return run

    def train(sim: Callable) -> Callable[[torch.Tensor], object]:
        def run(s: torch.Tensor) -> object:
            model.zero_grad(set_to_none=True)
            rate_loss(model.population_counts(sim(s).out_spikes), labels).backward()
        return run

    stepwise = lambda s: simulate_stepwise(model, s)  # noqa: E731
    results = {}
    for phase, wrap, mode in (("inference", infer, model.eval), ("training", train, model.train)):
        mode()
        per_step, folded = wrap(stepwise), wrap(model.simulate)
        per_step(spikes[0]), folded(spikes[0])  # warm-up
        times: dict[str, list[float]] = {"per-step loop": [], "shipped (folded)": []}
        for s in spikes[1:]:
            times["per-step loop"].append(timed(lambda s=s, f=per_step: f(s)))
            times["shipped (folded)"].append(timed(lambda s=s, f=folded: f(s)))
        results[phase] = {k: args.batch / statistics.median(v) for k, v in times.items()}

    model.eval()
    with torch.no_grad():
        same = all(torch.equal(model.simulate(s).out_spikes, simulate_stepwise(model, s).out_spikes)
                   for s in spikes[:2])
    print(f"batch {args.batch}, length {args.length} ({args.real_tokens or args.length} real), "
          f"T={args.time_steps}, threads {args.threads}, "
          f"fold_rows {model.fold_rows}, {args.batches} batches, "
          f"{'checkpoint ' + args.checkpoint if args.checkpoint else 'synthetic net'}")
    print(f"identical inference outputs: {same}")
    print(f"{'phase':<10} {'per-step loop ex/s':>19} {'shipped ex/s':>13} {'ratio':>6}")
    for phase, r in results.items():
        a, b = r["per-step loop"], r["shipped (folded)"]
        print(f"{phase:<10} {a:>19.1f} {b:>13.1f} {b / a:>6.2f}")


if __name__ == "__main__":
    main()
