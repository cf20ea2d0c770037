"""``robustsnn report accuracy``: evaluated cells, empty cells with build notes, RWE tables."""

import io
import json
import math
import random

import pandas as pd
import pytest

from conftest import FILLER, NEGATIVE, POSITIVE, tiny_recipe_dict
from robustsnn.cli import main
from robustsnn.config import recipe_from_dict
from robustsnn.models.loading import encode_split, load_model, load_recipe_dataset
from robustsnn.reports.accuracy import TABLE1, TABLE3, build_command, evaluate_cell
from robustsnn.train.ann import evaluate, train
from robustsnn.train.evaluate import evaluate_snn

QUIET = {"log": lambda _: None}


def vectors_file(path):
    """A small 'pre-trained' vector file over the toy vocabulary (GloVe text format)."""
    rng = random.Random(0)
    lines = [" ".join([w] + [f"{rng.gauss(0, 1):.4f}" for _ in range(8)])
             for w in [*POSITIVE, *NEGATIVE, *FILLER, "."]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def runs(tiny_data, tmp_path):
    """Tailored nets with 'pre-trained' (file) and random embeddings in the conventional folders."""
    root = tmp_path / "runs"
    pre = recipe_from_dict(tiny_recipe_dict(
        embedding={"source": "file", "path": str(vectors_file(tmp_path / "vec.txt"))}, train={"max_epochs": 2}))
    train(pre, "tailored", root / "sst2" / "tailored", **QUIET)
    train(pre, "textcnn", root / "sst2" / "textcnn", **QUIET)
    assert main(["convert", str(root / "sst2" / "tailored" / "best.pt"), "--out",
                 str(root / "sst2" / "snn" / "converted-none.pt")]) == 0
    rwe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2}))  # source "random"
    train(rwe, "tailored", root / "sst2" / "rwe-tailored", **QUIET)
    assert main(["convert", str(root / "sst2" / "rwe-tailored" / "best.pt"), "--norm", "data", "--out",
                 str(root / "sst2" / "rwe-snn" / "converted-data.pt")]) == 0
    return root


def test_table1_cells_match_direct_evaluation_and_missing_ones_stay_empty(runs, tmp_path, capsys):
    out = tmp_path / "results"
    assert main(["report", "accuracy", "--datasets", "sst2", "--runs", str(runs), "--out-dir", str(out),
                 "--draws", "3"]) == 0
    frame = pd.read_csv(out / "accuracy.csv")
    assert len(frame) == len(TABLE1)  # one row per model x dataset
    by_row = frame.set_index("row")

    tailored = load_model(runs / "sst2" / "tailored" / "best.pt")
    ids, labels = encode_split(tailored.encoder, load_recipe_dataset(tailored.recipe).test)
    t = by_row.loc["Tailored TextCNN"]
    assert t["mean"] == pytest.approx(evaluate(tailored.model, ids, labels))
    assert t["std"] == 0 and bool(t["deterministic"]) and t["n_draws"] == 1 and t["status"] == "ok"
    assert t["embedding_source"] == "file:vec.txt" and t["embedding_dim"] == 8

    snn = load_model(runs / "sst2" / "snn" / "converted-none.pt")
    acc = evaluate_snn(snn.model, ids, labels, 3, seed=snn.recipe.finetune.seed)
    c = by_row.loc["Conv SNN"]
    assert c["mean"] == pytest.approx(acc.mean) and c["std"] == pytest.approx(acc.std)
    assert c["n_draws"] == 3 and not bool(c["deterministic"])
    assert json.loads(c["per_draw"]) == pytest.approx(list(acc.per_draw))

    ft = by_row.loc["Conv SNN FT"]
    assert ft["status"] == "missing" and math.isnan(ft["mean"])
    assert "robustsnn finetune $ROBUSTSNN_RUNS/sst2/snn/converted-none.pt" in ft["note"]
    assert {"git", "date", "versions", "machine", "checkpoint", "model_sha256"} <= set(frame.columns)
    # Paths relative to $ROBUSTSNN_RUNS, never this machine's; the digest says which file.
    assert not any(str(p).startswith("/") for p in frame["checkpoint"])
    assert by_row.loc["Tailored TextCNN"]["checkpoint"].startswith("sst2/")
    assert len(by_row.loc["Tailored TextCNN"]["model_sha256"]) == 64

    md = (out / "accuracy.md").read_text()
    assert "| Embeddings (source, dim) | file:vec.txt, 8d" in md
    assert f"{100 * t['mean']:.2f} (det.)" in md and f"{100 * acc.mean:.2f} ± {100 * acc.std:.2f}" in md
    assert "Conv SNN FT, sst2: missing" in md and "robustsnn train-snn --config sst2" in md
    assert "Directly-trained SNN" in capsys.readouterr().out


