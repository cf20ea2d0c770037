"""Finding run records: every ``*.json`` with a ``cell`` and a ``log`` under result folders.

One reader for everything that aggregates runs (Table 2, the adaptive tables), so they
agree on what counts as a run and on its errors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..errors import UserError


def find_records(results: Path | Sequence[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """``(path, record)`` for every run record under ``results`` (one folder or several,
    each searched recursively; a record reached twice counts once), in path order."""
    folders = [Path(results)] if isinstance(results, (str, Path)) else [Path(f) for f in results]
    for folder in folders:
        if not folder.is_dir():
            raise UserError(f"no attack results under {folder} (run `robustsnn attack` or `robustsnn campaign`)")
    found = []
    for path in sorted({p.resolve() for folder in folders for p in folder.rglob("*.json")}):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise UserError(f"{path} is not a readable run record") from None
        if isinstance(record, dict) and "cell" in record and "log" in record:
            found.append((path, record))
    if not found:
        raise UserError(f"no run records under {', '.join(map(str, folders))}")
    return found
