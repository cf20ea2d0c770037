"""The Unicode confusables table TextBugger's homoglyph swap reads (no TextAttack here)."""

from __future__ import annotations

from pathlib import Path


def read_homoglyph_table(path: Path) -> dict[str, list[str]]:
    """Unicode UTS #39 ``intentional.txt``: ``SRC ; TGT # comment`` lines of hex code
    points -> {source char: [target chars]}, in file order (TextAttack's layout)."""
    table: dict[str, list[str]] = {}
    with open(path, encoding="utf-8-sig") as handle:
        for line in handle:
            data = line.split("#", 1)[0].strip()
            if not data:
                continue
            fields = [f.strip() for f in data.split(";")]
            if len(fields) < 2 or not fields[0] or not fields[1]:
                continue
            try:
                source = "".join(chr(int(cp, 16)) for cp in fields[0].split())
                target = "".join(chr(int(cp, 16)) for cp in fields[1].split())
            except ValueError:
                continue
            table.setdefault(source, []).append(target)
    return table
