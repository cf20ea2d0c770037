"""The R-draw verdict with and without early stopping: draws used and seconds.

    .venv/bin/python benchmarks/verdict_early_stop.py                  # the SST-2 SNN, 40 test texts
    .venv/bin/python benchmarks/verdict_early_stop.py --checkpoint runs/sst2/snn-finetuned-none/best.pt
    .venv/bin/python benchmarks/verdict_early_stop.py --tiny           # a toy SNN trained here (no data needed)

Votes each text R times (fresh Poisson draws), as the runner votes an example's clean
text: (a) early stopping (the default), (b) the same chunks to the end (``early_stop=False``),
(c) the code before early stopping (one batched call of R copies). The three run text by
text, interleaved, so load from other processes hits them alike; (a) and (b) start from the
same seed, and the script checks that every verdict of (a) equals (b)'s. Prints the mean
draws per verdict and seconds per verdict of each, and the ratios.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def legacy_votes(classifier: Any, text: str, label: int, draws: int) -> bool:
    """The verdict as campaign/verdict.py computed it before early stopping."""
    preds = np.asarray(classifier.predict_proba([text] * draws)).argmax(axis=1)
    return int(np.bincount(preds, minlength=classifier.num_classes).argmax()) == label


def tiny_classifier(folder: Path) -> tuple[Any, list[str], list[int]]:
    """A toy SNN (tests/conftest.py's recipe, converted) and its toy test texts."""
    import os

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import make_tiny_dataset, tiny_recipe_dict
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train
    from robustsnn.train.convert import convert

    os.environ["ROBUSTSNN_DATA"] = str(make_tiny_dataset(folder / "data"))
    os.environ["ROBUSTSNN_RUNS"] = str(folder / "runs")
    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 3}))
    train(recipe, "tailored", folder / "tailored", log=lambda _: None)
    out = folder / "converted.pt"
    convert(folder / "tailored" / "best.pt", "none", out=out, log=lambda _: None)
    return load("snn-converted", out)


def load(model: str, checkpoint: Path | None) -> tuple[Any, list[str], list[int]]:
    from robustsnn.data.tsv import load_dataset
    from robustsnn.models.encoding import FRESH
    from robustsnn.zoo import MODELS

    test = load_dataset("sst2").test
    return MODELS.get(model).load("sst2", checkpoint, FRESH), list(test.texts), [int(y) for y in test.labels]


def main() -> None:
    import torch

    from robustsnn.campaign.verdict import majority_votes

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", type=Path, help="the SST-2 SNN (default: the zoo's 'snn')")
    parser.add_argument("--tiny", action="store_true", help="train a toy SNN here instead")
    parser.add_argument("--num-texts", type=int, default=40)
    parser.add_argument("--draws", type=int, default=100, help="R")
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        if args.tiny:
            classifier, texts, labels = tiny_classifier(Path(tmp))
        else:
            classifier, texts, labels = load("snn", args.checkpoint)
        texts, labels = texts[: args.num_texts], labels[: args.num_texts]
        seconds = {"early": 0.0, "full": 0.0, "legacy": 0.0}
        used = []
        for i, (text, label) in enumerate(zip(texts, labels)):
            verdicts = {}
            for name in ("early", "full", "legacy"):
                torch.manual_seed(i)
                began = time.perf_counter()
                if name == "legacy":
                    verdicts[name] = legacy_votes(classifier, text, label, args.draws)
                else:
                    [v] = majority_votes(classifier, [text], label, args.draws, early_stop=name == "early")
                    verdicts[name] = v.correct
                    if name == "early":
                        used.append(v.draws)
                seconds[name] += time.perf_counter() - began
            assert verdicts["early"] == verdicts["full"], f"text {i}: early and full verdicts differ"
    n = len(texts)
    print(f"{'tiny SNN' if args.tiny else 'SST-2 SNN'}, {n} texts, R = {args.draws}, one CPU thread")
    print(f"draws per verdict: early {np.mean(used):.1f} (min {min(used)}, max {max(used)}), "
          f"full {args.draws}; verdicts equal: all {n}")
    for name, s in seconds.items():
        print(f"  {name:6s} {1000 * s / n:8.1f} ms per verdict")
    print(f"time ratio full / early {seconds['full'] / seconds['early']:.2f}, "
          f"before early stopping (one batch) / early {seconds['legacy'] / seconds['early']:.2f}")


if __name__ == "__main__":
    main()
