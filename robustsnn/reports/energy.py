"""Estimated inference energy of a TextCNN and of a spiking TextCNN (the paper's Table 5).

What is counted, and why
------------------------

* **TextCNN (float DNN)**: the multiply-accumulates (MACs) of the layers with weights,
  per example at the dataset's pad length ``L`` (``data.max_len``: every example is
  padded to it, so this is what the network computes). Conv branch of width ``w`` with
  ``M`` maps over ``D``-dimensional embeddings: ``M * (L - w + 1) * D * w``; fc:
  ``in_features * out_features``. Biases, ReLU, pooling, dropout (off at inference) and
  softmax are not MACs and are left out, as in the usual FLOPs convention.
* **Spiking TextCNN**: synaptic operations (accumulates, ACs) of the same layers. An
  input spike to a layer triggers one AC per outgoing synapse, so, following the
  authors' formula, ``SOPs_layer = T * r_in * FLOPs_layer`` where ``r_in`` is the mean
  firing rate (spikes per neuron per step) of the neuron layer feeding it, measured on
  the test split with ``SpikingTextCNN.run(...).layer_rates``: the conv branches read
  the input spike layer (rate ``input``, over all ``D * L`` input neurons, padding
  included, like the FLOPs); fc reads the pooling neurons (rate ``pool``).
  ``FLOPs_layer`` is that layer's MAC count in the *spiking* net (its fc has
  ``classes * neurons_per_class`` outputs). The average pooling of conv spikes and the
  neuron updates are not counted, as pooling and ReLU are not counted for the DNN.
* **Embedding / encoding layer**: not counted on either side. The DNN looks up its
  embedding rows (a memory read, no MAC); the SNN looks up the same rows and draws
  Bernoulli spikes from them (a comparator per value, no synaptic operation). Both are
  outside the compute the paper compares.

Energy: ``E_DNN = FLOPs * e_MAC`` and ``E_SNN = SOPs * e_AC``, with the usual 45 nm
figures ``e_MAC = 4.6 pJ`` and ``e_AC = 0.9 pJ`` (docs/method.md; both configurable). The
reduction ratio is ``E_DNN / E_SNN``.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import UserError
from ..models.checkpoint import model_digest
from ..paths import portable_path

E_MAC_PJ = 4.6
E_AC_PJ = 0.9
ANN_KINDS = ("textcnn", "tailored")


# ------------------------------------------------------------------ counting


def layer_flops(model: Any, length: int) -> dict[str, int]:
    """MACs per example of every layer with weights (``conv0..``, ``fc``) at ``length`` tokens.
    Works for the TextCNN, the tailored and the spiking TextCNN (same layer names)."""
    flops: dict[str, int] = {}
    for i, conv in enumerate(model.convs):
        width = conv.kernel_size[0]
        flops[f"conv{i}"] = conv.out_channels * max(length - width + 1, 0) * conv.in_channels * width
    flops["fc"] = model.fc.in_features * model.fc.out_features
    return flops


def input_layer_of(layer: str) -> str:
    """The neuron layer whose spikes a weighted layer of the spiking net reads."""
    return "pool" if layer == "fc" else "input"


def synaptic_ops(flops: dict[str, int], rates: dict[str, float], time_steps: int) -> dict[str, float]:
    """``T * r_in * FLOPs`` per weighted layer (see the module docstring)."""
    return {layer: time_steps * rates[input_layer_of(layer)] * n for layer, n in flops.items()}


# ------------------------------------------------------------------ measuring


@dataclass
class SpikeMeasurement:
    """Accuracy and mean firing rates of a spiking net over ``draws`` fresh draws of a split."""

    accuracy: float
    accuracy_std: float
    per_draw: tuple[float, ...]
    rates: dict[str, float]  # layer -> spikes per neuron per step, mean over examples and draws
    spikes_per_example: dict[str, float]  # layer -> spikes per example per draw (all steps)
    time_steps: int


def measure_snn(model: Any, ids: Any, labels: Any, draws: int, seed: int = 0, batch_size: int = 128,
                time_steps: int | None = None) -> SpikeMeasurement:
    """Run ``model`` over ``ids`` ``draws`` times (draw ``r`` seeded ``seed + r``, exactly as
    :func:`~robustsnn.train.evaluate.evaluate_snn`, so the accuracies match it) and collect the
    accuracy and the layer rates of the same runs. Eval mode; the caller's mode is restored."""
    import torch

    from ..models.encoding import FRESH

    if draws < 1:
        raise UserError("draws must be at least 1")
    steps = time_steps or model.time_steps
    sizes = model.layer_sizes(ids.shape[1])
    was_training = model.training
    model.eval()
    accs: list[float] = []
    rate_sums: dict[str, float] = {}
    try:
        for r in range(draws):
            generator = torch.Generator().manual_seed(seed + r)
            correct = 0
            for start in range(0, len(ids), batch_size):
                out = model.run(ids[start : start + batch_size], FRESH, steps, generator)
                correct += int((out.predictions == labels[start : start + batch_size]).sum())
                for name, rate in out.layer_rates.items():
                    rate_sums[name] = rate_sums.get(name, 0.0) + float(rate.sum())
            accs.append(correct / len(ids))
    finally:
        model.train(was_training)
    rates = {name: total / (draws * len(ids)) for name, total in rate_sums.items()}
    spikes = {name: rate * steps * sizes[name] for name, rate in rates.items()}
    std = statistics.stdev(accs) if len(accs) > 1 else 0.0
    return SpikeMeasurement(statistics.fmean(accs), std, tuple(accs), rates, spikes, steps)


