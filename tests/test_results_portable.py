"""Committed results name files relative to $ROBUSTSNN_RUNS / $ROBUSTSNN_RESOURCES (with a
digest where it matters), never by one machine's absolute path."""

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parents[1] / "results"
# An absolute path into a home, temp, work or mount folder, wherever it appears in a cell.
ABSOLUTE = re.compile(r"(?<![\w$.])/(?:work|tmp|home|root|Users|mnt|var|opt|srv|data)/[\w.-]")


def test_no_committed_result_holds_an_absolute_path():
    offenders = []
    for path in sorted(RESULTS.rglob("*")):
        if path.is_file() and path.suffix in {".csv", ".json", ".md"}:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if ABSOLUTE.search(line):
                    offenders.append(f"{path.relative_to(RESULTS)}:{number}")
    assert not offenders, f"absolute paths in results: {offenders[:10]} ({len(offenders)} lines)"


def test_the_pattern_finds_what_it_should():
    assert ABSOLUTE.search('"checkpoint": "/work/main/runs/sst2/textcnn/best.pt"')
    assert ABSOLUTE.search("skipped /tmp/x/best.pt: its run")
    assert not ABSOLUTE.search('"checkpoint": "sst2/textcnn/best.pt"')
    assert not ABSOLUTE.search("$ROBUSTSNN_RESOURCES/homoglyphs/intentional_homoglyphs.txt")
