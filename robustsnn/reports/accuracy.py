"""``robustsnn report accuracy``: the paper's accuracy tables from the checkpoints on disk.

Table 1 (pre-trained word embeddings, "PRE") and Table 3 (the random-word-embedding
ablation, "RWE") are evaluated on each dataset's test split from the checkpoints under
``$ROBUSTSNN_RUNS`` (or ``--runs``); nothing is trained here. A missing checkpoint leaves
its cell empty and adds a note with the command that builds it - never a made-up number.

Which checkpoint fills which row (per dataset, under the runs root; :mod:`robustsnn.artifacts`
owns the paths and the commands that build them):

=========================  ==================================  =========================================
row                        PRE (Table 1)                       RWE (Table 3)
=========================  ==================================  =========================================
Original TextCNN           ``textcnn/best.pt``                 ``rwe-textcnn/best.pt``
Tailored TextCNN           ``tailored/best.pt``                ``rwe-tailored/best.pt``
Directly-trained SNN       ``snn-direct/best.pt``              (not in the paper's Table 3)
Conv SNN / MN / DN         ``snn/converted-{none,model,data}.pt``  ``rwe-snn/converted-{none,model,data}.pt``
Conv SNN FT                ``snn-finetuned-none/best.pt``      ``rwe-snn-finetuned-none/best.pt``
=========================  ==================================  =========================================

The RWE runs are the same commands with ``--set embedding.source=random`` (and, for a
like-for-like ablation, ``embedding.dim`` equal to the pre-trained vectors' dimension)
and ``--out`` pointing at the ``rwe-`` folders; :func:`build_command` prints them.
An RWE cell is only filled from a checkpoint whose recipe says ``source = "random"``
(and a PRE cell only from one that does not), so a misplaced checkpoint cannot land
in the wrong table.

Accuracy: ANN rows are deterministic (eval mode, no dropout): one evaluation, std 0.
SNN rows: mean and sample std over ``R`` independent fresh Poisson draws of the whole
test split (draw ``r`` seeded ``finetune.seed + r``; ``R`` = the checkpoint's
``finetune.eval_draws`` unless ``--draws``). Each cell is one trained checkpoint
(``n_runs`` = 1); seed-to-seed spread is not included.

``update=True`` (``--update``) evaluates only the datasets asked for and keeps every other
dataset's cells from the existing CSV, each with the provenance (git, date, checkpoint)
it was measured with: a column can be filled in when its last checkpoint finishes,
without re-evaluating (or still having) the checkpoints behind the other columns.

Which network each cell describes: ``model_sha256``, the content digest of the checkpoint it
was measured on (:func:`robustsnn.models.checkpoint.model_sha256`, the digest attack records
and model cards name); cells kept from reports written before content digests carry
``checkpoint_sha256`` instead (the sha256 of the checkpoint *file*: a legacy file digest,
another hash) or, older still, no digest. The Markdown says so per cell ("Networks per cell"),
and marks the cells whose checkpoint is not under the runs root now.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from ..artifacts import DIRECT, FINETUNED, RESULT, Artifact, converted, finetuned
from ..errors import UserError
from ..models.checkpoint import model_digest
from ..paths import portable_path

# The paper's column order.
DATASET_ORDER = ("mr", "sst2", "subj", "sst5", "chnsenti", "waimai")
DATASET_TITLES = {"mr": "MR", "sst2": "SST-2", "subj": "Subj", "sst5": "SST-5",
                  "chnsenti": "ChnSenti", "waimai": "Waimai"}


@dataclass(frozen=True)
class RowSpec:
    """A table row: the artefact whose checkpoint it reports (where it lives under
    ``<runs>/<dataset>/``, the kind it must hold, which embeddings it must use and the
    command that builds it: :mod:`robustsnn.artifacts`)."""

    label: str
    artifact: Artifact

    @property
    def relpath(self) -> str:
        return self.artifact.relpath

    @property
    def kind(self) -> str:  # textcnn | tailored | snn
        return self.artifact.kind

    @property
    def rwe(self) -> bool:
        return self.artifact.rwe


def _table1(rwe: bool) -> list[RowSpec]:
    tag = " (RWE)" if rwe else ""
    rows = [
        RowSpec("Original TextCNN" + tag, Artifact("textcnn", rwe=rwe)),
        RowSpec("Tailored TextCNN" + tag, Artifact("tailored", rwe=rwe)),
    ]
    if not rwe:
        rows.append(RowSpec("Directly-trained SNN", DIRECT))
    rows += [
        RowSpec("Conv SNN" + tag, converted("none", rwe)),
        RowSpec("Conv SNN MN" + tag, converted("model", rwe)),
        RowSpec("Conv SNN DN" + tag, converted("data", rwe)),
        RowSpec("Conv SNN FT" + tag, finetuned("none", rwe)),
    ]
    return rows


TABLE1 = tuple(_table1(False))
# Table 3 ends with the PRE fine-tuned net for comparison.
TABLE3 = tuple(_table1(True)) + (RowSpec("Conv SNN FT (PWE)", FINETUNED),)


def build_command(spec: RowSpec, dataset: str) -> str:
    """The command that builds ``spec``'s checkpoint for ``dataset`` (default folders)."""
    return spec.artifact.command(dataset)


