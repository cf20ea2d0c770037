"""``robustsnn sweep``: accuracy and spiking activity against one neuron or coding constant
(the paper's Figures 3 and 5).

* ``time_steps``, ``threshold``, ``beta`` - **no retraining**: the given spiking checkpoint
  (converted or fine-tuned) is rebuilt with the constant changed (``snn.<param>=value``;
  the weights are copied unchanged) and evaluated. This is what the paper's Figure 5
  does for T; for threshold and decay it shows how a trained net responds to the
  change, not what a net trained at that value would reach.
* ``neurons_per_class`` - changes the output layer, so every value needs its own
  tailored TextCNN: ``--retrain`` trains one per value (``train.*`` overrides such as
  ``--set train.max_epochs=5`` keep it short), converts it (``norm none``) and, with
  ``--finetune-epochs N``, fine-tunes it; then evaluates. Every point is its own run
  folder ``<runs>/<dataset>/sweep-npc/<value>/`` (``tailored/``, ``snn/converted-none.pt``,
  ``snn-finetuned-none/``), so an interrupted sweep resumes where it stopped and finished
  points are reused. Time: per value one tailored training (SST-2: ~5-10 s per epoch
  here) plus, if asked, fine-tuning (~60-140 s per epoch).

Per value: accuracy (mean ± std over ``draws`` Poisson draws of the split), the mean
firing rate of every neuron layer and the spikes per example (all layers, all steps;
the quantity the paper's Figure 3 (c)/(d) tracks). Results: ``<out>/<dataset>-<param>.csv``
(unrounded) and ``.png``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import UserError
from ..models.checkpoint import model_digest
from ..paths import portable_path

PARAMS = ("time_steps", "threshold", "beta", "neurons_per_class")
DEFAULT_VALUES: dict[str, tuple[float, ...]] = {
    "time_steps": (10, 20, 30, 50, 80),
    "threshold": (0.5, 0.75, 1.0, 1.5, 2.0),
    "beta": (0.8, 0.9, 0.95, 0.99, 1.0),
    "neurons_per_class": (1, 5, 10, 20),
}
LABELS = {"time_steps": "time steps T", "threshold": "membrane threshold", "beta": "decay rate beta",
          "neurons_per_class": "neurons per class"}


def parse_values(param: str, text: str | None) -> list[float]:
    """Comma-separated values (integers for time steps and neurons per class)."""
    if param not in PARAMS:
        raise UserError(f"unknown sweep parameter '{param}' (choices: {', '.join(PARAMS)})")
    if not text:
        return list(DEFAULT_VALUES[param])
    integer = param in ("time_steps", "neurons_per_class")
    values: list[float] = []
    for part in text.split(","):
        part = part.strip()
        try:
            value = int(part) if integer else float(part)
        except ValueError:
            raise UserError(f"--values: '{part}' is not {'an integer' if integer else 'a number'}") from None
        values.append(value)
    if not values:
        raise UserError("--values is empty")
    bad = [v for v in values if (v <= 0 if param != "beta" else not 0.0 <= v <= 1.0)]
    if bad:
        raise UserError(f"--values for {param} out of range: {bad}"
                        + (" (beta must be in [0, 1])" if param == "beta" else " (must be positive)"))
    return values


def _override(param: str, value: float) -> str:
    return f"snn.{param}={value}" if param != "neurons_per_class" else f"model.neurons_per_class={value}"


def rebuild(loaded: Any, param: str, value: float) -> Any:
    """The spiking net of ``loaded`` with ``snn.<param>`` set to ``value``, weights copied."""
    from ..config import recipe_from_dict, validate_recipe
    from ..models.factory import build_model
    from ..train.convert import copy_weights

    recipe = recipe_from_dict(loaded.recipe.to_dict(), [_override(param, value)])
    validate_recipe(recipe)
    weight = loaded.model.embedding.weight
    model = build_model("snn", recipe, weight.shape[0], weight.shape[1], loaded.model.num_classes)
    copy_weights(loaded.model, model)
    return model.eval()


def _point(param: str, value: float, model: Any, ids: Any, labels: Any, draws: int, seed: int,
           checkpoint: Path) -> dict[str, Any]:
    from .energy import measure_snn

    began = time.perf_counter()
    m = measure_snn(model, ids, labels, draws, seed=seed)
    return {"param": param, "value": value, "accuracy": m.accuracy, "accuracy_std": m.accuracy_std,
            "draws": draws, "per_draw": json.dumps(list(m.per_draw)), "time_steps": m.time_steps,
            "threshold": float(model.threshold), "beta": float(model.out_lif.beta),
            "neurons_per_class": model.neurons_per_class,
            "spikes_per_example": sum(v for k, v in m.spikes_per_example.items() if k != "input"),
            **{f"rate_{k}": v for k, v in m.rates.items()},
            "seconds": time.perf_counter() - began, "checkpoint": portable_path(checkpoint),
            "model_sha256": model_digest(checkpoint)}


def sweep_constants(checkpoint: Path, param: str, values: Sequence[float], draws: int, split: str = "test",
                    log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Evaluate one spiking checkpoint with ``snn.<param>`` set to each value (no retraining)."""
    from ..models.loading import load_model

    if param not in ("time_steps", "threshold", "beta"):
        raise UserError(f"'{param}' changes the weights' shape; sweep it with --retrain")
    loaded = load_model(checkpoint)
    if loaded.kind != "snn":
        raise UserError(f"{checkpoint} holds a '{loaded.kind}' model; sweeps need a spiking checkpoint "
                        f"(make one with: robustsnn convert {checkpoint})")
    ids, labels = loaded.encoded(split)
    rows = []
    for value in values:
        row = _point(param, value, rebuild(loaded, param, value), ids, labels, draws,
                     loaded.recipe.finetune.seed, Path(checkpoint))
        row["dataset"], row["split"] = loaded.recipe.data.dataset, split
        log(f"{param} = {value:g}: accuracy {row['accuracy']:.4f} +- {row['accuracy_std']:.4f}, "
            f"{row['spikes_per_example']:.0f} spikes per example ({row['seconds']:.0f}s)")
        rows.append(row)
    return rows


