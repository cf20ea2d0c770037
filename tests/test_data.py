"""Datasets: strict reading, dev splits, check and fetch."""

import hashlib
from collections import Counter
from pathlib import Path

import pytest

from robustsnn.cli import main
from robustsnn.data.fetch import fetch_dataset, rebuild, split_off_test
from robustsnn.data.registry import DATASETS
from robustsnn.data.sources import OUTPUT_SHA256
from robustsnn.data.tsv import load_dataset, read_tsv, stratified_holdout
from robustsnn.errors import UserError


def test_all_six_datasets_load_with_documented_sizes(shared_data):
    for name, spec in DATASETS.items():
        ds = load_dataset(name)
        if spec.has_dev:
            sizes = {"train": len(ds.train), "dev": len(ds.dev), "test": len(ds.test)}
            assert sizes == spec.rows
        else:
            assert len(ds.train) + len(ds.dev) == spec.rows["train"]
            assert len(ds.test) == spec.rows["test"]
            assert abs(len(ds.dev) - 0.1 * spec.rows["train"]) <= spec.num_classes
            assert "stratified" in ds.dev.origin and "seed 0" in ds.dev.origin
        assert set(ds.train.labels) == set(range(spec.num_classes))


def test_dev_split_is_stratified_deterministic_and_disjoint(shared_data):
    a = load_dataset("mr")
    b = load_dataset("mr")
    assert a.dev == b.dev and a.train == b.train
    assert not set(a.dev.texts) & set(a.train.texts)
    full = read_tsv(shared_data / "mr" / "train.tsv", 2)
    ratio = {k: v / Counter(full.labels)[k] for k, v in Counter(a.dev.labels).items()}
    assert all(abs(r - 0.1) < 0.002 for r in ratio.values())
    other = load_dataset("mr", split_seed=1)
    assert other.dev.texts != a.dev.texts


def test_stratified_holdout_keeps_every_row_once(tmp_path):
    from robustsnn.data.tsv import Split

    split = Split(tuple(f"t{i}" for i in range(50)), tuple([0] * 40 + [1] * 10), "x")
    train, dev = stratified_holdout(split, 0.2, seed=3)
    assert sorted(train.texts + dev.texts, key=lambda t: int(t[1:])) == list(split.texts)
    assert Counter(dev.labels) == {0: 8, 1: 2}


@pytest.mark.parametrize("content, message", [
    (b"text\tlabel\n1\thi\n", "header"),
    (b"label\ttext\n1 hi\n", "no TAB"),
    (b"label\ttext\nx\thi\n", "not an integer"),
    (b"label\ttext\n7\thi\n", "outside 0..1"),
    (b"label\ttext\n1\t   \n", "empty text"),
    (b"label\ttext\n1\tcaf\xe9\n", "not valid UTF-8"),
    (b"label\ttext\n", "no examples"),
])
def test_malformed_files_are_named_errors(tmp_path, content, message):
    p = tmp_path / "train.tsv"
    p.write_bytes(content)
    with pytest.raises(UserError, match=message):
        read_tsv(p, 2)


def test_missing_dataset_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("ROBUSTSNN_DATA", str(tmp_path))
    with pytest.raises(UserError) as err:
        load_dataset("sst2")
    assert str(tmp_path) in str(err.value) and "robustsnn data fetch sst2" in str(err.value)


def test_data_check_passes_on_shared_files(shared_data, capsys):
    assert main(["data", "check", "--sha256"]) == 0
    assert "all 14 split files" in capsys.readouterr().out


def test_data_check_reports_a_broken_file(tiny_data, capsys):
    (tiny_data / "sst2" / "dev.tsv").write_text("label\ttext\n9\tbad label\n", encoding="utf-8")
    assert main(["data", "check", "sst2"]) == 2
    captured = capsys.readouterr()
    assert "outside 0..1" in captured.out and "failed the check" in captured.err


def test_data_list_shows_sizes(shared_data, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    assert "train=6920 dev=872 test=1821" in out and "chnsenti" in out


def _sst2_raw_from_shared(shared: Path, mirror: Path) -> None:
    """SST texts are byte-identical to the source, so the raw stsa files can be rebuilt."""
    for split in ("train", "dev", "test"):
        lines = (shared / "sst2" / f"{split}.tsv").read_text(encoding="utf-8").split("\n")[1:-1]
        raw = "".join(f"{line.split(chr(9), 1)[0]} {line.split(chr(9), 1)[1]}\n" for line in lines)
        (mirror / f"stsa.binary.{split}").write_bytes(raw.encode("utf-8"))


def test_fetch_from_local_mirror_rebuilds_identical_files(shared_data, tmp_path, capsys):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _sst2_raw_from_shared(shared_data, mirror)
    out = tmp_path / "fetched"
    assert main(["data", "fetch", "sst2", "--out", str(out), "--mirror", mirror.as_uri()]) == 0
    for split in ("train", "dev", "test"):
        data = (out / "sst2" / f"{split}.tsv").read_bytes()
        assert data == (shared_data / "sst2" / f"{split}.tsv").read_bytes()
        assert hashlib.sha256(data).hexdigest() == OUTPUT_SHA256["sst2"][split]


def test_fetch_rejects_tampered_raw_file(shared_data, tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    _sst2_raw_from_shared(shared_data, mirror)
    with open(mirror / "stsa.binary.dev", "ab") as f:
        f.write(b"1 an extra line\n")
    with pytest.raises(UserError, match="stsa.binary.dev .* sha256"):
        fetch_dataset("sst2", tmp_path / "out", mirror=mirror.as_uri())
    assert not (tmp_path / "out" / "sst2").exists()  # nothing half-written


def test_fetch_without_network_fails_cleanly(tmp_path, capsys):
    # Port 9 on loopback refuses connections: the same path as "no network".
    rc = main(["data", "fetch", "mr", "--out", str(tmp_path), "--mirror", "http://127.0.0.1:9", "--timeout", "5"])
    err = capsys.readouterr().err
    assert rc == 2 and "could not download rt-polarity.neg" in err and len(err.strip().splitlines()) == 1


def test_rebuild_follows_the_documented_split():
    neg = "".join(f"neg {i} \n" for i in range(15)).encode("cp1252")
    pos = "".join(f"pos {i} \n" for i in range(15)).encode("cp1252")
    out = rebuild("mr", {"rt-polarity.neg": neg, "rt-polarity.pos": pos})
    test_lines = out["test"].decode().splitlines()[1:]
    train_lines = out["train"].decode().splitlines()[1:]
    assert len(test_lines) == 3 and len(train_lines) == 27  # floor(30 / 10)
    rows = [(0, f"neg {i}") for i in range(15)] + [(1, f"pos {i}") for i in range(15)]
    train, test = split_off_test(rows)
    assert test_lines == [f"{y}\t{t}" for y, t in test]
    assert train_lines == [f"{y}\t{t}" for y, t in train]


def test_rebuild_sophon_csv_drops_empty_reviews_and_cleans():
    csv_bytes = "label,review\n1,很好\n0,\"\"\n0,\"太\t差\"\n".encode() + "".join(
        f"1,好{i}\n" for i in range(10)).encode("utf-8")
    out = rebuild("waimai", {"waimai_10k.csv": csv_bytes})
    text = out["train"].decode() + out["test"].decode()
    assert "太 差" in text and "\t\n" not in text
    assert sum(len(v.decode().splitlines()) - 1 for v in out.values()) == 12
