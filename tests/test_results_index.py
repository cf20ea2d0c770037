"""The results folder as a benchmark reads it: ``results/README.md`` (``robustsnn report
index``) lists every derived table with its command and networks and is up to date with the
committed results; every generated table says which networks it describes."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from robustsnn.cli import build_parser, main
from robustsnn.errors import UserError
from robustsnn.paths import ACCURACY_CSV, ADAPTIVE_CSV, ENERGY_CSV, PAPER_DIR, TABLE2_CSV
from robustsnn.records.networks import describe, key_of, networks, networks_line
from robustsnn.reports import index
from robustsnn.reports.index import Entry, Group, render_index, unlisted, write_index
from test_site import _det, _write_run

RESULTS = Path(__file__).resolve().parents[1] / "results"


# ------------------------------------------------------------------ the committed results


def test_the_committed_index_is_up_to_date():
    """Regenerating results/README.md from the committed results gives the committed bytes."""
    assert unlisted(RESULTS) == [], "files in results/ that results/README.md does not list"
    assert render_index(RESULTS) == (RESULTS / "README.md").read_text(encoding="utf-8"), \
        "results/README.md is out of date: run `robustsnn report index`"


def test_every_table_file_in_results_is_listed_once():
    listed = [f for e in index.entries() for f in e.files]
    assert len(listed) == len(set(listed))
    tables = {p.relative_to(RESULTS).as_posix() for p in RESULTS.rglob("*")
              if p.is_file() and p.suffix in {".md", ".csv", ".png"}
              and p.relative_to(RESULTS).parts[0] not in {"attacks", "benchmark", "site"}}
    assert tables - {"README.md"} <= set(listed)
    assert {"paper/table2.md", "paper/accuracy.md", "adaptive/adaptive.md", "leaderboard.md"} <= set(listed)


def _argv(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[0] == "robustsnn", command
    return words[1:]


@pytest.mark.parametrize("entry", [e for e in index.entries() if "[" not in e.command and "MODEL" not in e.command],
                         ids=lambda e: e.name)
def test_each_command_parses_and_writes_its_entry(entry: Entry):
    """The index's command regenerates the entry where the index says it lies: its --out, or
    the writer's default."""
    args = build_parser().parse_args(_argv(entry.command))
    csv = next((f for f in entry.files if f.endswith(".csv")), None)
    if args.command == "table":
        default = ADAPTIVE_CSV if args.worst_case else TABLE2_CSV
        assert Path(args.out or f"results/{default}") == Path("results") / csv
        assert all(str(r).startswith("results/attacks/") for r in args.results)
        assert {Path(r).name for r in args.results} == set(entry.campaigns)
    elif args.command == "report" and args.report == "accuracy":
        assert args.out_dir is None and csv == f"{PAPER_DIR}/{'accuracy_rwe' if args.rwe else 'accuracy'}.csv"
        assert Path(ACCURACY_CSV).parent.as_posix() == PAPER_DIR
    elif args.command == "energy":
        assert Path(args.out or f"results/{ENERGY_CSV}") == Path("results") / csv
    elif args.command == "sweep":
        assert args.out_dir is None and csv == f"sweeps/sst2-{args.param}.csv"
    else:
        assert args.command in {"leaderboard", "report"}, entry.command


def test_the_tables_name_the_committed_networks():
    """Table 2 and Table 1 say which networks they describe; SST-2 and MR Table 1 rows name
    the networks the committed standard-v1 and textdefender attacks name."""
    table2 = (RESULTS / "paper" / "table2.md").read_text(encoding="utf-8").splitlines()
    assert table2[2].startswith("Networks: mr/snn -> e6b3947e2c3e (legacy file digest); mr/textcnn -> 4c52b9cf7cd8;")
    accuracy = (RESULTS / "paper" / "accuracy.md").read_text(encoding="utf-8")
    assert accuracy.splitlines()[2].startswith("Networks: per cell under \"Networks per cell\"")
    for digest in ("227d259ae036", "2aaab1cd2b5c", "0aefe2b1740a", "4c52b9cf7cd8", "80ec47e823a8", "59312de7af8c"):
        assert digest in accuracy
    for generated in RESULTS.rglob("*.md"):
        rel = generated.relative_to(RESULTS)
        if rel.parts[0] in {"attacks", "benchmark", "site"} or rel.as_posix() in {"README.md", "leaderboard.md"}:
            continue
        assert generated.read_text(encoding="utf-8").splitlines()[2].startswith("Networks: "), rel


# ------------------------------------------------------------------ the helpers


def test_networks_are_spelled_alike_everywhere():
    content, legacy = "a" * 64, "b" * 64
    assert describe(content) == "a" * 12
    assert describe(key_of(None, legacy)) == "b" * 12 + " (legacy file digest)"
    assert describe(key_of("", "")) == "not recorded"
    pairs = [("sst2", "snn", content), ("mr", "textcnn", ""), ("sst2", "snn", key_of("", legacy)),
             ("sst2", "snn", content)]
    assert networks(pairs) == (f"mr/textcnn -> not recorded; sst2/snn -> {'a' * 12} and {'b' * 12} "
                               "(legacy file digest)")
    assert networks_line(pairs).endswith("(Not recorded: measured before digests were recorded; "
                                         "which network cannot be told.)")
    assert networks_line([("sst2", "snn", content)]) == f"Networks: sst2/snn -> {'a' * 12}."