# ------------------------------------------------------------------ evaluating


@dataclass
class Cell:
    """One table cell: a measured accuracy, or why there is none."""

    spec: RowSpec
    dataset: str
    checkpoint: Path
    mean: float | None = None
    std: float | None = None
    per_draw: tuple[float, ...] = ()
    deterministic: bool = True
    n_examples: int = 0
    embedding_source: str | None = None
    embedding_dim: int | None = None
    time_steps: int | None = None
    note: str | None = None  # set when the cell is empty
    model_sha256: str = ""  # the measured network's content digest
    legacy_sha256: str = ""  # kept from a report before content digests: the checkpoint file's sha256


def _embedding_label(recipe: Any) -> str:
    emb = recipe.embedding
    return f"file:{Path(emb.path).name}" if emb.source == "file" else emb.source


def evaluate_cell(spec: RowSpec, dataset: str, runs: Path, draws: int | None = None) -> Cell:
    """Evaluate the checkpoint of ``spec`` for ``dataset`` on the test split (or explain
    why the cell stays empty)."""
    from ..models.loading import load_model
    from ..paths import runs_dir
    from ..train.ann import evaluate
    from ..train.evaluate import evaluate_snn

    path = spec.artifact.path(dataset, runs)
    cell = Cell(spec, dataset, path)
    build = build_command(spec, dataset)
    # Notes are stored in the results: they name the file under the runs root as given,
    # never this machine's absolute path.
    shown = f"$ROBUSTSNN_RUNS/{path.relative_to(runs)}"
    if Path(runs).resolve() != runs_dir():  # the commands write under $ROBUSTSNN_RUNS
        build = f"ROBUSTSNN_RUNS={runs} " + build
        shown = str(Path(runs) / path.relative_to(runs))
    if not path.is_file():
        cell.note = f"missing {shown}; build it with: {build}"
        return cell
    if spec.artifact.is_run and not (path.parent / RESULT).is_file():
        # best.pt of a run that is still going (or was killed) is not its selected model yet.
        cell.note = (f"skipped {shown}: its run has not finished (no result.json beside it); "
                     f"finish it with: {build} --resume")
        return cell
    loaded = load_model(path)
    problem = None
    if loaded.kind != spec.kind:
        problem = f"holds a '{loaded.kind}' model, not '{spec.kind}'"
    elif loaded.recipe.data.dataset != dataset:
        problem = f"was trained on '{loaded.recipe.data.dataset}'"
    elif (loaded.recipe.embedding.source == "random") != spec.rwe:
        problem = (f"uses embedding source '{loaded.recipe.embedding.source}', but this row needs "
                   + ("random embeddings" if spec.rwe else "pre-trained embeddings"))
    if problem:
        cell.note = f"skipped {shown}: it {problem}; build the right one with: {build}"
        return cell
    ids, labels = loaded.encoded("test")
    cell.n_examples = len(ids)
    cell.embedding_source = _embedding_label(loaded.recipe)
    cell.embedding_dim = int(loaded.model.embedding.embedding_dim)
    cell.model_sha256 = model_digest(path)
    if loaded.kind == "snn":
        r = loaded.recipe.finetune.eval_draws if draws is None else draws
        acc = evaluate_snn(loaded.model, ids, labels, r, seed=loaded.recipe.finetune.seed)
        cell.mean, cell.std, cell.per_draw = acc.mean, acc.std, acc.per_draw
        cell.deterministic, cell.time_steps = False, loaded.model.time_steps
    else:
        cell.mean, cell.std = evaluate(loaded.model, ids, labels), 0.0
        cell.per_draw = (cell.mean,)
    return cell


