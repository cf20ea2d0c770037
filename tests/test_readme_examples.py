"""The README's "Python API" section runs as written: its Python blocks are extracted and
executed, in order and in one namespace, against tiny checkpoints where the zoo looks for
the real ones (``$ROBUSTSNN_RUNS/sst2/snn-finetuned-none/best.pt`` and
``.../textcnn/best.pt``).

The one stand-in besides the tiny networks: the counter-fitted vectors of the campaign
block (the shipped ``demo`` campaign, shared-swap protocol) are the toy embedding of
tests/attack_toys.py - the real ones are built from GloVe in about a minute. The stock
TextAttack PWWS of the first block needs no stand-in: it runs on the offline NLTK data.
"""

import re
import shutil
from pathlib import Path

import pytest

from attack_toys import require_textattack, shared_resources_dir, toy_embedding

require_textattack()

from conftest import tiny_recipe_dict  # noqa: E402

README = Path(__file__).parents[1] / "README.md"
SECTION = "### Python API"


def readme_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    following = re.search(r"^#{2,3} ", text[start + len(SECTION):], flags=re.M)
    section = text[start: start + len(SECTION) + following.start()] if following else text[start:]
    return re.findall(r"^```python\n(.*?)^```$", section, flags=re.M | re.S)


def test_the_section_has_the_examples():
    blocks = readme_blocks()
    assert len(blocks) == 2
    assert 'robustsnn.load_classifier("sst2", "snn", noise="frozen")' in blocks[0]
    assert "PWWSRen2019.build(wrapper)" in blocks[0] and "textattack.Attacker" in blocks[0]
    assert "robustsnn.run_campaign(" in blocks[1]
    assert all(len(block.splitlines()) <= 20 for block in blocks)


@pytest.mark.slow
def test_readme_python_api_examples_run(tiny_net, tmp_path, monkeypatch, capsys):
    import robustsnn.resources.offline as offline
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train

    runs = tmp_path / "runs"  # ROBUSTSNN_RUNS of tiny_net (via tiny_data)
    (runs / "sst2" / "snn-finetuned-none").mkdir(parents=True)
    shutil.copy(tiny_net.converted, runs / "sst2" / "snn-finetuned-none" / "best.pt")
    recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 2}))
    train(recipe, "textcnn", runs / "sst2" / "textcnn", log=lambda _: None)  # demo.toml attacks it too

    work = tmp_path / "work"  # the README's relative path runs/api-demo; demo is found by name
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("ROBUSTSNN_RUNS", str(runs))
    monkeypatch.setenv("ROBUSTSNN_RESULTS", str(tmp_path / "results"))
    monkeypatch.setenv("ROBUSTSNN_RESOURCES", str(shared_resources_dir()))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    class ToyResources(offline.AttackResources):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            if self.embedding is None:
                self.embedding = toy_embedding()

    monkeypatch.setattr(offline, "AttackResources", ToyResources)

    namespace: dict = {"__name__": "readme"}
    for block in readme_blocks():
        exec(compile(block, f"{README}:{SECTION}", "exec"), namespace)

    out = capsys.readouterr().out
    results = namespace["results"]
    assert len(results) == len(namespace["sentences"]) == 5
    assert {type(r).__name__ for r in results} <= {"SuccessfulAttackResult", "FailedAttackResult",
                                                   "SkippedAttackResult"}
    assert sum(line.split(" | ")[0].endswith("AttackResult") for line in out.splitlines()) == 5
    assert namespace["classifier"].describe()["encoding"] == "frozen"

    records = namespace["records"]
    assert [(r.cell.model, r.cell.noise) for r in records] == [("textcnn", "none"), ("snn", "frozen")]
    assert all(r.complete and r.metrics["n"] == 5 for r in records)
    assert [(r["model"], r["noise"]) for r in namespace["rows"]] == [("snn", "frozen"), ("textcnn", "none")]
    demo = work / "runs" / "api-demo"
    assert (demo / "table.csv").is_file() and (demo / "table.md").is_file()
    assert (demo / "demo" / "sst2__snn__none__pwws__frozen__shared-swap.csv").is_file()
