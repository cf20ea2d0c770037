"""The leaderboard site's figures (``plots/*.png``, :mod:`.site`): attack success rate
against draws per query k, and accuracy under attack against a threat knob where the
results hold runs that differ only in that knob.

matplotlib is imported on the first plot only (``import robustsnn`` stays light); the PNG
bytes depend on the figure alone, so the same records give the same files.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from ..io_utils import atomic_write
from ..noise import NONE as NOISE_NONE
from ..records.record import short_key
from .site_pages import _component, _dataset_title, _Entry

KNOBS = {"max_modification_rate": "max. modification rate", "query_budget": "query budget"}


def _save(fig: Any, path: Path) -> None:
    """PNG bytes that depend on the figure only: no software or date metadata."""
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None}))


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


@contextmanager
def _figure() -> Iterator[tuple[Any, Any]]:
    """A figure and its axes at the site's size, closed however the plotting ends."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6.0, 3.6))
    try:
        yield fig, ax
    finally:
        plt.close(fig)


def _finish(fig: Any, ax: Any, xlabel: str, ylabel: str, title: str, path: Path) -> None:
    """Label a percentage plot (y from 0 to 100), add its legend and save it as ``path``."""
    ax.set_ylim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save(fig, path)


def _k_plots(runs: Sequence[Any], out: Path) -> list[dict[str, Any]]:
    """Success rate against draws per query, one PNG per dataset x recipe; the figures."""
    from ..analysis.adaptive import k_curve

    rows = []
    # One protocol at a time: k_curve pools runs by model and recipe only, and a native and
    # a shared-swap run of one recipe are different attacks.
    for protocol in sorted({r.record.protocol for r in runs}):
        rows += [{**row, "protocol": protocol} for row in k_curve([r for r in runs if r.record.protocol == protocol])]
    # k_curve's rows leave out the checkpoint it grouped by; a run's name and cell find it again.
    sha = {(r.dataset, r.model, r.defense, r.name): r.checkpoint for r in runs}
    for r in rows:
        r["model_sha256"] = sha.get((r["dataset"], r["model"], r["defense"], r["run"]), "")

    def series(r: Mapping[str, Any]) -> tuple[str, ...]:
        return (r["dataset"], r["model"], r["defense"], r["recipe"], r["protocol"], r["model_sha256"])

    ks: dict[tuple[str, ...], set[int]] = {}
    for r in rows:
        ks.setdefault(series(r), set()).add(r["k"])
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:
        if len(ks[series(r)]) > 1:  # a curve, not a lone point
            groups.setdefault((r["dataset"], r["recipe"], r["protocol"]), []).append(r)
    figures = []
    for (dataset, recipe, protocol), members in sorted(groups.items()):
        rel = f"plots/k__{_component(dataset)}__{_component(recipe)}__{_component(protocol)}.png"
        with _figure() as (fig, ax):
            lines: dict[str, list[dict[str, Any]]] = {}
            several = len({r["model_sha256"] for r in members}) > 1
            for r in members:
                label = r["model"] + ("" if r["defense"] == "none" else f" + {r['defense']}")
                if several:  # the same model name on two checkpoints
                    label += f" ({short_key(r['model_sha256'], 8)})"
                lines.setdefault(label, []).append(r)
            ticks = sorted({r["k"] for r in members})
            for label, points in sorted(lines.items()):
                points = sorted(points, key=lambda r: r["k"])
                xs = [p["k"] for p in points]
                ax.plot(xs, [100 * p["attack_success_rate"] for p in points], marker="o",
                        label=f"{label}: single draw")
                ax.plot(xs, [100 * p["verdict_attack_success_rate"] for p in points], marker="s",
                        linestyle="--", label=f"{label}: majority verdict")
            ax.set_xscale("log")
            ax.set_xticks(ticks)
            ax.set_xticklabels([str(k) for k in ticks])
            ax.minorticks_off()
            _finish(fig, ax, "draws per query k (fresh = 1, mean-k = k)", "attack success rate (%)",
                    f"{_dataset_title(dataset)}, {recipe} ({protocol}): success rate against k "
                    f"(N = {members[0]['n']})", out / rel)
        figures.append({"dataset": dataset, "path": rel, "rows": members,
                        "caption": f"{_dataset_title(dataset)}, {recipe} ({protocol}): attack success rate "
                                   "against draws per query k, single-draw search (solid) and by the majority "
                                   "verdict (dashed)."})
    return figures


def _knob_plots(entries: Sequence[_Entry], out: Path) -> list[dict[str, Any]]:
    """Accuracy under attack against a threat knob, for runs of one model and recipe that
    differ only in that knob; nothing when the results hold no such runs."""
    figures = []
    for knob, label in KNOBS.items():
        series: dict[tuple[Any, ...], dict[Any, _Entry]] = {}
        for e in entries:
            if e.transfer:
                continue
            threat = dict(e.record.threat)
            value = threat.pop(knob, None)
            rest = json.dumps([threat, e.record.examples, e.record.seed, e.record.query_cache,
                               e.record.verdict_draws], sort_keys=True)
            key = (e.model_key[0], e.row["recipe"], e.row["protocol"], e.model_key, rest)
            series.setdefault(key, {})[json.dumps(value)] = e
        by_plot: dict[tuple[str, str, str], list[tuple[tuple[Any, ...], dict[Any, _Entry]]]] = {}
        for key, points in series.items():
            if len(points) > 1:
                by_plot.setdefault(key[:3], []).append((key, points))
        for (dataset, recipe, protocol), lines in sorted(by_plot.items()):
            values = sorted({json.loads(v) for _, points in lines for v in points},
                            key=lambda v: (v in (None, 0), v or 0))  # 0 / None = no limit: last
            ticks = ["none" if v is None or (v == 0 and knob == "query_budget") else f"{v:g}" for v in values]
            rel = f"plots/{knob}__{_component(dataset)}__{_component(recipe)}__{_component(protocol)}.png"
            with _figure() as (fig, ax):
                for key, points in sorted(lines, key=lambda line: line[0]):
                    _, model, defense, noise, _ = key[3]
                    name = model + ("" if defense == "none" else f" + {defense}") + ("" if noise == NOISE_NONE
                                                                                   else f", {noise}")
                    xs = [i for i, v in enumerate(values) if json.dumps(v) in points]
                    ys = [100 * points[json.dumps(values[i])].row["accuracy_under_attack"] for i in xs]
                    ax.plot(xs, ys, marker="o", label=name)
                ax.set_xticks(range(len(values)))
                ax.set_xticklabels(ticks)
                _finish(fig, ax, label, "accuracy under attack (%)",
                        f"{_dataset_title(dataset)}, {recipe} ({protocol}): accuracy under attack "
                        f"against the {label}", out / rel)
            figures.append({"dataset": dataset, "path": rel,
                            "caption": f"{_dataset_title(dataset)}, {recipe} ({protocol}): accuracy under attack "
                                       f"(single draw) against the {label}; runs that differ only in it."})
    return figures