def _opt(text: str, kind: type) -> Any:
    return kind(text) if text not in ("", "nan") else None


def cell_from_record(record: dict[str, str], specs: Sequence[RowSpec]) -> Cell:
    """A cell as an earlier run of this report stored it (one CSV row, as text)."""
    by_label = {s.label: s for s in specs}
    spec = by_label.get(record["row"])
    if spec is None:
        raise UserError(f"the existing table has a row '{record['row']}' that this report does not make; "
                        "rebuild the whole table without --update")
    ok = record["status"] == "ok"
    return Cell(spec, record["dataset"], Path(record["checkpoint"]),
                mean=_opt(record["mean"], float) if ok else None, std=_opt(record["std"], float) if ok else None,
                per_draw=tuple(json.loads(record["per_draw"])) if ok else (),
                deterministic=record["deterministic"] == "True",
                n_examples=_opt(record["n_examples"], int) or 0,
                embedding_source=record["embedding_source"] or None,
                embedding_dim=_opt(record["embedding_dim"], lambda v: int(float(v))),
                time_steps=_opt(record["time_steps"], lambda v: int(float(v))),
                note=record["note"] or None, model_sha256=record.get("model_sha256") or "",
                legacy_sha256=record.get("checkpoint_sha256") or "")


def read_kept(path: Path, specs: Sequence[RowSpec]) -> tuple[list[dict[str, str]], list[Cell]]:
    """The records (verbatim) and cells of the table at ``path`` (none if there is none)."""
    if not path.is_file():
        return [], []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            records = list(csv.DictReader(fh))
    except (UnicodeDecodeError, csv.Error, KeyError) as exc:
        raise UserError(f"{path}: not a table this report wrote ({exc}); rebuild it without --update") from None
    # Tables written before the digest columns keep them empty. Rows written before content
    # digests keep model_sha256 empty and their checkpoint_sha256 (the file's sha256, another
    # hash: a legacy file digest, which the attack records of that time name too).
    missing = set(COLUMNS) - set(DIGEST_COLUMNS) - set(records[0]) if records else set()
    if missing:
        raise UserError(f"{path}: lacks column(s) {', '.join(sorted(missing))}; rebuild it without --update")
    records = [{c: r.get(c) or "" for c in COLUMNS} for r in records]
    return records, [cell_from_record(r, specs) for r in records]


# ------------------------------------------------------------------ writing


COLUMNS = [
    "table", "row", "dataset", "mean", "std", "deterministic", "n_draws", "n_runs", "per_draw",
    "n_examples", "split", "time_steps", "embedding_source", "embedding_dim", "checkpoint", "model_sha256",
    "checkpoint_sha256", "status",
    "note", "git", "date", "robustsnn", "versions", "machine", "command",
]
# model_sha256: the content digest of a measured cell's checkpoint; checkpoint_sha256: only in
# cells kept from reports written before content digests (the checkpoint file's sha256).
DIGEST_COLUMNS = ("model_sha256", "checkpoint_sha256")


def cell_status(cell: Cell) -> str:
    """ok (measured) | missing (no checkpoint) | skipped (a checkpoint that does not belong)."""
    if cell.mean is not None:
        return "ok"
    return "missing" if cell.note and cell.note.startswith("missing") else "skipped"