def test_rwe_table_reads_only_random_embedding_runs(runs, tmp_path):
    out = tmp_path / "results"
    assert main(["report", "accuracy", "--rwe", "--datasets", "sst2", "--runs", str(runs),
                 "--out-dir", str(out), "--draws", "1"]) == 0
    frame = pd.read_csv(out / "accuracy_rwe.csv").set_index("row")
    assert len(frame) == len(TABLE3)
    assert frame.loc["Tailored TextCNN (RWE)", "status"] == "ok"
    assert frame.loc["Tailored TextCNN (RWE)", "embedding_source"] == "random"
    assert frame.loc["Conv SNN DN (RWE)", "status"] == "ok"
    assert frame.loc["Conv SNN (RWE)", "status"] == "missing"
    assert "--out $ROBUSTSNN_RUNS/sst2/rwe-snn/converted-none.pt" in frame.loc["Conv SNN (RWE)", "note"]
    assert frame.loc["Conv SNN FT (PWE)", "status"] == "missing"
    assert (out / "accuracy_rwe.md").read_text().startswith("# Test accuracy, random word embeddings")


def test_a_checkpoint_with_the_wrong_embeddings_is_skipped_not_reported(runs, tmp_path):
    # Put the random-embedding net where Table 1 expects the pre-trained one.
    (runs / "sst2" / "tailored" / "best.pt").write_bytes((runs / "sst2" / "rwe-tailored" / "best.pt").read_bytes())
    out = tmp_path / "results"
    assert main(["report", "accuracy", "--datasets", "sst2", "--runs", str(runs), "--out-dir", str(out),
                 "--draws", "1"]) == 0
    row = pd.read_csv(out / "accuracy.csv").set_index("row").loc["Tailored TextCNN"]
    assert row["status"] == "skipped" and math.isnan(row["mean"]) and "random" in row["note"]


def test_an_unfinished_run_is_skipped_not_reported(runs, tmp_path):
    (runs / "sst2" / "textcnn" / "result.json").unlink()  # as while the run is still going
    out = tmp_path / "results"
    assert main(["report", "accuracy", "--datasets", "sst2", "--runs", str(runs), "--out-dir", str(out),
                 "--draws", "1"]) == 0
    row = pd.read_csv(out / "accuracy.csv").set_index("row").loc["Original TextCNN"]
    assert row["status"] == "skipped" and math.isnan(row["mean"])
    assert "has not finished" in row["note"] and row["note"].endswith("--model textcnn --resume")


def test_update_reevaluates_the_named_datasets_and_keeps_the_others_verbatim(runs, tmp_path):
    out = tmp_path / "results"
    argv = ["report", "accuracy", "--datasets", "sst2", "--runs", str(runs), "--out-dir", str(out), "--draws", "1"]
    assert main(argv) == 0
    # An earlier report's MR column (another git, another date), as --update finds it on disk.
    lines = (out / "accuracy.csv").read_text().splitlines()
    earlier = [line.replace(",sst2,", ",mr,", 1).replace("sst2/", "mr/") for line in lines[1:]]
    frame = pd.read_csv(io.StringIO("\n".join([lines[0], *earlier])), dtype=str, keep_default_na=False)
    frame["git"], frame["date"] = "abc1234", "2026-01-01T00:00:00+00:00"
    frame.loc[frame["row"] == "Tailored TextCNN", "mean"] = "0.123456789"  # not re-evaluated
    (out / "accuracy.csv").write_text(frame.to_csv(index=False))
    kept = {line for line in (out / "accuracy.csv").read_text().splitlines()[1:]}

    assert main([*argv, "--update"]) == 0
    text = (out / "accuracy.csv").read_text().splitlines()
    assert text[0] == lines[0] and len(text) == 1 + 2 * len(TABLE1)
    assert kept <= set(text[1:])  # the MR rows, byte for byte
    now = pd.read_csv(out / "accuracy.csv")
    assert list(now["dataset"][:2]) == ["mr", "sst2"]  # the paper's column order
    sst2 = now[now["dataset"] == "sst2"].set_index("row")
    assert (sst2["git"] != "abc1234").all() and sst2.loc["Tailored TextCNN", "status"] == "ok"
    md = (out / "accuracy.md").read_text()
    assert "| Method" in md and "| MR" in md and "12.35 (det.)" in md
    assert "MR: kept from the report at git abc1234 on 2026-01-01T00:00:00+00:00 (`--update`" in md
    assert "for SST-2." in md

    # A checkpoint that is gone now (a new machine): --update keeps its measured cell.
    before = pd.read_csv(out / "accuracy.csv", dtype=str, keep_default_na=False)
    tailored = before[(before["dataset"] == "sst2") & (before["row"] == "Tailored TextCNN")].iloc[0]
    (runs / "sst2" / "tailored" / "best.pt").rename(runs / "sst2" / "tailored" / "gone.pt")
    try:
        assert main([*argv, "--update"]) == 0
    finally:
        (runs / "sst2" / "tailored" / "gone.pt").rename(runs / "sst2" / "tailored" / "best.pt")
    after = pd.read_csv(out / "accuracy.csv", dtype=str, keep_default_na=False)
    row = after[(after["dataset"] == "sst2") & (after["row"] == "Tailored TextCNN")].iloc[0]
    assert row.to_dict() == tailored.to_dict() and row["status"] == "ok"
    assert "SST-2 (cells with no checkpoint now): kept from the report at git" in (out / "accuracy.md").read_text()

    # A table this report did not write is refused, and left as it is.
    bad = frame.copy()
    bad.loc[0, "row"] = "Some Other Net"
    (out / "accuracy.csv").write_text(bad.to_csv(index=False))
    assert main([*argv, "--update"]) == 2
    assert "Some Other Net" in (out / "accuracy.csv").read_text()


