"""Throughput of the spiking TextCNN: the shipped network (time folded into the batch for
every stateless layer) against two per-time-step loops, and against the dense-GEMM limit.

    .venv/bin/python benchmarks/snn_throughput.py                     # synthetic SST-2-sized net
    .venv/bin/python benchmarks/snn_throughput.py --checkpoint runs/sst2/snn/converted-none.pt

The loops: the project's own per-step reference (``simulate_stepwise``) and a plain
snnTorch network written here independently of the project's code (``nn.Conv1d`` and
``snntorch.Leaky`` per branch, the usual ``for t in range(T)`` loop, the same weights):
the path a user would write by hand. All run in one process on the same input spikes
(drawn once per batch), interleaved batch by batch so that load from other processes
hits them alike; the per-batch median is reported. Inference outputs are compared.
Training = forward, the rate loss and backward (the optimiser step is the same for all
and left out).

The GEMM limit: the network's multiply-adds per example (convolutions and the fc layer,
every step; pooling and neurons are not counted) divided by the speed of one large
float32 matrix product on the same threads, i.e. the examples per second the dense
arithmetic alone would allow.
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


class PlainSnnTorchTextCNN(torch.nn.Module):
    """The spiking TextCNN as a user would write it with snnTorch: a loop over time steps,
    one ``snntorch.Leaky`` per layer (subtractive reset), average pooling over positions."""

    def __init__(self, model: torch.nn.Module) -> None:
        import snntorch

        super().__init__()
        beta, threshold = float(model.pool_lif.beta), float(model.threshold)
        self.convs = torch.nn.ModuleList(torch.nn.Conv1d(c.in_channels, c.out_channels, c.kernel_size[0], bias=False)
                                         for c in model.convs)
        self.fc = torch.nn.Linear(model.fc.in_features, model.fc.out_features, bias=False)
        with torch.no_grad():
            for mine, theirs in zip(self.convs, model.convs):
                mine.weight.copy_(theirs.weight)
            self.fc.weight.copy_(model.fc.weight)
        leaky = lambda: snntorch.Leaky(beta=beta, threshold=threshold, reset_mechanism="subtract")  # noqa: E731
        self.conv_lifs = torch.nn.ModuleList(leaky() for _ in self.convs)
        self.pool_lif, self.out_lif = leaky(), leaky()

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        """Input spikes ``[T, batch, dim, length]`` -> output spikes ``[T, batch, outputs]``."""
        conv_mems = [lif.init_leaky() for lif in self.conv_lifs]
        pool_mem, out_mem = self.pool_lif.init_leaky(), self.out_lif.init_leaky()
        outputs = []
        for x in spikes:
            pooled = []
            for i, (conv, lif) in enumerate(zip(self.convs, self.conv_lifs)):
                spk, conv_mems[i] = lif(conv(x), conv_mems[i])
                pooled.append(spk.mean(dim=2))
            spk, pool_mem = self.pool_lif(torch.cat(pooled, dim=1), pool_mem)
            spk, out_mem = self.out_lif(self.fc(spk), out_mem)
            outputs.append(spk)
        return torch.stack(outputs)


def flops_per_example(model: torch.nn.Module, length: int) -> float:
    """Multiply-adds x 2 of the convolutions and the fc layer over all time steps."""
    per_step = sum(2 * (length - c.kernel_size[0] + 1) * c.out_channels * c.in_channels * c.kernel_size[0]
                   for c in model.convs)
    per_step += 2 * model.fc.in_features * model.fc.out_features
    return per_step * model.time_steps


def gemm_gflops(repeats: int = 20) -> float:
    """float32 GFLOP/s of a conv-shaped matrix product ([4096 x 250] x [250 x 100])."""
    a, b = torch.rand(4096, 250), torch.rand(250, 100)
    torch.mm(a, b)  # warm-up
    best = min(timed(lambda: torch.mm(a, b)) for _ in range(repeats))
    return 2 * a.shape[0] * a.shape[1] * b.shape[1] / best / 1e9


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

    plain = PlainSnnTorchTextCNN(model)

    def plain_train(s: torch.Tensor) -> object:
        plain.zero_grad(set_to_none=True)
        return rate_loss(model.population_counts(plain(s)), labels).backward()

    stepwise = lambda s: simulate_stepwise(model, s)  # noqa: E731
    paths = ("plain snnTorch loop", "project per-step loop", "shipped (folded)")
    results = {}
    for phase, wrap, mode in (("inference", infer, model.eval), ("training", train, model.train)):
        mode()
        plain.train(model.training)
        runs = {paths[0]: plain_train if phase == "training" else infer(plain),
                paths[1]: wrap(stepwise), paths[2]: wrap(model.simulate)}
        for f in runs.values():
            f(spikes[0])  # warm-up
        times: dict[str, list[float]] = {p: [] for p in paths}
        for s in spikes[1:]:
            for p, f in runs.items():
                times[p].append(timed(lambda s=s, f=f: f(s)))
        results[phase] = {k: args.batch / statistics.median(v) for k, v in times.items()}

    model.eval()
    with torch.no_grad():
        same = all(torch.equal(model.simulate(s).out_spikes, simulate_stepwise(model, s).out_spikes)
                   for s in spikes[:2])
        agree = [(model.simulate(s).out_spikes.sum(0) == plain(s).sum(0)).float().mean().item() for s in spikes[:2]]
    gflops = gemm_gflops()
    limit = gflops * 1e9 / flops_per_example(model, args.length)
    print(f"batch {args.batch}, length {args.length} ({args.real_tokens or args.length} real), "
          f"T={args.time_steps}, threads {args.threads}, "
          f"fold_rows {model.fold_rows}, {args.batches} batches, "
          f"{'checkpoint ' + args.checkpoint if args.checkpoint else 'synthetic net'}")
    print(f"identical inference outputs, shipped vs project loop: {same}; output spike counts equal to the plain "
          f"snnTorch loop's: {100 * min(agree):.2f}% of neurons (float sums in another order)")
    print(f"GEMM limit: {gflops:.1f} GFLOP/s / {flops_per_example(model, args.length) / 1e6:.0f} MFLOP per example "
          f"= {limit:.0f} ex/s")
    print(f"{'phase':<10} " + " ".join(f"{p + ' ex/s':>26}" for p in paths) + f" {'vs plain':>9} {'of GEMM':>8}")
    for phase, r in results.items():
        a, b = r[paths[0]], r[paths[2]]
        print(f"{phase:<10} " + " ".join(f"{r[p]:>26.1f}" for p in paths) + f" {b / a:>8.2f}x {100 * b / limit:>7.1f}%")


if __name__ == "__main__":
    main()
