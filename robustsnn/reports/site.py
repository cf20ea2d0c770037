"""``robustsnn report site``: a static, offline leaderboard site built from run records.

Everything on the site comes from files already in the results: the model cards of the
standard evaluation (``<root>/benchmark/cards/standard-v1/*.json``, written by ``robustsnn
benchmark``), the run records (``*.json`` beside each attack log,
:func:`~robustsnn.records.find.find_records`) and their per-example logs, plus, when present
in the results root, ``paper/accuracy.csv`` (Table 1), ``paper/energy.csv`` (Table 5) and
``sweeps/*.png``. Nothing is evaluated or attacked here. Pages:

* ``index.html`` - the leaderboard: per dataset, the full ``standard-v1`` cards ranked by
  worst-case robust accuracy, deterministic and randomized models in separate tables
  (:mod:`.site_standard`, ranked by :func:`robustsnn.evaluation.leaderboard.rows`); without
  any card, one line saying so and the experiments below it;
* ``cards/<dataset>__<name>__<sha12>.html`` - one page per standard card (every field, the
  attacks with intervals and links to their run pages, the flags spelled out), beside a copy
  of the card (``.json``);
* ``experiments.html`` - **Experiments (not ranked)**: per dataset, every run record of the
  experiments pooled per model, defense and noise mode (different attacks on different
  examples: not a ranking) and the plots;
* ``tables.html`` - Table 2 (``robustsnn table``'s rows), the k-curve, Table 1, the
  energy table and the figures;
* ``runs/<campaign>/<log stem>.html`` - one page per run record: threat model, attack,
  model, provenance and every logged example with the changed words marked;
* ``models/<dataset>__<model>__<defense>__<noise>.json`` - the experiments' pooled model
  cards (RobustBench's model_info in spirit);
* ``plots/*.png`` - success rate against draws per query k, and accuracy under attack
  against a threat knob when the results hold runs that differ only in that knob.

Which run records: those under the given folders (the experiments; ``robustsnn report site``
gives ``<root>/attacks``) and, always, those of the standard evaluation under
``<root>/benchmark/`` when it exists, so that every card page can link its runs. The
standard runs get run pages and Table 2 rows but stay out of the pooled experiment tables
and plots (wherever they were found): pooled with experiments on other examples they would
shrink the pooled examples to the few both drew, and their numbers are on their cards.

The site is plain HTML, one stylesheet and one small script (:mod:`.site_assets`), with
relative links only, so it works opened from disk. The output is deterministic: the same
records give the same bytes (no generation date; the records carry their own dates).

This module gathers the records, the checkpoint facts and the model cards and writes the
files; the pages are rendered by :mod:`.site_pages`, the plots drawn by :mod:`.site_plots`
and screenshots taken by :mod:`.site_browser` (:func:`screenshot` and its helpers are
re-exported here, as is :func:`highlight`).
"""

from __future__ import annotations

import csv
import json
import math
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import UserError
from ..io_utils import atomic_write, atomic_write_text
from ..noise import NONE as NOISE_NONE
from ..noise import simulations_per_query
from ..paths import ACCURACY_CSV, BENCHMARK_DIR, ENERGY_CSV, SWEEPS_DIR
from ..records.record import short_key
from .site_browser import browser_problem, find_browser, screenshot
from .site_pages import (
    CSS_NAME,
    JS_NAME,
    _component,
    _Entry,
    _experiments_page,
    _number,
    _run_page,
    _tables,
    highlight,
)
from .site_plots import _k_plots, _knob_plots
from .site_standard import card_page, gather_cards, index_page, link_runs

__all__ = ["build_site", "highlight", "find_browser", "browser_problem", "screenshot"]

MANIFEST_NAME = "site-files.txt"


# ------------------------------------------------------------------ small helpers


def _plain(obj: Any) -> Any:
    """``obj`` with NaN turned into None: JSON has no NaN."""
    if isinstance(obj, float) and math.isnan(obj):
        return None
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


# ------------------------------------------------------------------ gathering the runs


def _has_records(folder: Path) -> bool:
    """Whether ``folder`` holds any run record (the standard evaluation's folder may hold
    only cards, or nothing yet)."""
    from ..records.record import is_run_record

    for path in sorted(folder.rglob("*.json")) if folder.is_dir() else []:
        try:
            if is_run_record(json.loads(path.read_text(encoding="utf-8"))):
                return True
        except (json.JSONDecodeError, UnicodeDecodeError):
            continue  # find_records names it when it matters
    return False


