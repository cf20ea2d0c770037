"""One registry idiom for models, defenses, attack recipes and sentence encoders.

Register by name (a duplicate name is an error), look up by name (an unknown name
lists the choices), list what is there and where each entry comes from. Third-party
packages add entries through ``importlib.metadata`` entry points in the registry's
group (e.g. ``robustsnn.defenses``); they are discovered lazily, on the first lookup
or listing, never at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Generic, Iterator, TypeVar

from .errors import UserError

T = TypeVar("T")

BUILTIN = "robustsnn (built-in)"


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    # Where the entry comes from: "robustsnn (built-in)" or "<distribution> <version>".
    source: str


class Registry(Generic[T]):
    """A name -> object table with entry-point discovery.

    ``builtins`` is an optional callable that registers the built-in entries; it runs
    on first use so that importing the module that defines the registry stays cheap.
    """

    def __init__(self, kind: str, group: str | None = None,
                 builtins: Callable[[Registry[T]], None] | None = None):
        self.kind = kind  # "model", "defense", ... (used in messages)
        self.group = group
        self._entries: dict[str, Entry[T]] = {}
        self._builtins = builtins
        self._discovered = False

    # -------------------------------------------------------------- registration

    def register(self, name: str, obj: T | None = None, *, source: str = BUILTIN):
        """``reg.register("x", obj)`` or, as a decorator, ``@reg.register("x")``."""
        if obj is None:
            def decorator(target: T) -> T:
                self._add(name, target, source)
                return target
            return decorator
        self._add(name, obj, source)
        return obj

    def _add(self, name: str, obj: T, source: str) -> None:
        if not isinstance(name, str) or not name.strip():
            raise UserError(f"{self.kind} names must be non-empty strings, got {name!r}")
        if name in self._entries:
            raise UserError(
                f"duplicate {self.kind} name '{name}' (from {source}; already registered by "
                f"{self._entries[name].source})"
            )
        self._entries[name] = Entry(name, obj, source)

    def unregister(self, name: str) -> None:
        """Remove an entry (for tests and interactive use)."""
        self._entries.pop(name, None)

    # -------------------------------------------------------------- discovery

    def _ensure_loaded(self) -> None:
        if self._builtins is not None:
            builtins, self._builtins = self._builtins, None
            builtins(self)
        if not self._discovered and self.group:
            self._discovered = True
            self._load_entry_points()

    def _load_entry_points(self) -> None:
        from importlib.metadata import entry_points

        for ep in entry_points(group=self.group):
            dist = getattr(ep, "dist", None)
            source = f"{dist.name} {dist.version}" if dist is not None else ep.value
            try:
                obj = ep.load()
            except Exception as exc:  # a broken plugin must not take the others down silently
                raise UserError(
                    f"{self.kind} plugin '{ep.name}' ({source}, {ep.value}) failed to load: "
                    f"{type(exc).__name__}: {exc}"
                ) from None
            self._add(ep.name, obj, source)

    # -------------------------------------------------------------- lookup

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def entry(self, name: str) -> Entry[T]:
        self._ensure_loaded()
        try:
            return self._entries[name]
        except KeyError:
            choices = ", ".join(sorted(self._entries)) or "none registered"
            raise UserError(f"unknown {self.kind} '{name}' (choices: {choices})") from None

    def names(self) -> list[str]:
        self._ensure_loaded()
        return sorted(self._entries)

    def entries(self) -> list[Entry[T]]:
        self._ensure_loaded()
        return [self._entries[n] for n in sorted(self._entries)]

    def __contains__(self, name: object) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