# ------------------------------------------------------------------ the table


COLUMNS = [
    "dataset", "ann_kind", "ann_accuracy", "ann_flops", "ann_energy_pj",
    "snn_accuracy", "snn_accuracy_std", "snn_draws", "time_steps",
    "rate_input", "rate_conv", "rate_pool", "rate_output", "snn_sops", "snn_energy_pj",
    "energy_reduction", "e_mac_pj", "e_ac_pj", "length", "split", "n_examples",
    "ann_flops_per_layer", "snn_flops_per_layer", "snn_sops_per_layer", "snn_rates",
    "ann_checkpoint", "snn_checkpoint", "ann_model_sha256", "snn_model_sha256",
    "embedding_source", "embedding_dim",
    "git", "date", "versions", "machine",
]


def _pair_up(loaded: Sequence[Any]) -> list[tuple[Any, Any]]:
    """(ANN, SNN) per spiking checkpoint: each SNN goes with the one ANN of its dataset."""
    anns: dict[str, Any] = {}
    snns: list[Any] = []
    for m in loaded:
        dataset = m.recipe.data.dataset
        if m.kind == "snn":
            snns.append(m)
        elif m.kind in ANN_KINDS:
            if dataset in anns:
                raise UserError(f"two TextCNN checkpoints for {dataset} ({anns[dataset].path}, {m.path}); "
                                "give one per dataset")
            anns[dataset] = m
        else:
            raise UserError(f"{m.path}: unknown checkpoint kind '{m.kind}'")
    pairs = []
    for snn in snns:
        dataset = snn.recipe.data.dataset
        if dataset not in anns:
            raise UserError(f"no TextCNN (textcnn or tailored) checkpoint given for {dataset} "
                            f"(needed for {snn.path})")
        pairs.append((anns[dataset], snn))
    unused = sorted(set(anns) - {s.recipe.data.dataset for s in snns})
    if unused:
        raise UserError(f"no spiking checkpoint given for {', '.join(unused)}")
    return pairs


