"""An outside package's defense is discovered and evaluated without editing robustsnn.

The example plugin in tests/plugin_example is pip-installed (editable, no deps) into
the running environment once per session; everything that must see it runs in a
fresh process (a registry discovers entry points once per process, and an editable
install takes effect at interpreter start)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import link_counterfitted, make_tiny_dataset, tiny_recipe_dict
from robustsnn.records.record import RunRecord

PLUGIN_DIR = Path(__file__).parent / "plugin_example"
PLUGIN = "strip-punctuation"
DISTRIBUTION = "robustsnn-plugin-example"


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "robustsnn", *args], capture_output=True, text=True, env=env)


@pytest.fixture(scope="session")
def plugin_installed(tmp_path_factory) -> dict[str, str]:
    """tests/plugin_example installed into a temporary folder, never into this environment:
    the environment for subprocesses that should see it (its folder on PYTHONPATH, where
    importlib.metadata finds its entry points)."""
    if importlib.util.find_spec("pip") is None:
        pytest.skip("pip is not available in this environment, so tests/plugin_example cannot be installed")
    import shutil

    target = tmp_path_factory.mktemp("plugin-site")
    # Built from a copy: pip builds in the source folder and would leave build/ and egg-info there.
    source = tmp_path_factory.mktemp("plugin-source") / PLUGIN_DIR.name
    shutil.copytree(PLUGIN_DIR, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--target", str(target), str(source)], capture_output=True, text=True)
    assert proc.returncode == 0, f"pip install --target {target} {PLUGIN_DIR} failed:\n{proc.stdout}\n{proc.stderr}"
    path = os.pathsep.join(p for p in (str(target), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path}


def test_the_plugin_is_not_installed_into_this_environment(plugin_installed):
    assert _python("import robustsnn_plugin_example").returncode != 0
    assert _python("import robustsnn_plugin_example", env=plugin_installed).returncode == 0


def test_list_shows_the_plugin_with_its_distribution(plugin_installed):
    proc = _cli("list", "defenses", env=plugin_installed)
    assert proc.returncode == 0, proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith(PLUGIN))
    assert f"{DISTRIBUTION} 0.1.0" in line and "Strip punctuation" in line
    assert any(line.startswith("safer ") and "robustsnn (built-in)" in line for line in proc.stdout.splitlines())


def test_the_plugin_passes_the_contract(plugin_installed):
    proc = _python(f"from robustsnn.testing import check_defense; print(check_defense({PLUGIN!r}))",
                   env=plugin_installed)
    assert proc.returncode == 0, proc.stderr
    assert "rebuild" in proc.stdout


@pytest.mark.parametrize("kind, names", [
    ("models", ["textcnn", "snn", "snn-direct"]), ("recipes", ["pwws", "textfooler"]),
])
def test_list_models_and_recipes(kind, names):
    proc = _cli("list", kind)
    assert proc.returncode == 0, proc.stderr
    for name in names:
        assert any(line.startswith(name + " ") and "robustsnn (built-in)" in line
                   for line in proc.stdout.splitlines()), proc.stdout


def test_unknown_defense_is_one_line_listing_the_choices():
    proc = _cli("attack", "--model", "textcnn", "--recipe", "pwws", "--defense", "unknown")
    assert proc.returncode == 2
    assert proc.stderr.startswith("robustsnn: error: unknown defense 'unknown' (choices: ")
    assert "fgws" in proc.stderr and "safer" in proc.stderr and "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="session")
def session_runs(tmp_path_factory, counterfitted_cache) -> Path:
    """One ROBUSTSNN_RUNS for the session, with the session's counter-fitted vectors."""
    runs = tmp_path_factory.mktemp("plugin-runs")
    link_counterfitted(counterfitted_cache, runs)
    return runs


@pytest.mark.slow
def test_attack_cli_runs_the_plugin_defense_end_to_end(plugin_installed, session_runs, tmp_path):
    from attack_toys import require_textattack, shared_resources_dir

    require_textattack()
    from robustsnn.config import recipe_from_dict
    from robustsnn.train.ann import train

    data = make_tiny_dataset(tmp_path / "data")
    env = {**plugin_installed, "ROBUSTSNN_DATA": str(data), "ROBUSTSNN_RUNS": str(session_runs),
           "ROBUSTSNN_RESOURCES": str(shared_resources_dir()), "HF_HUB_OFFLINE": "1"}
    mp = pytest.MonkeyPatch()
    mp.setenv("ROBUSTSNN_DATA", str(data))
    try:
        recipe = recipe_from_dict(tiny_recipe_dict(train={"max_epochs": 3}))
        train(recipe, "textcnn", tmp_path / "textcnn", log=lambda _: None)
    finally:
        mp.undo()
    results = tmp_path / "results"
    proc = _cli("attack", "--model", "textcnn", "--defense", PLUGIN, "--recipe", "pwws",
                "--checkpoint", str(tmp_path / "textcnn" / "best.pt"), "--num-examples", "4",
                "--results", str(results), env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"defense {PLUGIN}) vs pwws" in proc.stdout and "N=4" in proc.stdout
    record = RunRecord.load(results / "adhoc" / f"sst2__textcnn__{PLUGIN}__pwws__none__shared-swap.json")
    assert record.complete and record.cell.defense == PLUGIN and record.metrics["n"] == 4
    assert record.model["defense"]["name"] == PLUGIN and record.model["model"] == "textcnn"
