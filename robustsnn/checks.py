"""Value checks shared by every settings dataclass and by :mod:`robustsnn.config`.

Each test is written once here: "is this an integer" (``True`` is not one), "is this
a number" (an integer is one, ``True`` is not), and the usual ranges. A failed check
raises :class:`UserError` ``"<name> must be <what>, got <value>"``, where ``name`` is
whatever the caller calls the value: a field (``"candidates"``), a field of a named
thing (``"safer copies"``) or a config key (``"config key 'threat.candidates'"``).

:mod:`robustsnn.config` checks the types of a file's values against the dataclass
annotations with :func:`require_int` and friends; ``__post_init__`` methods check
ranges with the ``require_*`` helpers below, which also refuse a wrong type, so a
dataclass built directly in Python is checked the same way.
"""

from __future__ import annotations

import datetime
from typing import Any, Iterable

from .errors import UserError


def is_int(value: Any) -> bool:
    """A Python ``int`` that is not a ``bool``."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An ``int`` or ``float`` that is not a ``bool``."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def shown(value: Any) -> str:
    """``value`` as an error message shows it (TOML dates and times by name)."""
    if isinstance(value, (datetime.date, datetime.time)):  # datetime is a date
        return f"a TOML date/time ({value.isoformat()})"
    return repr(value)


def fail(name: str, what: str, value: Any) -> UserError:
    return UserError(f"{name} must be {what}, got {shown(value)}")


# ------------------------------------------------------------------ types


def require_int(name: str, value: Any) -> int:
    if not is_int(value):
        raise fail(name, "an integer", value)
    return value


def require_number(name: str, value: Any) -> float:
    """A number, returned as a float (an integer is accepted)."""
    if not is_number(value):
        raise fail(name, "a number", value)
    return float(value)


def require_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise fail(name, "true or false", value)
    return value


def require_str(name: str, value: Any, what: str = "a string") -> str:
    if not isinstance(value, str):
        raise fail(name, what, value)
    return value


# ------------------------------------------------------------------ ranges


def require_positive_int(name: str, value: Any, note: str = "") -> int:
    if not is_int(value) or value < 1:
        raise fail(name, f"a positive integer{note}", value)
    return value


def require_nonnegative_int(name: str, value: Any, note: str = "") -> int:
    if not is_int(value) or value < 0:
        raise fail(name, f"a non-negative integer{note}", value)
    return value


def require_in_range(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
                     high_open: bool = False, note: str = "") -> float:
    """A number in ``[low, high]`` (``low_open``/``high_open`` exclude an end), as a float.
    NaN is in no range."""
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    number = require_number(name, value)
    above = number > low if low_open else number >= low
    below = number < high if high_open else number <= high
    if not (above and below):
        raise fail(name, f"in {interval}{note}", value)
    return number


def require_fraction(name: str, value: Any, *, low_open: bool = False, high_open: bool = False,
                     note: str = "") -> float:
    """A number in [0, 1] (ends excluded on request), as a float."""
    return require_in_range(name, value, 0.0, 1.0, low_open=low_open, high_open=high_open, note=note)


def require_choice(name: str, value: Any, choices: Iterable[Any]) -> Any:
    """One of ``choices``, of the same type (``True`` is not ``1``)."""
    choices = tuple(choices)
    if not any(type(value) is type(c) and value == c for c in choices):
        raise fail(name, f"one of {', '.join(map(str, choices))}", value)
    return value


def require_nonempty_str(name: str, value: Any, what: str = "a non-empty string") -> str:
    if not isinstance(value, str) or not value.strip():
        raise fail(name, what, value)
    return value