def _record_key(record: Any) -> tuple[Any, ...]:
    cell = record.cell
    return (record.campaign_name, cell.dataset, cell.model, cell.defense, cell.recipe, cell.noise,
            record.protocol, record.get("date"), record.get("git"), record.model.get("checkpoint"))


def _row_key(row: Mapping[str, Any]) -> tuple[Any, ...]:
    return tuple(row[k] for k in ("campaign", "dataset", "model", "defense", "recipe", "noise", "protocol",
                                  "date", "git", "checkpoint"))


def _gather(results: Path | Sequence[Path]) -> list[_Entry]:
    from ..analysis.table import collect
    from ..analysis.worst_case import run_from_record
    from ..records.find import find_records

    found = find_records(results)
    # collect() sorts its rows stably from find_records' path order, so rows with equal
    # keys come in the records' order: pair them off in turn.
    rows: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in collect(results):
        rows.setdefault(_row_key(row), []).append(row)
    entries, pages = [], set()
    for record in found:
        campaign = _component(record.campaign_name)
        page = f"runs/{campaign}/{_component(Path(record.log).stem)}.html"
        stem, n = page[: -len(".html")], 2
        while page in pages:  # the same campaign and cell in two results folders
            page, n = f"{stem}-{n}.html", n + 1
        pages.add(page)
        entries.append(_Entry(record, rows[_record_key(record)].pop(0), run_from_record(record), page))
    return entries


# ------------------------------------------------------------------ checkpoint facts (T, energy)


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise UserError(f"{path} is not a readable CSV table ({exc})") from None


@dataclass(frozen=True)
class _Facts:
    """What the committed tables say about one checkpoint path."""

    time_steps: int | None = None
    time_steps_source: str = ""
    energy_pj: float | None = None
    energy_source: str = ""


def _checkpoint_facts(accuracy: list[dict[str, str]], energy: list[dict[str, str]],
                      path: str, sha: str) -> _Facts:
    """T and energy per inference of the checkpoint at ``path`` (as records store it):
    T from Table 1 (whose rows carry the checkpoint's sha256: a row of another file with
    the same path is not used), else from the energy table; energy from the energy table's
    ``ann_checkpoint`` / ``snn_checkpoint`` columns (first match in file order)."""
    steps, source = None, ""
    for row in accuracy:
        if row.get("checkpoint") != path or _number(row.get("time_steps")) is None:
            continue
        if sha and row.get("model_sha256") and row["model_sha256"] != sha:
            continue
        steps, source = int(_number(row["time_steps"]) or 0), ACCURACY_CSV
        break
    joules, origin = None, ""
    for row in energy:
        for column, value in (("ann_checkpoint", "ann_energy_pj"), ("snn_checkpoint", "snn_energy_pj")):
            if row.get(column) == path and joules is None:
                joules, origin = _number(row.get(value)), f"{ENERGY_CSV} ({column})"
                if column == "snn_checkpoint" and steps is None and _number(row.get("time_steps")):
                    steps, source = int(_number(row["time_steps"]) or 0), ENERGY_CSV
    return _Facts(steps, source, joules, origin if joules is not None else "")


# ------------------------------------------------------------------ model cards


def _attack_entry(entry: _Entry) -> dict[str, Any]:
    row, threat = entry.row, entry.record.threat
    return {
        "run": entry.run.name, "campaign": row["campaign"], "recipe": row["recipe"], "protocol": row["protocol"],
        "transfer": entry.transfer, "n": row["n"], "complete": row["complete"],
        "clean_accuracy": row["clean_accuracy"], "accuracy_under_attack": row["accuracy_under_attack"],
        "attack_success_rate": row["attack_success_rate"], "verdict_draws": row["verdict_draws"],
        "verdict_clean_accuracy": row["verdict_clean_accuracy"],
        "verdict_accuracy_under_attack": row["verdict_accuracy_under_attack"],
        "verdict_attack_success_rate": row["verdict_attack_success_rate"],
        "threat": {k: threat.get(k) for k in ("max_modification_rate", "candidates", "similarity", "query_budget")},
        "page": entry.page,
    }


