"""Atomic file writes: a killed run never leaves a half-written file behind."""

from __future__ import annotations

import errno
import functools
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

from .errors import describe_os_error


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    The file gets the mode a plain ``open()`` would give a new file (0o666 less the
    umask), and a filesystem error names ``path``, not the temporary file.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        # mkdir reports a *file* in the folder's place as "exists"; say what is wrong.
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(path.parent)) from None
    tmp: Path | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        tmp = Path(tmp_name)
        try:
            # mkstemp makes the file 0o600: results would be unreadable to the group
            # while the logs beside them are not. Best effort: some mounts (FAT, SMB)
            # refuse chmod, and a write should not fail over the mode.
            os.chmod(tmp, 0o666 & ~_umask())
        except OSError:
            pass
        finally:
            os.close(fd)
        write(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        named = _naming(exc, path)
        if named is None:
            raise
        raise named from exc
    finally:
        if tmp is not None and tmp.exists():
            tmp.unlink()


def _naming(exc: OSError, path: Path) -> OSError | None:
    """``exc`` again, naming ``path`` where it named nothing or the temporary file (a
    name the user never gave); None where it already names something else, or is no
    fault of the user's filesystem (those keep their traceback unchanged)."""
    if (type(exc).__module__ != "builtins" or exc.filename2 is not None
            or describe_os_error(exc) is None):
        return None
    name = None if exc.filename is None else Path(os.fsdecode(exc.filename))
    if name is not None and not (name.parent == path.parent and name.name.startswith(f".{path.name}.")
                                 and name.suffix == ".tmp"):
        return None
    # OSError(errno, ...) picks the matching subclass (PermissionError, ...) itself.
    return OSError(exc.errno, exc.strerror, str(path))


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return _umask_by_setting()


@functools.lru_cache(maxsize=1)
def _umask_by_setting() -> int:
    # os.umask can only be read by setting it, process-wide: another thread creating a
    # file in between would get the temporary value. So only once, and the strictest.
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The sha256 of a file: which checkpoint a result came from, wherever it lies."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