def cell_record(cell: Cell, table: str, prov: dict[str, Any]) -> dict[str, Any]:
    ok = cell.mean is not None
    return {
        "table": table, "row": cell.spec.label, "dataset": cell.dataset,
        "mean": cell.mean if ok else math.nan, "std": cell.std if ok else math.nan,
        "deterministic": cell.deterministic if ok else None,
        "n_draws": len(cell.per_draw) if ok else 0, "n_runs": 1 if ok else 0,
        "per_draw": json.dumps(list(cell.per_draw)) if ok else "", "n_examples": cell.n_examples,
        "split": "test", "time_steps": cell.time_steps, "embedding_source": cell.embedding_source,
        "embedding_dim": cell.embedding_dim, "checkpoint": portable_path(cell.checkpoint),
        "model_sha256": cell.model_sha256, "checkpoint_sha256": cell.legacy_sha256,
        "status": cell_status(cell),
        "note": cell.note or "", "git": prov["git"], "date": prov["date"], "robustsnn": prov["robustsnn"],
        "versions": json.dumps(prov["versions"]), "machine": json.dumps(prov["machine"]),
        "command": prov["command"],
    }


def format_cell(cell: Cell) -> str:
    """Percent with two decimals: ``mean ± std`` for SNNs, ``mean (det.)`` for ANNs."""
    if cell.mean is None:
        return ""
    if cell.deterministic:
        return f"{100 * cell.mean:.2f} (det.)"
    return f"{100 * cell.mean:.2f} ± {100 * (cell.std or 0.0):.2f}"


def network_cell(cell: Cell, gone: bool = False) -> str:
    """Which network a cell describes, as "Networks per cell" shows it: the first 12 hex digits
    of its content digest; ``file-`` and 12 of a legacy file digest; ``not recorded``; and
    `` (gone)`` when its checkpoint is not under the runs root now."""
    from ..records.networks import DIGITS, NOT_RECORDED

    if cell.mean is None:
        return ""
    shown = (cell.model_sha256[:DIGITS] if cell.model_sha256
             else f"file-{cell.legacy_sha256[:DIGITS]}" if cell.legacy_sha256 else NOT_RECORDED)
    return shown + (" (gone)" if gone else "")


def network_pairs(records: Sequence[dict[str, str]]) -> list[tuple[str, str, str]]:
    """``(dataset, row, key)`` of each measured cell of a table this report wrote (its CSV rows):
    the networks it describes, keyed as :mod:`robustsnn.records.networks` says (content digest,
    else ``file-`` and the legacy file digest, else "")."""
    from ..records.networks import key_of

    return [(r["dataset"], r["row"], key_of(r.get("model_sha256"), r.get("checkpoint_sha256")))
            for r in records if r.get("status") == "ok"]


def _networks(cells: Sequence[Cell], gone: set[tuple[str, str]]) -> str:
    """The line under the title: how many measured cells name their network, and how."""
    measured = [c for c in cells if c.mean is not None]
    content = sum(bool(c.model_sha256) for c in measured)
    legacy = sum(bool(not c.model_sha256 and c.legacy_sha256) for c in measured)
    none = len(measured) - content - legacy
    lost = sum((c.spec.label, c.dataset) in gone for c in measured)
    return (f"Networks: per cell under \"Networks per cell\" below: {content} cell{'s' * (content != 1)} by "
            f"content digest, {legacy} by legacy file digest, {none} not recorded; the checkpoints of {lost} "
            f"{'are' if lost != 1 else 'is'} no longer available (gone).")


