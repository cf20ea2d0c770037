"""The registry idiom: duplicates refused, unknown names list the choices, plugins found."""

from types import SimpleNamespace

import pytest

from robustsnn.errors import UserError
from robustsnn.registry import BUILTIN, Registry


def test_register_get_and_list():
    reg: Registry[int] = Registry("widget")
    reg.register("b", 2)

    @reg.register("a")
    def build_a():
        return 1

    assert reg.get("b") == 2 and reg.get("a") is build_a
    assert reg.names() == ["a", "b"] and "a" in reg
    assert reg.entry("a").source == BUILTIN


def test_duplicate_name_is_an_error():
    reg: Registry[int] = Registry("widget")
    reg.register("x", 1)
    with pytest.raises(UserError, match="duplicate widget name 'x'"):
        reg.register("x", 2)


def test_unknown_name_lists_choices():
    reg: Registry[int] = Registry("widget")
    reg.register("alpha", 1)
    reg.register("beta", 2)
    with pytest.raises(UserError, match=r"unknown widget 'gamma' \(choices: alpha, beta\)"):
        reg.get("gamma")


def test_builtins_are_registered_lazily():
    calls = []

    def builtins(reg):
        calls.append(1)
        reg.register("core", 0)

    reg: Registry[int] = Registry("widget", builtins=builtins)
    assert calls == []
    assert reg.names() == ["core"] and reg.names() == ["core"]
    assert calls == [1]


class _FakeEP(SimpleNamespace):
    def load(self):
        if self.value == "broken:thing":
            raise ImportError("no module named broken")
        return f"loaded {self.value}"


def _fake_entry_points(eps):
    def entry_points(group):
        return [ep for ep in eps if ep.group == group]
    return entry_points


def test_entry_points_are_discovered_with_their_source(monkeypatch):
    dist = SimpleNamespace(name="my-plugin", version="1.2")
    eps = [_FakeEP(name="shield", value="plug:shield", group="robustsnn.widgets", dist=dist),
           _FakeEP(name="other", value="plug:other", group="elsewhere", dist=dist)]
    monkeypatch.setattr("importlib.metadata.entry_points", _fake_entry_points(eps))
    reg: Registry[str] = Registry("widget", group="robustsnn.widgets")
    assert reg.get("shield") == "loaded plug:shield"
    assert reg.entry("shield").source == "my-plugin 1.2"
    assert reg.names() == ["shield"]


def test_plugin_clashing_with_builtin_is_an_error(monkeypatch):
    dist = SimpleNamespace(name="evil", version="0.1")
    eps = [_FakeEP(name="core", value="evil:core", group="g", dist=dist)]
    monkeypatch.setattr("importlib.metadata.entry_points", _fake_entry_points(eps))
    reg: Registry[str] = Registry("widget", group="g", builtins=lambda r: r.register("core", "x"))
    with pytest.raises(UserError, match="duplicate widget name 'core' .*evil 0.1"):
        reg.names()


def test_broken_plugin_is_a_clear_error(monkeypatch):
    dist = SimpleNamespace(name="broken-dist", version="0")
    eps = [_FakeEP(name="bad", value="broken:thing", group="g", dist=dist)]
    monkeypatch.setattr("importlib.metadata.entry_points", _fake_entry_points(eps))
    reg: Registry[str] = Registry("widget", group="g")
    with pytest.raises(UserError, match="plugin 'bad' .*failed to load: ImportError"):
        reg.get("bad")
