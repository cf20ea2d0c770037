"""`import robustsnn` must stay cheap and free of side effects."""

import json
import os
import subprocess
import sys

HEAVY = ["torch", "textattack", "tensorflow", "transformers", "snntorch", "nltk", "gensim",
         "pandas", "numpy", "jieba", "matplotlib"]


def _modules_after(code: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    probe = code + "; import sys, json; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_robustsnn_loads_no_heavy_library():
    loaded = set(_modules_after("import robustsnn"))
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_import_does_not_touch_environment():
    code = ("import os, json; before = dict(os.environ); import robustsnn, robustsnn.cli; "
            "print(json.dumps(before == dict(os.environ)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "true"


def test_cli_help_is_light():
    loaded = set(_modules_after("from robustsnn.cli import build_parser; build_parser()"))
    assert "torch" not in loaded and "textattack" not in loaded


def test_api_names_are_lazy():
    """The verbs are package attributes, yet `import robustsnn` does not import robustsnn.api,
    and resolving one (or importing robustsnn.api) imports no heavy library either."""
    loaded = set(_modules_after("import robustsnn; assert 'load_classifier' in dir(robustsnn)"))
    assert "robustsnn.api" not in loaded
    loaded = set(_modules_after("import robustsnn; robustsnn.load_classifier; robustsnn.run_attack; "
                                "robustsnn.run_campaign; robustsnn.table; robustsnn.textattack_wrapper; "
                                "robustsnn.nltk_offline; from robustsnn import load_classifier"))
    assert "robustsnn.api" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))