def render_markdown(cells: Sequence[Cell], datasets: Sequence[str], title: str,
                    prov: dict[str, Any], csv_name: str, kept: Sequence[dict[str, str]] = (),
                    evaluated: Sequence[str] | None = None, gone: set[tuple[str, str]] | None = None,
                    fresh: Sequence[str] | None = None) -> str:
    """``gone``: the (row, dataset) cells whose checkpoint is not under the runs root now;
    ``fresh``: the datasets with a cell measured by this run (default: ``evaluated``)."""
    from tabulate import tabulate

    gone = set(gone or ())
    rows: dict[str, dict[str, Cell]] = {}
    for c in cells:
        rows.setdefault(c.spec.label, {})[c.dataset] = c
    embeddings = []
    for d in datasets:
        seen = sorted({f"{c.embedding_source}, {c.embedding_dim}d" for c in cells
                       if c.dataset == d and c.mean is not None})
        embeddings.append("; ".join(seen))
    body = [["Embeddings (source, dim)", *embeddings]]
    body += [[label, *(format_cell(by_ds[d]) if d in by_ds else "" for d in datasets)]
             for label, by_ds in rows.items()]
    headers = ["Method", *(DATASET_TITLES.get(d, d) for d in datasets)]
    draws = sorted({len(c.per_draw) for c in cells if c.mean is not None and not c.deterministic})
    legend = (
        "Test accuracy in %. ANN rows (TextCNN, tailored TextCNN) are deterministic: one evaluation "
        "in eval mode, marked (det.). SNN rows: mean ± sample std over R independent Poisson draws "
        f"of the test split (R = {', '.join(map(str, draws)) or '-'}). Each cell is one trained "
        "checkpoint (seed-to-seed spread is not included). Empty cell: no checkpoint (see notes). "
        f"Unrounded values, checkpoints and per-draw accuracies in {csv_name}.")
    notes = [f"- {c.spec.label}, {c.dataset}: {c.note}" for c in cells if c.note]
    text = [f"# {title}", "", _networks(cells, gone), "", legend, "",
            tabulate(body, headers=headers, tablefmt="github"), ""]
    if notes:
        text += ["Notes:", "", *notes, ""]
    networks = [[label, *(network_cell(by_ds[d], (label, d) in gone) if d in by_ds else "" for d in datasets)]
                for label, by_ds in rows.items()]
    text += ["## Networks per cell", "",
             "The network each cell was measured on: the first 12 hex digits of its checkpoint's content "
             f"digest (`model_sha256` in {csv_name}; the digest that attack records and model cards name); "
             "`file-` and 12 hex digits: only the sha256 of the checkpoint *file* was recorded "
             "(`checkpoint_sha256`, a legacy file digest: another hash, which attack records of that time "
             "name too); `not recorded`: measured before this table recorded a digest, so which network the "
             "cell describes cannot be told. (gone): the checkpoint is not under the runs root now; the "
             "cell is kept from the report that measured it (`--update`).", "",
             tabulate(networks, headers=headers, tablefmt="github"), ""]
    kept_datasets = {r["dataset"] for r in kept}
    evaluated = set(evaluated if evaluated is not None else [d for d in datasets if d not in kept_datasets])
    fresh_titles = [DATASET_TITLES.get(d, d) for d in datasets if d in set(fresh if fresh is not None else evaluated)]
    generated = (f"Generated by `robustsnn report accuracy` at git {prov['git']} on {prov['date']} "
                 f"(robustsnn {prov['robustsnn']})")
    if not kept:
        generated += "."
    elif fresh_titles:
        generated += f" for {', '.join(fresh_titles)}."
    else:
        generated += ": no cell measured anew (no checkpoint found); every cell kept as below."
    text += [generated]
    runs: dict[tuple[str, str], list[str]] = {}
    for r in kept:
        names = runs.setdefault((r["git"], r["date"]), [])
        name = DATASET_TITLES.get(r["dataset"], r["dataset"])
        if r["dataset"] in evaluated:  # re-evaluated, but this cell's checkpoint is gone
            name += " (cells with no checkpoint now)"
        if name not in names:
            names.append(name)
    for (git, date), names in runs.items():
        text += [f"{', '.join(names)}: kept from the report at git {git} on {date} (`--update`; "
                 f"per-cell provenance in {csv_name})."]
    text += [""]
    return "\n".join(text)


def _dataset_rank(dataset: str) -> tuple[int, str]:
    return (DATASET_ORDER.index(dataset) if dataset in DATASET_ORDER else len(DATASET_ORDER), dataset)


