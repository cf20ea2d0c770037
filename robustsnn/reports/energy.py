"""Estimated inference energy of a TextCNN and of a spiking TextCNN (the paper's Table 5),
and of the spiking transformer (``spikformer``, a table of its own).

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

The spiking transformer
-----------------------

``spikformer`` checkpoints (models/spikformer.py) are priced after the convention of
Spikformer (Zhou et al., ICLR 2023) and SpikeBERT (Lv et al. 2023, arXiv 2308.15122):
a layer that reads **real values** costs its MACs at ``e_MAC``; a layer that reads
**binary spikes** costs ``T * r_in * FLOPs`` accumulates (ACs) at ``e_AC``, with ``r_in``
the mean firing rate of the LIF layer feeding it, measured on the test split with
``SpikingTransformer.run(...).layer_rates`` (spikes per neuron per step over all
``T x L`` positions, padding included, like the FLOPs). Per example at the spikformer's
own pad length ``L``, for block ``b`` of width ``W`` with ``heads`` heads of ``d = W /
heads`` channels, MLP width ``H``, tokenizer kernel ``k`` over ``D``-dimensional word
vectors and ``C`` classes (:func:`spikformer_flops`, :data:`SPIKFORMER_READS`):

=============  ===============  ================================  =========================================
op             FLOPs            reads                             priced as
=============  ===============  ================================  =========================================
tokenizer      ``W * L * D * k``  word vectors (real)             ``FLOPs`` MACs, once per inference
b.q, b.k, b.v  ``L * W * W``    spikes of ``b.attn_in``           ``T * r(attn_in) * FLOPs`` ACs each
b.kv           ``L * W * d``    ``K^T V``: K and V spikes         ``T * max(r(k_lif), r(v_lif)) * FLOPs`` ACs
b.q_kv         ``L * W * d``    ``Q (K^T V)``: Q spikes           ``T * r(q_lif) * FLOPs`` ACs
b.proj         ``L * W * W``    spikes of ``b.attn_lif``          ``T * r(attn_lif) * FLOPs`` ACs
b.fc1          ``L * W * H``    spikes of ``b.mlp_in``            ``T * r(mlp_in) * FLOPs`` ACs
b.fc2          ``L * H * W``    spikes of ``b.hidden_lif``        ``T * r(hidden_lif) * FLOPs`` ACs
head           ``W * C``        readout rates (real)              ``FLOPs`` MACs, once per inference
=============  ===============  ================================  =========================================

Why these formulas:

* A spike of one input neuron of a linear layer adds that neuron's ``out_features``
  weights, one AC each. A layer whose input neurons fire at rate ``r`` receives ``T * r *
  (L * in_features)`` spikes per example, so it does exactly ``T * r * FLOPs`` ACs: for
  the linear layers this is a count, not an estimate.
* Attention: without a softmax the product is associative and the network computes
  ``Q (K^T V)`` (linear in ``L``), so that is what is counted, not Spikformer's ``(Q
  K^T) V`` order (``2 * L * L * W`` FLOPs). ``K^T V`` multiplies two spike matrices
  (per head ``[d, L] x [L, d]``): driven by the spikes of either operand, each spike
  adds one row of the other, ``T * r_K * FLOPs`` or ``T * r_V * FLOPs`` ACs. We take the
  **larger** of the two rates: never fewer ACs than either one-operand scheme would do
  (an AND-and-count of both, ~``r_K * r_V * FLOPs``, would be far fewer; the sparser
  operand alone, ``min``, fewer too): a conservative choice for the SNN. ``K`` is counted
  after the padding mask (the spikes the product reads). ``K^T V`` holds integer counts,
  not spikes; in ``Q (K^T V)`` only ``Q`` is binary, each ``Q`` spike adds one row of that
  ``d x d`` integer matrix: ``T * r_Q * FLOPs`` ACs (additions of integers, no multiply).
* The two layers that read real values run **once** per inference, not ``T`` times:
  the tokenizer's input current is the same at every step (direct input) and the network
  computes it once (Spikformer counts its first, encoding layer's FLOPs once too); the
  head reads the readout's rates (time-averaged spike counts) once.

Not counted (as biases, ReLU and pooling are not counted for the TextCNNs): BatchNorm
(at inference a per-channel scale folds into the preceding weights, which keeps their
inputs binary, and a shift becomes a bias), the LIF updates, the two residual additions
per block on the membrane stream (``2 * T * L * W`` real additions per block), the
attention scale (0.125 = 2^-3, foldable exactly into ``attn_lif``'s threshold), the padding
mask (a gate), the readout's spike counting and division (like the spiking TextCNN's
average pooling), dropout (off at inference) and the embedding lookup (on neither side).

``E_SNN = MACs * e_MAC + ACs * e_AC``; the reduction is ``E_DNN / E_SNN`` against the
TextCNN given for the same dataset, both run on the same test examples. Each network is
counted at **its own pad length** (its recipe's ``data.max_len``; both recorded, the
shipped recipes pad alike: SST-2 25, MR 35). The spikformer is deterministic: one pass
gives its accuracy and rates (no draws).
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Collection, Sequence

from ..errors import UserError
from ..models.checkpoint import model_digest
from ..paths import portable_path

E_MAC_PJ = 4.6
E_AC_PJ = 0.9
ANN_KINDS = ("textcnn", "tailored")
SNN_KINDS = ("snn", "spikformer")


# ------------------------------------------------------------------ counting


def layer_flops(model: Any, length: int) -> dict[str, int]:
    """MACs per example of every layer with weights (``conv0..``, ``fc``) at ``length`` tokens.
    Works for the TextCNN, the tailored and the spiking TextCNN (same layer names); for the
    spiking transformer, :func:`spikformer_flops`."""
    if getattr(model, "kind", None) == "spikformer":
        return spikformer_flops(model, length)
    flops: dict[str, int] = {}
    for i, conv in enumerate(model.convs):
        width = conv.kernel_size[0]
        flops[f"conv{i}"] = conv.out_channels * max(length - width + 1, 0) * conv.in_channels * width
    flops["fc"] = model.fc.in_features * model.fc.out_features
    return flops


# Spikformer op (per block ``block{i}.`` unless global) -> the LIF layers whose spikes it
# reads; () = it reads real values (priced as MACs, once per inference).
SPIKFORMER_READS: dict[str, tuple[str, ...]] = {
    "tokenizer": (), "q": ("attn_in",), "k": ("attn_in",), "v": ("attn_in",),
    "kv": ("k_lif", "v_lif"), "q_kv": ("q_lif",), "proj": ("attn_lif",),
    "fc1": ("mlp_in",), "fc2": ("hidden_lif",), "head": (),
}


def spikformer_flops(model: Any, length: int) -> dict[str, int]:
    """MACs per example of every op of a :class:`~robustsnn.models.spikformer.SpikingTransformer`
    at ``length`` tokens, per time step for the spike-driven ones (see the module docstring):
    ``tokenizer``, ``block{i}.{q,k,v,kv,q_kv,proj,fc1,fc2}``, ``head``."""
    tok = model.tokenizer
    (kernel,), (pad,), (stride,) = tok.kernel_size, tok.padding, tok.stride
    positions = max((length + 2 * pad - kernel) // stride + 1, 0)
    flops = {"tokenizer": tok.out_channels * positions * tok.in_channels * kernel}
    for i, block in enumerate(model.blocks):
        attn, mlp = block.attention, block.mlp
        for name, layer in (("q", attn.q), ("k", attn.k), ("v", attn.v)):
            flops[f"block{i}.{name}"] = length * layer.linear.in_features * layer.linear.out_features
        width = attn.q.linear.out_features
        d = width // attn.heads
        flops[f"block{i}.kv"] = attn.heads * d * length * d  # per head [d, L] x [L, d]
        flops[f"block{i}.q_kv"] = attn.heads * length * d * d  # per head [L, d] x [d, d]
        flops[f"block{i}.proj"] = length * attn.proj.linear.in_features * attn.proj.linear.out_features
        flops[f"block{i}.fc1"] = length * mlp.fc1.linear.in_features * mlp.fc1.linear.out_features
        flops[f"block{i}.fc2"] = length * mlp.fc2.linear.in_features * mlp.fc2.linear.out_features
    flops["head"] = model.head.in_features * model.head.out_features
    return flops


def spikformer_reads(op: str) -> tuple[str, ...]:
    """The LIF layers (``run(...).layer_rates`` keys) whose spikes ``op`` reads; () for real values."""
    prefix, _, name = op.rpartition(".")
    return tuple(f"{prefix}.{layer}" if prefix else layer for layer in SPIKFORMER_READS[name])


def spikformer_ops(flops: dict[str, int], rates: dict[str, float],
                   time_steps: int) -> tuple[dict[str, int], dict[str, float]]:
    """``(MACs, ACs)`` per op: ops reading real values cost their FLOPs in MACs once; ops
    reading spikes ``T * max(rates of the LIF layers they read) * FLOPs`` ACs."""
    macs: dict[str, int] = {}
    acs: dict[str, float] = {}
    for op, n in flops.items():
        reads = spikformer_reads(op)
        if reads:
            acs[op] = time_steps * max(rates[layer] for layer in reads) * n
        else:
            macs[op] = n
    return macs, acs


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


def measure_spikformer(model: Any, ids: Any, labels: Any, batch_size: int = 128,
                       time_steps: int | None = None) -> SpikeMeasurement:
    """Accuracy and LIF layer rates of the (deterministic) spiking transformer over ``ids``:
    one pass, eval mode (the caller's mode and ``time_steps`` are restored)."""
    was_training, steps_before = model.training, model.time_steps
    model.eval()
    if time_steps is not None:
        model.time_steps = time_steps
    correct = 0
    rate_sums: dict[str, float] = {}
    try:
        for start in range(0, len(ids), batch_size):
            out = model.run(ids[start : start + batch_size])
            correct += int((out.predictions == labels[start : start + batch_size]).sum())
            for name, rate in out.layer_rates.items():
                rate_sums[name] = rate_sums.get(name, 0.0) + float(rate.double().sum())
        steps = model.time_steps
    finally:
        model.train(was_training)
        model.time_steps = steps_before
    sizes = model.layer_sizes(ids.shape[1])
    rates = {name: total / len(ids) for name, total in rate_sums.items()}
    spikes = {name: rate * steps * sizes[name] for name, rate in rates.items()}
    accuracy = correct / len(ids)
    return SpikeMeasurement(accuracy, 0.0, (accuracy,), rates, spikes, steps)


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


SPIKFORMER_COLUMNS = [
    "dataset", "ann_kind", "ann_accuracy", "ann_length", "ann_flops", "ann_energy_pj",
    "snn_kind", "snn_accuracy", "time_steps", "snn_length", "snn_macs", "snn_acs", "snn_energy_pj",
    "energy_reduction", "rate_mean", "e_mac_pj", "e_ac_pj", "split", "n_examples",
    "ann_flops_per_layer", "snn_flops_per_layer", "snn_macs_per_layer", "snn_acs_per_layer", "snn_rates",
    "ann_checkpoint", "snn_checkpoint", "ann_model_sha256", "snn_model_sha256",
    "embedding_source", "embedding_dim",
    "git", "date", "versions", "machine",
]


def _pair_up(loaded: Sequence[Any]) -> list[tuple[Any, Any]]:
    """(ANN, SNN) per spiking checkpoint (converted ``snn`` or ``spikformer``): each goes
    with the one ANN of its dataset."""
    anns: dict[str, Any] = {}
    snns: list[Any] = []
    for m in loaded:
        dataset = m.recipe.data.dataset
        if m.kind in SNN_KINDS:
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


def _networks_and_provenance(ann: Any, snn: Any) -> dict[str, Any]:
    """The columns every energy row ends with, converted SNN or spiking transformer: the two
    checkpoints (portable path, content digest), the SNN's word vectors, and where and with
    what the row was measured."""
    import json

    from ..provenance import provenance

    prov = provenance()
    return {
        "ann_checkpoint": portable_path(ann.path), "snn_checkpoint": portable_path(snn.path),
        "ann_model_sha256": model_digest(ann.path), "snn_model_sha256": model_digest(snn.path),
        "embedding_source": snn.recipe.embedding.source,
        "embedding_dim": int(snn.model.embedding.embedding_dim),
        "git": prov["git"], "date": prov["date"], "versions": json.dumps(prov["versions"]),
        "machine": json.dumps(prov["machine"]),
    }


def energy_row(ann: Any, snn: Any, draws: int | None = None, split: str = "test",
               e_mac_pj: float = E_MAC_PJ, e_ac_pj: float = E_AC_PJ,
               time_steps: int | None = None) -> dict[str, Any]:
    """One row of the energy table for a loaded TextCNN and a loaded spiking net
    (simulated for ``time_steps`` steps instead of its recipe's ``T`` when given)."""
    import json

    from ..models.loading import encode_split
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
        **_networks_and_provenance(ann, snn),
    }


