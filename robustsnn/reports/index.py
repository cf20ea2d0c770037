"""``robustsnn report index``: ``results/README.md``, the index of every derived table.

The results folder keeps the provenance (``attacks/<campaign>/``: every attack run's record
and per-example log; ``benchmark/``: the standard evaluation's runs and model cards) and
the tables derived from it, grouped by what produced them (:data:`GROUPS`: ``paper/``,
``first/``, ``adaptive/``, ...). The index lists per group each table: one line on what it
shows, the campaign or evaluation it comes from, the command that regenerates it, and the
networks it describes (``dataset/model -> digest``, :mod:`robustsnn.records.networks`),
read from the run records of its campaigns, or from the table's own digest columns for the
tables measured from checkpoints (Table 1, Table 5, the sweeps), or from the model cards.

The index is deterministic: it holds no date and no path of this machine, so regenerating
it from the same results gives the same bytes (``--check`` says whether the committed one
is up to date; a test does the same). A table added to the results is added to
:data:`GROUPS` with its command; a file under a group's folder that no entry lists is
named by ``--check`` and the test.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ..errors import UserError
from ..paths import ATTACKS_DIR, BENCHMARK_DIR

INDEX_NAME = "README.md"


@dataclass(frozen=True)
class Entry:
    """One derived table (or folder) of the results.

    ``files``: every file of it, relative to the results root, the first one the heading;
    ``campaigns``: the folders under ``attacks/`` whose run records it is computed from
    (glob patterns allowed), when it comes from attack runs; ``source``: where its numbers
    come from otherwise; ``networks``: how its networks are read: ``records`` (the
    campaigns' run records), ``accuracy``, ``energy``, ``sweep`` (the table's own rows),
    ``leaderboard`` (its rows), ``cards`` (the standard evaluation's model cards), or ``""``
    (none: a picture)."""

    files: tuple[str, ...]
    what: str
    command: str
    campaigns: tuple[str, ...] = ()
    source: str = ""
    networks: str = "records"

    @property
    def name(self) -> str:
        return self.files[0]


@dataclass(frozen=True)
class Group:
    folder: str  # "" for the entries at the top of the results folder
    title: str
    about: str
    entries: tuple[Entry, ...]


def _adaptive_files(folder: str, stem: str) -> tuple[str, ...]:
    """The files ``robustsnn table --worst-case --out <folder>/<stem>.csv`` writes."""
    return (f"{folder}/{stem}.md", f"{folder}/{stem}.csv",
            *(f"{folder}/{stem}_{part}.csv" for part in ("k", "transfer", "matched", "paired")))


def _table_files(path: str) -> tuple[str, ...]:
    """The files of ``robustsnn table --out <path>.csv`` (or a report's table): ``.md`` and ``.csv``."""
    return (f"{path}.md", f"{path}.csv")


RECOUNT = ("unattackable shares recounted from each cell's transformation for the logs from "
           "before the counts (`--recount`)")

GROUPS: tuple[Group, ...] = (
    Group("", "Leaderboard and the standard evaluation",
          "The ranked results: full `standard-v1` evaluations (500 test sentences per dataset, an "
          "ensemble of attacks, worst case with intervals and flags), one model card each.",
          (Entry(("leaderboard.md", "leaderboard.csv"),
                 "The standard-v1 leaderboard: per dataset, the full model cards ranked by worst-case "
                 "robust accuracy (95% Wilson interval), deterministic and randomized models apart, each "
                 "row paired with the next (exact McNemar).",
                 "robustsnn leaderboard", source="the model cards in `benchmark/cards/standard-v1/`",
                 networks="leaderboard"),
           Entry(("benchmark/",),
                 "The standard evaluation's provenance: one model card per evaluated model "
                 "(`benchmark/cards/standard-v1/<dataset>__<model>__<digest12>.json`: worst case, "
                 "attacks, flags) and the run records and compressed logs of its attacks "
                 "(`benchmark/standard-v1-<dataset>[-wordnet]/`).",
                 "robustsnn benchmark MODEL --dataset DATASET [--noise direct]",
                 source="`robustsnn benchmark` (the ensemble of `standard-v1`)", networks="cards"),
           Entry(("seeds.md", "seeds.csv"),
                 "Training seeds: each model's worst case per training seed (seed 0 is the registered "
                 "checkpoint; seeds 1 and 2 from `robustsnn build --seed N`), mean, sd and range, and "
                 "whether the SNN's paired differences to its parent and to the TextCNN exceed the seed "
                 "spread (the SNN in its `direct` form).",
                 "robustsnn report seeds", source="the model cards in `benchmark/cards/standard-v1/`",
                 networks="seeds"),
           Entry(("site.png",),
                 "A screenshot of the leaderboard site's index page (the site itself, "
                 "`results/site/`, is generated and not committed: `make site`).",
                 "robustsnn report site --screenshot results/site.png",
                 source="the model cards and run records", networks=""))),
    Group("paper", "The paper's tables",
          "The tables of the paper reproduced (Lv, Xu, Zheng, ICLR 2023): Table 2 from the attack "
          "runs of campaign `paper`; Tables 1, 3 and 5 measured from the checkpoints.",
          (Entry(_table_files("paper/table2"),
                 "Table 2: clean accuracy (Cln), accuracy under attack (Boa) and attack success rate "
                 "(Suc) of the original TextCNN and the fine-tuned SNN (fresh, frozen and mean-20 "
                 "encodings) under TextFooler, TextBugger, BERT-Attack and PWWS, the paper's shared "
                 "constraints, the first 1,000 test sentences of SST-2, MR, Subj and SST-5; the "
                 "paper's claim checked cell by cell.",
                 "robustsnn table --results results/attacks/paper --out results/paper/table2.csv",
                 campaigns=("paper",)),
           Entry(_table_files("paper/accuracy"),
                 "Table 1: test accuracy of every model of the paper (original and tailored "
                 "TextCNN, directly trained SNN, converted SNN without / with model / with data "
                 "normalisation, fine-tuned SNN) on the six datasets, with the network each cell "
                 "was measured on.",
                 "robustsnn report accuracy --datasets sst2,mr --update",
                 source="the checkpoints under `$ROBUSTSNN_RUNS` (per-cell git, date and command in "
                        "accuracy.csv; `--update` keeps the cells whose checkpoints are gone)",
                 networks="accuracy"),
           Entry(_table_files("paper/accuracy_rwe"),
                 "Table 3: the same with random word embeddings (SST-2).",
                 "robustsnn report accuracy --rwe --datasets sst2 --update",
                 source="the `rwe-*` checkpoints under `$ROBUSTSNN_RUNS`", networks="accuracy"),
           Entry(_table_files("paper/energy"),
                 "Table 5: FLOPs of the tailored TextCNN against synaptic operations of the "
                 "fine-tuned and the converted SNN (firing rates measured on the test split, T = "
                 "50), and the estimated energy per example, on the six datasets.",
                 "robustsnn energy runs/{mr,sst2,subj,sst5,chnsenti,waimai}/{tailored/best.pt,"
                 "snn-finetuned-none/best.pt,snn/converted-none.pt}",
                 source="the checkpoints under `$ROBUSTSNN_RUNS`", networks="energy"),
           Entry(_table_files("paper/energy_T10"),
                 "Table 5 with the SNNs simulated for T = 10 steps (weights unchanged), SST-2 and MR.",
                 "robustsnn energy runs/{sst2,mr}/{tailored,snn-finetuned-none}/best.pt --time-steps 10 "
                 "--out results/paper/energy_T10.csv",
                 source="the checkpoints under `$ROBUSTSNN_RUNS`", networks="energy"),
           Entry(_table_files("paper/energy-spikformer"),
                 "Not in the paper: the same estimate for the spiking transformer (direct input, T = "
                 "4) against the original TextCNN, SST-2 and MR (MACs for the ops that read real "
                 "values, accumulates for those that read spikes).",
                 "robustsnn energy runs/{sst2,mr}/{textcnn,spikformer}/best.pt "
                 "--out results/paper/energy-spikformer.csv",
                 source="the checkpoints under `$ROBUSTSNN_RUNS`", networks="energy"))),
    Group("first", "The first 100 sentences",
          "The paper's threat model on the first 100 test sentences of SST-2 and MR (campaigns "
          "`sst2-first`, `mr-first`): a first, small version of Table 2, and its worst case.",
          (Entry(_table_files("first/table2-first"),
                 "Cln / Boa / Suc of the TextCNN and the fine-tuned SNN (fresh and frozen) under the "
                 "four recipes.",
                 "robustsnn table --results results/attacks/sst2-first results/attacks/mr-first "
                 "--out results/first/table2-first.csv",
                 campaigns=("sst2-first", "mr-first")),
           Entry(_adaptive_files("first", "adaptive-first"),
                 "Worst-case robust accuracy over those runs per deployed model, paired comparisons "
                 "and matched-subset success rates (the non-adaptive view).",
                 "robustsnn table --worst-case --results results/attacks/sst2-first results/attacks/mr-first "
                 "--out results/first/adaptive-first.csv",
                 campaigns=("sst2-first", "mr-first")))),
    Group("adaptive", "The adaptive evaluation",
          "Campaigns `adaptive` (SST-2 and MR, the first 200 test sentences: the two TextCNNs and "
          "the fine-tuned SNN in the encodings direct, frozen, fresh and mean-20; PWWS, TextFooler, "
          "the white-box gradient-wir; every text found against the TextCNNs replayed against "
          "every SNN mode) and `adaptive-k` (k = 5 and 100 draws per query, the first 50 SST-2 "
          "sentences).",
          (Entry(_adaptive_files("adaptive", "adaptive"),
                 "Worst-case robust accuracy per deployed model over every attack of campaign "
                 "`adaptive`, paired comparisons, the k-curve, transfer rates and matched-subset "
                 "success rates.",
                 "robustsnn table --worst-case --results results/attacks/adaptive "
                 "--out results/adaptive/adaptive.csv",
                 campaigns=("adaptive",)),
           Entry(_adaptive_files("adaptive", "adaptive-k"),
                 "The same with campaign `adaptive-k` added (the k-curve to k = 100; SST-2's Poisson "
                 "SNN on the 50 sentences every k covers).",
                 "robustsnn table --worst-case --results results/attacks/adaptive results/attacks/adaptive-k "
                 "--out results/adaptive/adaptive-k.csv",
                 campaigns=("adaptive", "adaptive-k")),
           Entry(_table_files("adaptive/adaptive-runs"),
                 f"Cln / Boa / Suc of every run of both campaigns (the attack table), {RECOUNT}.",
                 "robustsnn table --recount --results results/attacks/adaptive results/attacks/adaptive-k "
                 "--out results/adaptive/adaptive-runs.csv",
                 campaigns=("adaptive", "adaptive-k")))),
    Group("native", "The native protocol",
          "Campaign `sst2-native`: the `sst2-first` grid (PWWS, TextFooler, TextBugger; the first "
          "100 SST-2 test sentences) with each recipe's own transformation instead of one shared "
          "swap.",
          (Entry(_table_files("native/table2-native"),
                 f"Cln / Boa / Suc of the TextCNN and the fine-tuned SNN (fresh, frozen), {RECOUNT}.",
                 "robustsnn table --recount --results results/attacks/sst2-native "
                 "--out results/native/table2-native.csv",
                 campaigns=("sst2-native",)),)),
    Group("textdefender", "The TextDefender protocol",
          "Campaign `textdefender` (Li et al., EMNLP 2021): 30% of words, K = 50, a 15-word "
          "similarity window, a query budget of 50, 1,000 random test sentences.",
          (Entry(_table_files("textdefender/table2-textdefender"),
                 "Cln / Boa / Suc of the TextCNN and the fine-tuned SNN (fresh, frozen) under the "
                 "four recipes.",
                 "robustsnn table --results results/attacks/textdefender "
                 "--out results/textdefender/table2-textdefender.csv",
                 campaigns=("textdefender",)),)),
    Group("chinese", "The Chinese datasets",
          "Campaign `chinese`: ChnSenti and Waimai (an extension beyond the paper) with Chinese "
          "word neighbours, the first 200 test sentences.",
          (Entry(_table_files("chinese/table2-chinese"),
                 "Cln / Boa / Suc of the TextCNN and the fine-tuned SNN (fresh, frozen) under PWWS and "
                 "TextFooler.",
                 "robustsnn table --results results/attacks/chinese --out results/chinese/table2-chinese.csv",
                 campaigns=("chinese",)),)),
    Group("defenses", "Defenses",
          "Campaign `defenses`: FGWS and SAFER around the TextCNN and the SNN (frozen encoding), "
          "PWWS on the first 100 SST-2 test sentences.",
          (Entry(_table_files("defenses/defenses"),
                 f"Cln / Boa / Suc with and without each defense, {RECOUNT}.",
                 "robustsnn table --recount --results results/attacks/defenses "
                 "--out results/defenses/defenses.csv",
                 campaigns=("defenses",)),)),
    Group("sweeps", "Sweeps",
          "Accuracy against a parameter of the SNN (the paper's Figures 3 and 5; `robustsnn sweep`) "
          "and accuracy under attack against a knob of the threat model (`robustsnn sweep-attack`).",
          (Entry(_table_files("sweeps/sweep-attack-sst2"),
                 "PWWS on the first 100 SST-2 test sentences against the TextCNN, the tailored "
                 "TextCNN and the SNN (frozen, fresh) for max_modification_rate 0.05-0.3 and "
                 "query_budget 25-200 (one campaign folder per value).",
                 "robustsnn table --results results/attacks/sst2-first-sweep-* "
                 "--out results/sweeps/sweep-attack-sst2.csv",
                 campaigns=("sst2-first-sweep-*",)),
           *(Entry((f"sweeps/sst2-{param}.csv", f"sweeps/sst2-{param}.png"), what,
                   f"robustsnn sweep {param} runs/sst2/snn-finetuned-none/best.pt",
                   source="the fine-tuned SST-2 SNN, no retraining", networks="sweep")
             for param, what in (
                 ("time_steps", "Test accuracy and spikes per example of the SST-2 SNN against the "
                                "simulated time steps T (Figure 3)."),
                 ("threshold", "The same against the firing threshold."),
                 ("beta", "The same against the membrane decay beta."))),
           Entry(("sweeps/sst2-neurons_per_class.csv", "sweeps/sst2-neurons_per_class.png"),
                 "Test accuracy of the converted SST-2 SNN against the output neurons per class, a "
                 "tailored TextCNN retrained (5 epochs) per value (Figure 5).",
                 "robustsnn sweep neurons_per_class --config sst2 --retrain --set train.max_epochs=5",
                 source="one retrained tailored net per value", networks="sweep"))),
)


def entries() -> list[Entry]:
    """Every entry of :data:`GROUPS`, in order."""
    return [e for g in GROUPS for e in g.entries]


# ------------------------------------------------------------------ reading networks


def _campaign_folders(root: Path, entry: Entry) -> list[Path]:
    folders = []
    for pattern in entry.campaigns:
        found = sorted(p for p in (root / ATTACKS_DIR).glob(pattern) if p.is_dir())
        if not found:
            raise UserError(f"{entry.name}: no campaign folder {ATTACKS_DIR}/{pattern} under {root}")
        folders += found
    return folders


def _rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _after(checkpoint: str, dataset: str) -> str:
    """A checkpoint path from its dataset folder on: ``runs/sst2/snn/x.pt`` -> ``snn/x.pt``."""
    parts = Path(checkpoint).parts
    return "/".join(parts[parts.index(dataset) + 1:] if dataset in parts else parts[-2:])


def _networks(root: Path, entry: Entry) -> tuple[list[tuple[str, str, str]], str]:
    """The ``(dataset, model, key)`` of the networks ``entry`` describes and where they were read."""
    from ..evaluation.leaderboard import load_cards
    from ..records.find import find_records
    from ..records.networks import key_of

    kind = entry.networks
    if kind == "records":
        records = find_records(_campaign_folders(root, entry))
        return ([(r.cell.dataset, r.cell.model, r.model_key) for r in records],
                f"{len(records)} run records")
    if kind == "accuracy":
        from .accuracy import network_pairs

        return network_pairs(_rows(root / entry.files[1])), "the table's rows"
    if kind == "energy":
        from .energy import network_pairs

        return network_pairs(_rows(root / entry.files[1])), "the table's rows"
    if kind == "sweep":
        return [(r.get("dataset", ""), _after(r["checkpoint"], r.get("dataset", "")), r.get("model_sha256") or "")
                for r in _rows(root / entry.files[0])], "the table's rows"
    if kind == "seeds":
        from .seeds import network_pairs

        return network_pairs(_rows(root / entry.files[1])), "the table's rows"
    if kind == "leaderboard":
        return ([(r["dataset"], r["model"], r["model_sha256"]) for r in _rows(root / entry.files[1])],
                "the table's rows")
    if kind == "cards":
        cards = load_cards(root / BENCHMARK_DIR / "cards") if (root / BENCHMARK_DIR / "cards").is_dir() else []
        return ([(c["dataset"], c["name"], key_of(c.get("model_sha256"), c.get("checkpoint_sha256")))
                 for c in cards], f"{len(cards)} model cards")
    return [], ""


# ------------------------------------------------------------------ writing


def _link(rel: str) -> str:
    return f"[{rel}]({rel})"


def _entry(root: Path, entry: Entry) -> list[str]:
    from ..records.networks import networks

    pairs, read_from = _networks(root, entry)
    out = [f"### {_link(entry.name)}", "", entry.what, ""]
    if len(entry.files) > 1:
        out.append(f"- Files: {', '.join(_link(f) for f in entry.files)}")
    if entry.campaigns:
        folders = ", ".join(f"`{ATTACKS_DIR}/{c}`" for c in entry.campaigns)
        names = ", ".join(f"`{c}`" for c in entry.campaigns)
        out.append(f"- From: campaign{'s' if len(entry.campaigns) > 1 else ''} {names} ({read_from} "
                   f"under {folders})")
    else:
        out.append(f"- From: {entry.source}")
    out.append(f"- Command: `{entry.command}`")
    if entry.networks:
        out.append(f"- Networks ({read_from}): {networks(pairs)}")
    return out + [""]


def render_index(root: Path) -> str:
    """The text of ``results/README.md`` for the results folder ``root``."""
    text = [
        "# Results",
        "",
        "Generated by `robustsnn report index` (robustsnn/reports/index.py) from the run records, the "
        "model cards and the tables listed here; do not edit it by hand: rerun the command after a "
        "table or a record changes (`robustsnn report index --check` says whether this file is up "
        "to date; a test does the same).",
        "",
        "Layout:",
        "",
        f"- `{ATTACKS_DIR}/<campaign>/`: the provenance. Every attack run's record (`.json`: campaign, "
        "threat model, attack, model and its digest, versions, machine, metrics) and its "
        "per-example log (`.csv`, or `.csv.gz` once finished), as the campaigns write them.",
        f"- `{BENCHMARK_DIR}/`: the same for the standard evaluation, and its model cards.",
        "- `leaderboard.md` / `.csv`: the ranked standard evaluations.",
        "- one folder per kind of experiment (below): the tables derived from the records or "
        "measured from checkpoints, each with the command that regenerates it.",
        "",
        "Networks: each table's `dataset/model -> digest` says which network its numbers are about: "
        "the first 12 hex digits of the network's content digest (`model_sha256`, "
        "`robustsnn.models.checkpoint.model_sha256`: format, kind, recipe, vocabulary and weights; "
        "the same network rebuilt anywhere has the same digest); `(legacy file digest)`: a run from "
        "before content digests whose checkpoint was no longer at hand to migrate it, named by the "
        "sha256 of its checkpoint file (another hash, never equal to a content digest, even of the "
        "same network); `not recorded`: from before either was recorded. One model name may stand "
        "for several networks across tables (and in one table, as `a and b`): compare digests, "
        "not names.",
        "",
    ]
    for group in GROUPS:
        where = f"`{group.folder}/`: " if group.folder else ""
        text += [f"## {where}{group.title}", "", group.about, ""]
        for entry in group.entries:
            text += _entry(root, entry)
    untabled = campaigns_without_a_table(root)
    if untabled:
        text += ["## Campaigns without a table", "",
                 "Run records under `attacks/` that no table above is computed from (yet): "
                 + ", ".join(f"`{ATTACKS_DIR}/{c}`" for c in untabled) + ".", ""]
    return "\n".join(text).rstrip("\n") + "\n"


def campaigns_without_a_table(root: Path) -> list[str]:
    """The campaign folders under ``attacks/`` that no entry's ``campaigns`` match."""
    from fnmatch import fnmatchcase

    folder = Path(root) / ATTACKS_DIR
    names = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    patterns = [c for e in entries() for c in e.campaigns]
    return [n for n in names if not any(fnmatchcase(n, pattern) for pattern in patterns)]


def unlisted(root: Path) -> list[str]:
    """Files in the results folder that no entry lists (the provenance folders, the generated
    site and the index itself aside), and listed files that are missing, as ``missing: <file>``."""
    listed = {f for e in entries() for f in e.files}
    skip = (f"{ATTACKS_DIR}/", f"{BENCHMARK_DIR}/", "site/")
    present = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    extra = sorted(f for f in present - listed - {INDEX_NAME} if not f.startswith(skip))
    missing = sorted(f"missing: {f}" for f in listed if not f.endswith("/") and f not in present)
    return extra + missing


def write_index(root: Path, check: bool = False) -> tuple[Path, bool]:
    """Write (or with ``check``, only compare) ``<root>/README.md``; returns its path and
    whether it was up to date. A file no entry lists, or a listed one that is missing, is a
    :class:`UserError` naming it."""
    from ..io_utils import atomic_write_text

    root = Path(root)
    if not root.is_dir():
        raise UserError(f"results folder not found: {root}")
    stray = unlisted(root)
    if stray:
        raise UserError(f"{root}: not in the index: {', '.join(stray[:5])}"
                        + (f" and {len(stray) - 5} more" if len(stray) > 5 else "")
                        + " (add them to robustsnn/reports/index.py GROUPS, with their command)")
    text = render_index(root)
    path = root / INDEX_NAME
    current = path.is_file() and path.read_text(encoding="utf-8") == text
    if not check and not current:
        atomic_write_text(path, text)
    return path, current


def commands() -> Sequence[str]:
    """Every entry's command (tests parse them with the CLI's own parser)."""
    return [e.command for e in entries()]