def _cards(entries: list[_Entry], accuracy: list[dict[str, str]], energy: list[dict[str, str]]
           ) -> dict[str, dict[str, Any]]:
    """One card per model x defense x noise mode x checkpoint: ``{site path: card}``."""
    from ..analysis.worst_case import worst_case

    groups: dict[tuple[str, str, str, str, str], list[_Entry]] = {}
    for e in entries:
        cell = e.record.cell
        e.model_key = (cell.dataset, cell.model, cell.defense, cell.noise, e.run.checkpoint)
        groups.setdefault(e.model_key, []).append(e)
    worst = {(w.dataset, w.model, w.defense, w.form, w.checkpoint): w for w in worst_case([e.run for e in entries])}
    shas: dict[tuple[str, ...], set[str]] = {}
    for key in groups:
        shas.setdefault(key[:4], set()).add(key[4])
    cards = {}
    for key in sorted(groups):
        dataset, model, defense, noise, sha = key
        members = sorted(groups[key], key=lambda e: (e.row["campaign"], e.row["recipe"], e.row["protocol"], e.page))
        name = "__".join(_component(p) for p in (dataset, model, defense, noise))
        if len(shas[key[:4]]) > 1:  # the same cell against several checkpoints: one card each
            name += f"__{short_key(sha)}"
        first = members[0]
        paths = sorted({e.record.checkpoint for e in members})
        w = worst[first.run.target]
        kind = "ann" if noise == NOISE_NONE else "snn"
        facts = _checkpoint_facts(accuracy, energy, paths[0], sha)
        steps = first.record.model.get("time_steps") or facts.time_steps
        draws = simulations_per_query(noise)  # k for mean-k and crn-k, else 1
        copies = int((first.record.model.get("defense") or {}).get("copies") or 1)  # SAFER votes over copies
        passes = draws * copies if kind == "ann" else (draws * copies * int(steps) if steps else None)
        card = {
            "name": model + ("" if defense == "none" else f" + {defense}") + ("" if kind == "ann" else f", {noise}"),
            "kind": kind, "dataset": dataset, "model": model, "defense": defense, "noise": noise,
            "stochastic": first.run.stochastic, "deployed_form": first.run.form,
            "checkpoint": paths[0], "model_sha256": sha,
            "clean_accuracy": w.clean_accuracy, "worst_case_robust_accuracy": w.robust_accuracy,
            "worst_case_n": w.n, "worst_case_attacks": w.runs,
            "strongest_single_attack": w.best_single_attack,
            "strongest_single_robust_accuracy": w.best_single_robust_accuracy,
            "worst_case_scope": ("every attack in the results on the deployed model (dataset, model, defense, "
                                 f"form '{w.form}', checkpoint), on the {w.n} examples all of them attacked"
                                 + ("; every Poisson noise mode (fresh, frozen, mean-k) attacks the same deployed "
                                    "model, judged by the majority over the verdict's fresh draws"
                                    if w.form == "poisson" else "")),
            "draws_per_query": None if kind == "ann" else draws, "copies_per_query": copies,
            "time_steps": None if kind == "ann" else steps,
            "time_steps_source": "" if kind == "ann" else ("record" if first.record.model.get("time_steps")
                                                           else facts.time_steps_source),
            "forward_passes_per_query": passes,
            "energy_pj_per_inference": facts.energy_pj,
            # energy.csv measures an SNN's firing rates under Poisson input, not current injection.
            "energy_source": facts.energy_source + (" (rates measured with Poisson input)"
                                                    if facts.energy_source and noise == "direct" else ""),
            "attacks": [_attack_entry(e) for e in members],
            "run_pages": [e.page for e in members],
            "paths": "checkpoint as the records store it; pages relative to the site root",
        }
        if len(paths) > 1:
            card["other_checkpoint_paths"] = paths[1:]
        card_path = f"models/{name}.json"
        for e in members:
            e.card = card_path
        cards[card_path] = _plain(card)
    return cards


# ------------------------------------------------------------------ building


def _write(out: Path, rel: str, text: str, written: list[str]) -> None:
    atomic_write_text(out / rel, text)
    written.append(rel)