def test_attack_tables_carry_the_networks_of_their_records(tmp_path):
    from robustsnn.analysis.adaptive import write_adaptive
    from robustsnn.analysis.table import write_table

    attacks = tmp_path / "attacks"
    rows = {0: _det("failed"), 1: _det("successful"), 2: _det("failed")}
    _write_run(attacks, "c", "sst2", "textcnn", "pwws", "none", rows, sha="c" * 64)
    _write_run(attacks, "c", "sst2", "tailored", "pwws", "none", rows, sha="d" * 64)
    # A record from before content digests: the file's sha256 only.
    path = attacks / "c" / "sst2__tailored__none__pwws__none__shared-swap.json"
    record = json.loads(path.read_text())
    record["model"]["checkpoint_sha256"] = record["model"].pop("model_sha256")
    path.write_text(json.dumps(record))

    table = write_table(attacks, tmp_path / "t" / "table2.csv", tmp_path / "t" / "table2.md")
    assert {r["model_sha256"] for r in table} == {"c" * 64, "file-" + "d" * 64}
    md = (tmp_path / "t" / "table2.md").read_text().splitlines()
    assert md[0] == "# Attack results (Table 2)"
    assert md[2] == f"Networks: sst2/tailored -> {'d' * 12} (legacy file digest); sst2/textcnn -> {'c' * 12}."
    assert "model_sha256" in (tmp_path / "t" / "table2.csv").read_text().splitlines()[0].split(",")

    write_adaptive(attacks, tmp_path / "a" / "adaptive.csv")
    assert (tmp_path / "a" / "adaptive.md").read_text().splitlines()[2] == md[2]
    header = (tmp_path / "a" / "adaptive_matched.csv").read_text().splitlines()[0].split(",")
    assert "model_sha256" in header


def test_the_energy_table_says_its_networks(tmp_path):
    from robustsnn.reports.energy import energy_markdown

    row = {"dataset": "sst2", "ann_kind": "tailored", "ann_accuracy": 0.8, "ann_flops": 10, "ann_energy_pj": 46.0,
           "snn_accuracy": 0.81, "snn_accuracy_std": 0.01, "time_steps": 50, "rate_input": 0.3, "rate_conv": 0.05,
           "rate_pool": 0.04, "snn_sops": 20.0, "snn_energy_pj": 18.0, "energy_reduction": 2.5, "e_mac_pj": 4.6,
           "e_ac_pj": 0.9, "snn_checkpoint": "sst2/snn-finetuned-none/best.pt",
           "ann_model_sha256": "e" * 64, "snn_model_sha256": "f" * 64}
    lines = energy_markdown([row], "energy.csv").splitlines()
    assert lines[2] == f"Networks: sst2/snn-finetuned-none/best.pt -> {'f' * 12}; sst2/tailored -> {'e' * 12}."
    old = {k: v for k, v in row.items() if not k.endswith("model_sha256")}  # a table from before the columns
    assert "sst2/tailored -> not recorded" in energy_markdown([old], "energy.csv").splitlines()[2]


# ------------------------------------------------------------------ the index command


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """A results folder with one campaign and one table, and an index that knows just it."""
    root = tmp_path / "results"
    _write_run(root / "attacks", "c", "sst2", "textcnn", "pwws", "none", {0: _det("failed")}, sha="c" * 64)
    (root / "x").mkdir()
    (root / "x" / "t.md").write_text("# t\n")
    (root / "x" / "t.csv").write_text("a\n")
    entry = Entry(("x/t.md", "x/t.csv"), "A toy table.", "robustsnn table --results results/attacks/c "
                  "--out results/x/t.csv", campaigns=("c",))
    monkeypatch.setattr(index, "GROUPS", (Group("x", "Toys", "One toy campaign.", (entry,)),))
    return root


def test_the_index_command_writes_checks_and_names_strays(toy, capsys):
    assert main(["report", "index", "--root", str(toy), "--check"]) == 1
    assert "not up to date" in capsys.readouterr().err
    assert main(["report", "index", "--root", str(toy)]) == 0
    text = (toy / "README.md").read_text()
    assert "## `x/`: Toys" in text and "### [x/t.md](x/t.md)" in text
    assert "- From: campaign `c` (1 run records under `attacks/c`)" in text
    assert "- Command: `robustsnn table --results results/attacks/c --out results/x/t.csv`" in text
    assert f"- Networks (1 run records): sst2/textcnn -> {'c' * 12}" in text
    assert "/tmp" not in text and str(toy) not in text  # nothing of this machine
    assert main(["report", "index", "--root", str(toy), "--check"]) == 0
    (toy / "x" / "stray.csv").write_text("a\n")
    with pytest.raises(UserError, match="not in the index: x/stray.csv"):
        write_index(toy)
    (toy / "x" / "stray.csv").unlink()
    (toy / "x" / "t.csv").unlink()
    with pytest.raises(UserError, match="missing: x/t.csv"):
        write_index(toy)


def test_a_campaign_without_a_table_is_named(toy):
    _write_run(toy / "attacks", "new", "mr", "snn", "pwws", "fresh", {0: _det("failed")})
    assert index.campaigns_without_a_table(toy) == ["new"]
    assert "## Campaigns without a table" in render_index(toy) and "`attacks/new`" in render_index(toy)