def energy_row(ann: Any, snn: Any, draws: int | None = None, split: str = "test",
               e_mac_pj: float = E_MAC_PJ, e_ac_pj: float = E_AC_PJ,
               time_steps: int | None = None) -> dict[str, Any]:
    """One row of the energy table for a loaded TextCNN and a loaded spiking net
    (simulated for ``time_steps`` steps instead of its recipe's ``T`` when given)."""
    import json

    from ..models.loading import encode_split
    from ..provenance import provenance
    from ..train.ann import evaluate

    if e_mac_pj <= 0 or e_ac_pj <= 0:
        raise UserError("energy per operation must be positive")
    snn_ids, snn_y = snn.encoded(split)
    ann_ids, ann_y = encode_split(ann.encoder, snn.dataset.split(split))  # the same examples
    length = snn.recipe.data.max_len
    if ann.recipe.data.max_len != length:
        raise UserError(f"{ann.path} pads to {ann.recipe.data.max_len} tokens, {snn.path} to {length}")
    ann_flops = layer_flops(ann.model, length)
    snn_flops = layer_flops(snn.model, length)
    draws = snn.recipe.finetune.eval_draws if draws is None else draws
    measured = measure_snn(snn.model, snn_ids, snn_y, draws, seed=snn.recipe.finetune.seed,
                           time_steps=time_steps)
    sops = synaptic_ops(snn_flops, measured.rates, measured.time_steps)
    flops_total, sops_total = sum(ann_flops.values()), sum(sops.values())
    ann_energy, snn_energy = flops_total * e_mac_pj, sops_total * e_ac_pj
    conv_rates = [measured.rates[k] for k in measured.rates if k.startswith("conv")]
    prov = provenance()
    return {
        "dataset": snn.recipe.data.dataset, "ann_kind": ann.kind,
        "ann_accuracy": evaluate(ann.model, ann_ids, ann_y), "ann_flops": flops_total,
        "ann_energy_pj": ann_energy, "snn_accuracy": measured.accuracy,
        "snn_accuracy_std": measured.accuracy_std, "snn_draws": draws,
        "time_steps": measured.time_steps, "rate_input": measured.rates["input"],
        "rate_conv": statistics.fmean(conv_rates), "rate_pool": measured.rates["pool"],
        "rate_output": measured.rates["output"], "snn_sops": sops_total, "snn_energy_pj": snn_energy,
        "energy_reduction": ann_energy / snn_energy if snn_energy > 0 else float("inf"),
        "e_mac_pj": e_mac_pj, "e_ac_pj": e_ac_pj, "length": length, "split": split,
        "n_examples": len(snn_ids),
        "ann_flops_per_layer": json.dumps(ann_flops), "snn_flops_per_layer": json.dumps(snn_flops),
        "snn_sops_per_layer": json.dumps(sops), "snn_rates": json.dumps(measured.rates),
        "ann_checkpoint": portable_path(ann.path), "snn_checkpoint": portable_path(snn.path),
        "ann_model_sha256": model_digest(ann.path), "snn_model_sha256": model_digest(snn.path),
        "embedding_source": snn.recipe.embedding.source,
        "embedding_dim": int(snn.model.embedding.embedding_dim),
        "git": prov["git"], "date": prov["date"], "versions": json.dumps(prov["versions"]),
        "machine": json.dumps(prov["machine"]),
    }


def _snn_name(row: dict[str, Any]) -> str:
    """How the table names a row's spiking net: its checkpoint's folder and file."""
    return "/".join(Path(row["snn_checkpoint"]).parts[-2:])