def accuracy_report(datasets: Sequence[str] | None = None, runs: Path | None = None,
                    out_dir: Path | None = None, draws: int | None = None, rwe: bool = False,
                    update: bool = False, log: Callable[[str], None] = print) -> list[Cell]:
    """Evaluate every row x dataset and write ``accuracy[_rwe].csv`` and ``.md``; with
    ``update``, only ``datasets``, keeping the other datasets' cells of the existing CSV."""
    import pandas as pd

    from ..data.registry import get_dataset_spec
    from ..io_utils import atomic_write_text
    from ..paths import PAPER_DIR, results_dir, runs_dir
    from ..provenance import provenance

    if draws is not None and draws < 1:
        raise UserError("--draws must be at least 1")
    datasets = list(datasets or DATASET_ORDER)
    for d in datasets:
        get_dataset_spec(d)
    runs = Path(runs) if runs else runs_dir()
    if not runs.is_dir():
        raise UserError(f"runs folder not found: {runs}")
    out_dir = Path(out_dir) if out_dir else results_dir() / PAPER_DIR
    specs, table, title = ((TABLE3, "table3-rwe", "Test accuracy, random word embeddings (Table 3)")
                           if rwe else (TABLE1, "table1", "Test accuracy (Table 1)"))
    stem = "accuracy_rwe" if rwe else "accuracy"
    table_now = list(zip(*read_kept(out_dir / f"{stem}.csv", specs))) if update else []
    kept = [r for r, _ in table_now if r["dataset"] not in datasets]
    kept_cells = [c for r, c in table_now if r["dataset"] not in datasets]
    # The asked datasets' cells as the table has them: a cell whose checkpoint is gone now
    # (a new machine, a deleted runs/) keeps its measured value instead of turning empty.
    prior = {(r["row"], r["dataset"]): (r, c) for r, c in table_now if r["dataset"] in datasets}
    if kept:
        log(f"keeping {len(kept)} cells of {out_dir / (stem + '.csv')} for "
            + ", ".join(sorted({r['dataset'] for r in kept}, key=_dataset_rank)))
    cells = []
    for spec in specs:
        for d in datasets:
            cell = evaluate_cell(spec, d, runs, draws)
            record, before = prior.get((spec.label, d), (None, None))
            if cell_status(cell) == "missing" and before is not None and before.mean is not None:
                log(f"{spec.label:<24} {d:<9} {format_cell(before)} (kept: no checkpoint now)")
                kept.append(record)
                kept_cells.append(before)
                continue
            log(f"{spec.label:<24} {d:<9} " + (format_cell(cell) if cell.mean is not None else "(empty)"))
            cells.append(cell)
    prov = provenance()
    # New cells go through pandas' number format, then every row is written as text, so
    # kept rows come out verbatim.
    fresh = pd.DataFrame([cell_record(c, table, prov) for c in cells], columns=COLUMNS)
    records = [*kept, *csv.DictReader(io.StringIO(fresh.to_csv(index=False, float_format="%.17g")))]
    order = {s.label: i for i, s in enumerate(specs)}
    pairs = sorted(zip(records, [*kept_cells, *cells]),
                   key=lambda rc: (order[rc[1].spec.label], _dataset_rank(rc[1].dataset)))
    records, every = [r for r, _ in pairs], [c for _, c in pairs]
    shown = sorted({c.dataset for c in every}, key=_dataset_rank)
    # A kept cell's checkpoint (as the table names it, under the runs root) may be gone now.
    gone = {(r["row"], r["dataset"]) for r in kept if not (runs / r["checkpoint"]).is_file()}
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    atomic_write_text(out_dir / f"{stem}.csv", text.getvalue())
    atomic_write_text(out_dir / f"{stem}.md",
                      render_markdown(every, shown, title, prov, f"{stem}.csv", kept, datasets, gone,
                                      sorted({c.dataset for c in cells}, key=_dataset_rank)))
    log(f"wrote {out_dir / (stem + '.csv')} and {out_dir / (stem + '.md')}")
    return cells
