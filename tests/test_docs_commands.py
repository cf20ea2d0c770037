"""Every `robustsnn ...` command line in the README and in docs/**/*.md parses with the
CLI's own argument parser (robustsnn.cli.build_parser), so a renamed command or flag
cannot leave the documentation behind.

Only shell code blocks are read (```bash / ```sh / ```shell); a line continued with a
backslash is joined to the next, comments are dropped, and leading environment
assignments (``OMP_NUM_THREADS=1 robustsnn ...``) and a trailing ``&`` are ignored.
Commands written as a template rather than as a command are skipped, and named by
test_the_skipped_commands_are_few: those with a ``<placeholder>``, a ``...``, or an
optional part in ``[brackets]`` (the usage-line style, e.g. ``[--draws 5]``).
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from robustsnn.cli import build_parser

ROOT = Path(__file__).parents[1]
SHELL_BLOCK = re.compile(r"^```(?:bash|sh|shell|console)\n(.*?)^```$", flags=re.M | re.S)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S*$")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def commands(path: Path) -> list[tuple[str, list[str]]]:
    """(where, argv after `robustsnn`) for each command line in the shell blocks of `path`."""
    text = path.read_text(encoding="utf-8")
    found = []
    for block in SHELL_BLOCK.finditer(text):
        first_line = text.count("\n", 0, block.start()) + 2
        lines = block.group(1).splitlines()
        joined: list[tuple[int, str]] = []
        pending = None
        for offset, line in enumerate(lines):
            if pending is not None:
                pending = (pending[0], pending[1] + " " + line.strip())
            else:
                pending = (first_line + offset, line.strip())
            if pending[1].endswith("\\"):
                pending = (pending[0], pending[1][:-1])
                continue
            joined.append(pending)
            pending = None
        for lineno, line in joined:
            words = shlex.split(line, comments=True)
            while words and ASSIGNMENT.match(words[0]):
                words = words[1:]
            if words and words[-1] == "&":
                words = words[:-1]
            if words[:1] == ["robustsnn"]:
                found.append((f"{path.relative_to(ROOT)}:{lineno}", words[1:]))
    return found


def is_template(argv: list[str]) -> bool:
    return any("<" in word or "..." in word or word.startswith("[") for word in argv)


ALL = [(where, argv) for path in documents() for where, argv in commands(path)]
TEMPLATES = [(where, argv) for where, argv in ALL if is_template(argv)]
CHECKED = [(where, argv) for where, argv in ALL if not is_template(argv)]


def test_the_documents_have_commands():
    assert len(CHECKED) >= 40
    assert {where.split(":")[0] for where, _ in CHECKED} >= {"README.md", "docs/attacks.md",
                                                            "docs/evaluation.md"}


def test_the_skipped_commands_are_few():
    # The visible list: a template per line, printed with -rA / on failure.
    for where, argv in TEMPLATES:
        print("skipped (template):", where, "robustsnn", " ".join(argv))
    assert len(TEMPLATES) <= 6, TEMPLATES


@pytest.mark.parametrize("argv", [argv for _, argv in CHECKED], ids=[where for where, _ in CHECKED])
def test_command_parses(argv, capsys):
    parser = build_parser()
    try:
        parser.parse_args(argv)
    except SystemExit as exit:  # argparse's way of rejecting a command line
        pytest.fail(f"robustsnn {' '.join(argv)}: exit {exit.code}\n{capsys.readouterr().err}")