def network_pairs(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``(dataset, model, digest)`` of each DNN and SNN of the rows (``ann_model_sha256``,
    ``snn_model_sha256``; "" for rows measured before the table had them): the networks the
    table describes (:mod:`robustsnn.records.networks`)."""
    return [pair for r in rows for pair in (
        (r["dataset"], r["ann_kind"], r.get("ann_model_sha256") or ""),
        (r["dataset"], _snn_name(r), r.get("snn_model_sha256") or ""))]


def networks(rows: Sequence[dict[str, Any]]) -> str:
    """The ``Networks:`` line of the rows (:func:`network_pairs`)."""
    from ..records.networks import networks_line

    return networks_line(network_pairs(rows))


def render_markdown(rows: Sequence[dict[str, Any]]) -> str:
    from tabulate import tabulate

    headers = ["dataset", "DNN", "DNN acc. %", "FLOPs", "DNN energy (uJ)", "SNN", "SNN acc. %", "T",
               "input / conv / pool rate", "SOPs", "SNN energy (uJ)", "reduction"]
    body = [[
        r["dataset"], r["ann_kind"], f"{100 * r['ann_accuracy']:.2f}", f"{r['ann_flops']:,}",
        f"{r['ann_energy_pj'] / 1e6:.3f}", _snn_name(r),
        f"{100 * r['snn_accuracy']:.2f} ± {100 * r['snn_accuracy_std']:.2f}", r["time_steps"],
        f"{r['rate_input']:.3f} / {r['rate_conv']:.4f} / {r['rate_pool']:.4f}", f"{r['snn_sops']:,.0f}",
        f"{r['snn_energy_pj'] / 1e6:.3f}", f"{r['energy_reduction']:.2f}x",
    ] for r in rows]
    return tabulate(body, headers=headers, tablefmt="github")


def write_energy(rows: Sequence[dict[str, Any]], out_csv: Path, out_md: Path | None = None) -> None:
    import pandas as pd

    from ..io_utils import atomic_write_text

    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    atomic_write_text(out_csv, frame.to_csv(index=False, float_format="%.17g"))
    if out_md is not None:
        atomic_write_text(out_md, energy_markdown(rows, Path(out_csv).name))


def energy_markdown(rows: Sequence[dict[str, Any]], csv_name: str) -> str:
    """The Markdown of the energy table (``csv_name``: the CSV it sits beside)."""
    first = rows[0] if rows else {}
    legend = (
        "Per example, at each dataset's pad length. FLOPs = conv + fc multiply-accumulates of "
        "the TextCNN; SOPs = sum over conv and fc of T x (firing rate of the layer's input "
        "neurons, measured on the test split) x (that layer's FLOPs in the spiking net); "
        "embedding lookup and spike encoding are not counted on either side. Energy = "
        f"FLOPs x {first.get('e_mac_pj', E_MAC_PJ)} pJ and SOPs x {first.get('e_ac_pj', E_AC_PJ)} pJ; "
        "reduction = DNN energy / SNN energy. SNN accuracy: mean ± std over the draws "
        f"whose rates were measured. Generated by `robustsnn energy`; unrounded values in "
        f"{csv_name}.\n")
    return ("# Estimated energy (Table 5)\n\n" + networks(rows) + "\n\n" + legend + "\n"
            + render_markdown(rows) + "\n")


def energy_table(checkpoints: Sequence[str | Path], draws: int | None = None, split: str = "test",
                 e_mac_pj: float = E_MAC_PJ, e_ac_pj: float = E_AC_PJ, time_steps: int | None = None,
                 log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Rows for ``checkpoints``: TextCNN and spiking checkpoints, one TextCNN per dataset."""
    from ..models.loading import load_model

    if not checkpoints:
        raise UserError("give at least one TextCNN and one spiking checkpoint")
    for path in checkpoints:
        if not Path(path).is_file():
            raise UserError(f"checkpoint not found: {path}")
    if draws is not None and draws < 1:
        raise UserError("--draws must be at least 1")
    if time_steps is not None and time_steps < 1:
        raise UserError("--time-steps must be at least 1")
    rows = []
    for ann, snn in _pair_up([load_model(p) for p in checkpoints]):
        row = energy_row(ann, snn, draws, split, e_mac_pj, e_ac_pj, time_steps)
        log(f"{row['dataset']}: {ann.kind} {row['ann_flops']:,} FLOPs = {row['ann_energy_pj'] / 1e6:.3f} uJ; "
            f"snn {row['snn_sops']:,.0f} SOPs = {row['snn_energy_pj'] / 1e6:.3f} uJ "
            f"(rates input {row['rate_input']:.3f}, pool {row['rate_pool']:.4f}); "
            f"reduction {row['energy_reduction']:.2f}x; acc {row['ann_accuracy']:.4f} vs "
            f"{row['snn_accuracy']:.4f} +- {row['snn_accuracy_std']:.4f}")
        rows.append(row)
    return rows