def test_build_commands_follow_the_run_folder_convention():
    rwe = {s.label: build_command(s, "mr") for s in TABLE3}
    assert rwe["Tailored TextCNN (RWE)"].startswith("robustsnn train --config mr --model tailored "
                                                    "--set embedding.source=random")
    assert rwe["Tailored TextCNN (RWE)"].endswith("--out $ROBUSTSNN_RUNS/mr/rwe-tailored")
    assert rwe["Conv SNN FT (RWE)"] == ("robustsnn finetune $ROBUSTSNN_RUNS/mr/rwe-snn/converted-none.pt "
                                        "--out $ROBUSTSNN_RUNS/mr/rwe-snn-finetuned-none")
    pre = {s.label: build_command(s, "mr") for s in TABLE1}
    assert pre["Conv SNN MN"] == "robustsnn convert $ROBUSTSNN_RUNS/mr/tailored/best.pt --norm model"


def test_missing_cell_under_another_runs_root_names_it(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(tmp_path / "default"))
    cell = evaluate_cell(TABLE1[0], "sst2", tmp_path / "other")
    assert cell.mean is None and cell.note.startswith(f"missing {tmp_path / 'other' / 'sst2' / 'textcnn' / 'best.pt'}")
    assert f"build it with: ROBUSTSNN_RUNS={(tmp_path / 'other').resolve()} robustsnn train" in cell.note


def test_report_errors(tmp_path, capsys):
    for argv, message in [
        (["report", "accuracy", "--datasets", "imdb", "--runs", str(tmp_path)], "unknown dataset"),
        (["report", "accuracy", "--runs", str(tmp_path / "none")], "runs folder not found"),
        (["report", "accuracy", "--runs", str(tmp_path), "--draws", "0"], "at least 1"),
    ]:
        capsys.readouterr()
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1, err


def test_each_cell_says_which_network_it_describes(runs, tmp_path):
    """Measured cells carry their checkpoint's content digest; cells kept from a report written
    before content digests keep its legacy file digest (checkpoint_sha256) or none, and the
    Markdown says per cell which network, marking those whose checkpoint is gone."""
    from robustsnn.models.checkpoint import model_digest

    out = tmp_path / "results"
    argv = ["report", "accuracy", "--datasets", "sst2", "--runs", str(runs), "--out-dir", str(out), "--draws", "1"]
    assert main(argv) == 0
    # An older report's MR column, as it stored digests then: the file's sha256 in checkpoint_sha256.
    frame = pd.read_csv(out / "accuracy.csv", dtype=str, keep_default_na=False)
    old = frame.assign(dataset="mr", checkpoint=frame["checkpoint"].str.replace("sst2/", "mr/"),
                       checkpoint_sha256=["f" * 64 if i == 0 else "" for i in range(len(frame))])
    pd.concat([old.drop(columns=["model_sha256"]), frame.drop(columns=["model_sha256"])]).to_csv(
        out / "accuracy.csv", index=False)
    assert main([*argv, "--update"]) == 0

    table = pd.read_csv(out / "accuracy.csv", dtype=str, keep_default_na=False).set_index(["dataset", "row"])
    digest = model_digest(runs / "sst2" / "tailored" / "best.pt")
    assert table.loc[("sst2", "Tailored TextCNN"), "model_sha256"] == digest
    assert table.loc[("mr", "Original TextCNN"), "checkpoint_sha256"] == "f" * 64
    assert table.loc[("mr", "Original TextCNN"), "model_sha256"] == ""
    md = (out / "accuracy.md").read_text()
    # SST-2: three cells measured; MR: the same three kept, one by a legacy digest, all gone.
    assert md.splitlines()[2] == ("Networks: per cell under \"Networks per cell\" below: 3 cells by content "
                                  "digest, 1 by legacy file digest, 2 not recorded; the checkpoints of 3 "
                                  "are no longer available (gone).")
    section = md[md.index("## Networks per cell"):]
    tailored = next(line for line in section.splitlines() if line.startswith("| Tailored TextCNN"))
    assert "not recorded (gone)" in tailored and digest[:12] in tailored  # MR kept, SST-2 measured
    original = next(line for line in section.splitlines() if line.startswith("| Original TextCNN"))
    assert "file-" + "f" * 12 + " (gone)" in original