def spikformer_row(ann: Any, snn: Any, split: str = "test", e_mac_pj: float = E_MAC_PJ,
                   e_ac_pj: float = E_AC_PJ, time_steps: int | None = None) -> dict[str, Any]:
    """One row of the spiking transformer's energy table for a loaded TextCNN and a loaded
    ``spikformer`` (simulated for ``time_steps`` steps instead of its recipe's ``T`` when
    given). Each net is counted at its own pad length (module docstring)."""
    import json

    from ..models.loading import encode_split
    from ..train.ann import evaluate

    if e_mac_pj <= 0 or e_ac_pj <= 0:
        raise UserError("energy per operation must be positive")
    snn_ids, snn_y = snn.encoded(split)
    ann_ids, ann_y = encode_split(ann.encoder, snn.dataset.split(split))  # the same examples
    ann_length, snn_length = ann.recipe.data.max_len, snn.recipe.data.max_len
    ann_flops = layer_flops(ann.model, ann_length)
    snn_flops = spikformer_flops(snn.model, snn_length)
    measured = measure_spikformer(snn.model, snn_ids, snn_y, time_steps=time_steps)
    macs, acs = spikformer_ops(snn_flops, measured.rates, measured.time_steps)
    flops_total, macs_total, acs_total = sum(ann_flops.values()), sum(macs.values()), sum(acs.values())
    ann_energy, snn_energy = flops_total * e_mac_pj, macs_total * e_mac_pj + acs_total * e_ac_pj
    sizes = snn.model.layer_sizes(snn_length)
    rate_mean = sum(measured.rates[k] * sizes[k] for k in measured.rates) / sum(sizes[k] for k in measured.rates)
    return {
        "dataset": snn.recipe.data.dataset, "ann_kind": ann.kind,
        "ann_accuracy": evaluate(ann.model, ann_ids, ann_y), "ann_length": ann_length,
        "ann_flops": flops_total, "ann_energy_pj": ann_energy,
        "snn_kind": snn.kind, "snn_accuracy": measured.accuracy, "time_steps": measured.time_steps,
        "snn_length": snn_length, "snn_macs": macs_total, "snn_acs": acs_total, "snn_energy_pj": snn_energy,
        "energy_reduction": ann_energy / snn_energy if snn_energy > 0 else float("inf"),
        "rate_mean": rate_mean, "e_mac_pj": e_mac_pj, "e_ac_pj": e_ac_pj, "split": split,
        "n_examples": len(snn_ids),
        "ann_flops_per_layer": json.dumps(ann_flops), "snn_flops_per_layer": json.dumps(snn_flops),
        "snn_macs_per_layer": json.dumps(macs), "snn_acs_per_layer": json.dumps(acs),
        "snn_rates": json.dumps(measured.rates),
        **_networks_and_provenance(ann, snn),
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


# Columns that hold text (names, digests, JSON, provenance): an empty cell of a kept row is
# "" there, not pandas' NaN.
_TEXT_COLUMNS = frozenset({
    "dataset", "ann_kind", "snn_kind", "split", "ann_checkpoint", "snn_checkpoint", "ann_model_sha256",
    "snn_model_sha256", "embedding_source", "git", "date", "versions", "machine", "snn_rates",
    "ann_flops_per_layer", "snn_flops_per_layer", "snn_sops_per_layer", "snn_macs_per_layer",
    "snn_acs_per_layer"})


def read_table(path: Path, columns: Sequence[str]) -> list[dict[str, Any]]:
    """The rows of an energy table this module wrote (none when there is no file), typed as
    pandas reads them, so that writing them again gives the same bytes."""
    import pandas as pd

    if not Path(path).is_file():
        return []
    try:
        frame = pd.read_csv(path)
    except (UnicodeDecodeError, ValueError) as exc:
        raise UserError(f"{path}: not a table robustsnn energy wrote ({exc}); rebuild it without --update") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise UserError(f"{path}: lacks column(s) {', '.join(missing)}; rebuild it without --update")
    rows = frame[list(columns)].to_dict("records")
    return [{k: ("" if k in _TEXT_COLUMNS and pd.isna(v) else v) for k, v in r.items()} for r in rows]


def merge_rows(measured: Sequence[dict[str, Any]], existing: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``existing`` with the rows of every dataset ``measured`` has replaced by the measured
    ones, in the existing order (the measured rows of a dataset take the place of its first
    old row; a new dataset's rows go last): ``--update``, which re-measures some datasets
    and keeps the others' rows as the report that measured them wrote them."""
    fresh: dict[str, list[dict[str, Any]]] = {}
    for row in measured:
        fresh.setdefault(row["dataset"], []).append(row)
    merged: list[dict[str, Any]] = []
    placed: set[str] = set()
    for row in existing:
        dataset = row["dataset"]
        if dataset not in fresh:
            merged.append(row)
        elif dataset not in placed:
            merged.extend(fresh[dataset])
            placed.add(dataset)
    return merged + [r for d, rows in fresh.items() if d not in placed for r in rows]


def kept_note(rows: Sequence[dict[str, Any]], measured_datasets: Collection[str] | None) -> str:
    """The Markdown paragraph (with the blank line before it) that ends a table written by
    ``--update`` and says which rows were kept from earlier reports; "" when nothing was kept
    or the table was written whole (``measured_datasets`` None)."""
    if measured_datasets is None:
        return ""
    runs: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        if r["dataset"] not in measured_datasets:
            names = runs.setdefault((str(r["git"]), str(r["date"])[:10]), [])
            if r["dataset"] not in names:
                names.append(r["dataset"])
    note = " ".join(f"Rows of {', '.join(names)}: kept from the report at git {git} on {date} "
                    "(`robustsnn energy --update` re-measured the other datasets; per-row provenance "
                    "in the CSV)." for (git, date), names in runs.items())
    return f"\n{note}\n" if note else ""


def write_energy(rows: Sequence[dict[str, Any]], out_csv: Path, out_md: Path | None = None,
                 measured_datasets: Collection[str] | None = None) -> None:
    """Write the table (``measured_datasets``: the datasets measured by this run, when
    others' rows were kept; the Markdown then says which were kept)."""
    import pandas as pd

    from ..io_utils import atomic_write_text

    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    atomic_write_text(out_csv, frame.to_csv(index=False, float_format="%.17g"))
    if out_md is not None:
        atomic_write_text(out_md, energy_markdown(rows, Path(out_csv).name, measured_datasets))


def energy_markdown(rows: Sequence[dict[str, Any]], csv_name: str,
                    measured_datasets: Collection[str] | None = None) -> str:
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
            + render_markdown(rows) + "\n" + kept_note(rows, measured_datasets))


def render_spikformer_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The summary table, then per dataset each op's input rate, FLOPs and operations."""
    import json

    from tabulate import tabulate

    headers = ["dataset", "DNN", "DNN acc. %", "pad length DNN / SNN", "FLOPs", "DNN energy (uJ)", "SNN",
               "SNN acc. %", "T", "mean rate", "MACs", "ACs", "SNN energy (uJ)", "reduction"]
    body = [[
        r["dataset"], r["ann_kind"], f"{100 * r['ann_accuracy']:.2f}", f"{r['ann_length']} / {r['snn_length']}",
        f"{r['ann_flops']:,}", f"{r['ann_energy_pj'] / 1e6:.3f}", "/".join(Path(r["snn_checkpoint"]).parts[-2:]),
        f"{100 * r['snn_accuracy']:.2f}", r["time_steps"], f"{r['rate_mean']:.4f}", f"{r['snn_macs']:,}",
        f"{r['snn_acs']:,.0f}", f"{r['snn_energy_pj'] / 1e6:.3f}", f"{r['energy_reduction']:.2f}x",
    ] for r in rows]
    parts = [tabulate(body, headers=headers, tablefmt="github")]
    for r in rows:
        flops, macs, acs = (json.loads(r[k]) for k in ("snn_flops_per_layer", "snn_macs_per_layer",
                                                           "snn_acs_per_layer"))
        rates = json.loads(r["snn_rates"])
        lines = []
        for op, n in flops.items():
            reads = spikformer_reads(op)
            lines.append([op, " / ".join(reads) or "real values",
                          " / ".join(f"{rates[k]:.4f}" for k in reads) or "",
                          f"{n:,}", f"{macs[op]:,}" if op in macs else "", f"{acs[op]:,.0f}" if op in acs else ""])
        parts.append(f"{r['dataset']} ({'/'.join(Path(r['snn_checkpoint']).parts[-2:])}, T = {r['time_steps']}, "
                     f"L = {r['snn_length']}), per op:\n\n"
                     + tabulate(lines, headers=["op", "reads (LIF layer)", "rate", "FLOPs", "MACs", "ACs"],
                                tablefmt="github"))
    return "\n\n".join(parts)


def write_spikformer_energy(rows: Sequence[dict[str, Any]], out_csv: Path, out_md: Path | None = None,
                            measured_datasets: Collection[str] | None = None) -> None:
    import pandas as pd

    from ..io_utils import atomic_write_text

    frame = pd.DataFrame(list(rows), columns=SPIKFORMER_COLUMNS)
    atomic_write_text(out_csv, frame.to_csv(index=False, float_format="%.17g"))
    if out_md is not None:
        first = rows[0] if rows else {}
        e_mac, e_ac = first.get("e_mac_pj", E_MAC_PJ), first.get("e_ac_pj", E_AC_PJ)
        legend = (
            "Per example; each network at its own pad length (its recipe's max_len). FLOPs = conv + fc "
            "multiply-accumulates of the TextCNN. Spiking transformer (Spikformer / SpikeBERT convention): "
            "the ops that read real values (the tokenizer over the word vectors, the head over the readout "
            "rates) count their MACs once per inference; an op that reads spikes counts T x r x FLOPs "
            "accumulates (ACs), r = the firing rate of the LIF layer it reads, measured on the test split over "
            "all positions; K^T V (two spike matrices) takes the larger of the K and V rates, Q (K^T V) the "
            "Q rate. BatchNorm, biases, neuron updates, residual additions, the attention scale and the "
            "embedding lookup are not counted (robustsnn/reports/energy.py says why). Energy = FLOPs x "
            f"{e_mac} pJ for the TextCNN, MACs x {e_mac} pJ + ACs x {e_ac} pJ for the spiking transformer; "
            "reduction = DNN energy / SNN energy. The spiking transformer is deterministic: accuracy and "
            f"rates from one pass. Generated by `robustsnn energy`; unrounded values in {Path(out_csv).name}.\n")
        atomic_write_text(out_md, "# Estimated energy: the spiking transformer\n\n" + networks(rows) + "\n\n"
                          + legend + "\n" + render_spikformer_markdown(rows) + "\n"
                          + kept_note(rows, measured_datasets))


def energy_table(checkpoints: Sequence[str | Path], draws: int | None = None, split: str = "test",
                 e_mac_pj: float = E_MAC_PJ, e_ac_pj: float = E_AC_PJ, time_steps: int | None = None,
                 log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Rows for ``checkpoints``: TextCNN and spiking checkpoints, one TextCNN per dataset.
    Rows of converted spiking TextCNNs have :data:`COLUMNS`, rows of spiking transformers
    :data:`SPIKFORMER_COLUMNS` (``snn_kind`` "spikformer"; :func:`split_rows` parts them)."""
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
        if snn.kind == "spikformer":
            row = spikformer_row(ann, snn, split, e_mac_pj, e_ac_pj, time_steps)
            log(f"{row['dataset']}: {ann.kind} {row['ann_flops']:,} FLOPs = {row['ann_energy_pj'] / 1e6:.3f} uJ; "
                f"spikformer {row['snn_macs']:,} MACs + {row['snn_acs']:,.0f} ACs = "
                f"{row['snn_energy_pj'] / 1e6:.3f} uJ (mean rate {row['rate_mean']:.4f}); "
                f"reduction {row['energy_reduction']:.2f}x; acc {row['ann_accuracy']:.4f} vs {row['snn_accuracy']:.4f}")
            rows.append(row)
            continue
        row = energy_row(ann, snn, draws, split, e_mac_pj, e_ac_pj, time_steps)
        log(f"{row['dataset']}: {ann.kind} {row['ann_flops']:,} FLOPs = {row['ann_energy_pj'] / 1e6:.3f} uJ; "
            f"snn {row['snn_sops']:,.0f} SOPs = {row['snn_energy_pj'] / 1e6:.3f} uJ "
            f"(rates input {row['rate_input']:.3f}, pool {row['rate_pool']:.4f}); "
            f"reduction {row['energy_reduction']:.2f}x; acc {row['ann_accuracy']:.4f} vs "
            f"{row['snn_accuracy']:.4f} +- {row['snn_accuracy_std']:.4f}")
        rows.append(row)
    return rows


def split_rows(rows: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(converted spiking TextCNN rows, spiking transformer rows)`` of :func:`energy_table`."""
    spikformer = [r for r in rows if r.get("snn_kind") == "spikformer"]
    return [r for r in rows if r.get("snn_kind") != "spikformer"], spikformer
