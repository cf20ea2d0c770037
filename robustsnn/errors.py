"""The one exception type for mistakes a user can fix (bad names, paths, configs).

The CLI turns it into a one-line message and a non-zero exit, with no traceback, and
does the same for the filesystem faults :func:`describe_os_error` knows (read-only, full,
no permission, file and folder mixed up); anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import errno

_NO_SPACE = "free some space and run the same command again (runs resume where they stopped)"
_NOT_WRITABLE = "make it writable or choose another folder"
# errno -> (what is wrong, the fix). Only faults of the user's filesystem: any other
# errno is more likely a bug here and keeps its traceback.
_FILESYSTEM_FAULTS: dict[int, tuple[str | None, str]] = {
    errno.EROFS: ("read-only file system", "choose a writable --results/--out folder"),
    errno.EACCES: ("permission denied", _NOT_WRITABLE),
    errno.EPERM: ("operation not permitted", _NOT_WRITABLE),
    errno.ENOSPC: ("no space left on the device", _NO_SPACE),
    # These two fixes say what is wrong themselves.
    errno.ENOTDIR: (None, "a part of this path is a file, not a folder: choose another path"),
    errno.EISDIR: (None, "this is a folder; give a file path"),
}
if hasattr(errno, "EDQUOT"):  # not on every platform
    _FILESYSTEM_FAULTS[errno.EDQUOT] = ("disk quota exceeded", _NO_SPACE)


class UserError(Exception):
    """A problem in the user's input, files or environment, stated in one line."""


def describe_os_error(exc: OSError) -> str | None:
    """``<path>: <what is wrong>; <the fix>`` for a filesystem fault the user can fix
    (read-only, permissions, disk full, a file where a folder should be, or the
    reverse); None for any other error. In our own words: the system's text may be
    localised and says nothing about what to do."""
    fault = _FILESYSTEM_FAULTS.get(exc.errno) if isinstance(exc.errno, int) else None
    if fault is None:
        return None
    what, fix = fault
    text = fix if what is None else f"{what}; {fix}"
    # A rename names source and destination; the destination is the file the user asked for.
    path = exc.filename2 if exc.filename2 is not None else exc.filename
    if isinstance(path, bytes):
        path = path.decode(errors="replace")
    return text if path is None else f"{path}: {text}"