def npc_point_dir(runs: Path, dataset: str, value: int) -> Path:
    from ..artifacts import npc_point_dir as point_dir

    return point_dir(dataset, value, runs)


def sweep_neurons_per_class(config: Path, values: Sequence[int], draws: int, overrides: Sequence[str] = (),
                            finetune_epochs: int = 0, split: str = "test", runs: Path | None = None,
                            log: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Train (tailored), convert and optionally fine-tune one net per value, then evaluate.
    Finished steps of a point are reused; unfinished training resumes from ``last.pt``."""
    from ..artifacts import CONVERTED, FINETUNED, RESULT, TAILORED
    from ..config import load_recipe
    from ..models.loading import load_model
    from ..paths import runs_dir
    from ..train.ann import train
    from ..train.convert import convert
    from ..train.snn import finetune

    if finetune_epochs < 0:
        raise UserError("--finetune-epochs must be >= 0")
    runs = Path(runs) if runs else runs_dir()
    rows = []
    for value in values:
        recipe = load_recipe(config, [*overrides, f"model.neurons_per_class={int(value)}"])
        point = npc_point_dir(runs, recipe.data.dataset, int(value))
        tailored = TAILORED.run_at(point)
        if not (tailored / RESULT).is_file():
            log(f"neurons_per_class = {value}: training the tailored TextCNN in {tailored}")
            train(recipe, "tailored", tailored, resume=True, log=log)
        converted = CONVERTED.at(point)
        if not converted.is_file():
            convert(TAILORED.at(point), "none", converted, log=log)
        chosen = converted
        if finetune_epochs:
            tuned = FINETUNED.run_at(point)
            if not (tuned / RESULT).is_file():
                finetune(converted, tuned, resume=True,
                         overrides=[f"finetune.max_epochs={finetune_epochs}"], log=log)
            chosen = FINETUNED.at(point)
        loaded = load_model(chosen)
        ids, labels = loaded.encoded(split)
        row = _point("neurons_per_class", int(value), loaded.model, ids, labels, draws,
                     loaded.recipe.finetune.seed, chosen)
        row["dataset"], row["split"] = recipe.data.dataset, split
        log(f"neurons_per_class = {value}: accuracy {row['accuracy']:.4f} +- {row['accuracy_std']:.4f}")
        rows.append(row)
    return rows


def plot(rows: Sequence[dict[str, Any]], param: str, path: Path, title: str, split: str = "test") -> None:
    """Accuracy (with ± std bars) and spikes per example against the swept value."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ..io_utils import atomic_write

    xs = [r["value"] for r in rows]
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    try:
        ax.errorbar(xs, [100 * r["accuracy"] for r in rows], yerr=[100 * r["accuracy_std"] for r in rows],
                    marker="o", capsize=3, color="tab:blue", label="accuracy")
        ax.set_xlabel(LABELS[param])
        ax.set_ylabel(f"{split} accuracy (%)", color="tab:blue")
        twin = ax.twinx()
        twin.plot(xs, [r["spikes_per_example"] for r in rows], marker="s", linestyle="--",
                  color="tab:red", label="spikes per example")
        twin.set_ylabel("spikes per example (neurons, not input)", color="tab:red")
        ax.set_title(title, fontsize=9)
        fig.tight_layout()
        atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    finally:
        plt.close(fig)


def write_sweep(rows: Sequence[dict[str, Any]], param: str, out_dir: Path, note: str,
                split: str = "test") -> tuple[Path, Path]:
    import pandas as pd

    from ..io_utils import atomic_write_text
    from ..provenance import provenance

    if not rows:
        raise UserError("nothing to write: no sweep points")
    prov = provenance()
    dataset = rows[0]["dataset"]
    records = [{**r, "git": prov["git"], "date": prov["date"], "versions": json.dumps(prov["versions"]),
                "machine": json.dumps(prov["machine"]), "command": prov["command"]} for r in rows]
    stem = f"{dataset}-{param}"
    csv_path, png_path = Path(out_dir) / f"{stem}.csv", Path(out_dir) / f"{stem}.png"
    atomic_write_text(csv_path, pd.DataFrame(records).to_csv(index=False, float_format="%.17g"))
    plot(rows, param, png_path, f"{dataset}: {LABELS[param]} ({note})", split)
    return csv_path, png_path