def _remove_stale(out: Path, written: Sequence[str]) -> None:
    """Delete files a previous build listed in its manifest that this build did not write
    (a run record removed since); nothing else in ``out`` is touched."""
    manifest = out / MANIFEST_NAME
    if not manifest.is_file():
        return
    root = out.resolve()
    for rel in set(manifest.read_text(encoding="utf-8").splitlines()) - set(written):
        path = (out / rel).resolve()
        if rel and root in path.parents and path.is_file():
            path.unlink()
            parent = path.parent
            while parent != root and not any(parent.iterdir()):
                parent.rmdir()
                parent = parent.parent


def build_site(results: Path | Sequence[Path], out: Path, root: Path | None = None,
               evaluation: str = "standard-v1") -> dict[str, Any]:
    """Build the site from the run records under ``results`` (one folder or several: the
    experiments) and the results root ``root`` into ``out``. ``root`` (default
    ``$ROBUSTSNN_RESULTS``) holds the cards of ``evaluation`` and their runs
    (``benchmark/``, always scanned when present), ``paper/accuracy.csv``, ``paper/energy.csv``
    and ``sweeps/*.png``; missing ones are left out. Returns a summary: ``pages`` (HTML pages),
    ``files``, ``runs``, ``models`` (pooled experiment cards), ``cards`` and ``ranked``
    (standard cards, and those ranked), ``plots``."""
    from ..paths import results_dir
    from .site_assets import CSS, JS

    folders = [Path(results)] if isinstance(results, (str, Path)) else [Path(r) for r in results]
    if not folders:
        raise UserError("no results folder given")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"{out} is a file; --out needs a folder")
    root = Path(root) if root is not None else results_dir()
    benchmark = root / BENCHMARK_DIR
    entries = _gather(folders + ([benchmark] if _has_records(benchmark) else []))
    for e in entries:  # found under the benchmark folder, however it was reached
        e.standard = benchmark.resolve() in e.record.path.resolve().parents
    experiments = [e for e in entries if not e.standard]
    standard = gather_cards(root, evaluation)  # an unreadable card: UserError
    link_runs(standard, entries, root)
    accuracy, energy = _read_csv(root / ACCURACY_CSV), _read_csv(root / ENERGY_CSV)
    from ..records.log import read_log

    written: list[str] = []
    _write(out, CSS_NAME, CSS, written)
    _write(out, JS_NAME, JS, written)
    cards = _cards(experiments, accuracy, energy)
    k_figures = _k_plots([e.run for e in experiments], out)
    knob_figures = _knob_plots(experiments, out)
    written += [f["path"] for f in [*k_figures, *knob_figures]]
    sweeps = []
    for png in sorted((root / SWEEPS_DIR).glob("*.png")) if (root / SWEEPS_DIR).is_dir() else []:
        rel = f"sweeps/{_component(png.name)}"
        atomic_write(out / rel, lambda tmp, src=png: shutil.copyfile(src, tmp))
        sweeps.append(rel)
    written += sweeps
    pages_by_log = {e.record.log_path.resolve(): e.page for e in entries}
    records = len(entries)
    for e in entries:
        rows = read_log(e.record.log_path, warn=lambda _: None)  # collect() said so already
        _write(out, e.page, _run_page(e, rows, pages_by_log, records), written)
    for rel, card in cards.items():
        _write(out, rel, json.dumps(card, indent=2, sort_keys=True, ensure_ascii=False) + "\n", written)
    # The experiments are rendered from the pooled cards as written, so the two cannot disagree.
    loaded = {rel: json.loads((out / rel).read_text(encoding="utf-8")) for rel in cards}
    for card in standard:
        atomic_write(out / card.copy, lambda tmp, src=card.source: shutil.copyfile(src, tmp))
        written.append(card.copy)
        _write(out, card.page, card_page(card, evaluation, records), written)
    _write(out, "index.html", index_page(standard, evaluation, loaded, k_figures, records), written)
    _write(out, "experiments.html", _experiments_page(loaded, k_figures, records), written)
    _write(out, "tables.html", _tables(entries, accuracy, energy, k_figures, knob_figures, sweeps, records), written)
    _remove_stale(out, written)
    atomic_write_text(out / MANIFEST_NAME, "\n".join(sorted(written)) + "\n")
    return {"out": str(out), "pages": sum(rel.endswith(".html") for rel in written), "files": len(written) + 1,
            "runs": records, "models": len(cards), "cards": len(standard),
            "ranked": sum(c.row is not None for c in standard), "plots": len(k_figures) + len(knob_figures)}
