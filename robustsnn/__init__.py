"""robustsnn: adversarial robustness of spiking text classifiers, measured honestly.

Importing this package is cheap and has no side effects: torch, textattack and
friends are imported inside the functions that need them.

The Python API (:mod:`robustsnn.api`) is exported here lazily - ``robustsnn.load_classifier``
imports :mod:`robustsnn.api` on first use: ``load_classifier``, ``textattack_wrapper``,
``nltk_offline``, ``run_attack`` (``robustsnn attack``; ``robustsnn.attack`` is the
subpackage), ``sweep_attack`` (``robustsnn sweep-attack``), ``run_campaign``, ``transfer``,
``table``, ``worst_case_table`` and ``benchmark`` (``robustsnn benchmark``: the standard
adaptive evaluation of one model, after RobustBench's ``benchmark()``).
``__version__`` is read from the installed metadata on first access too.
"""


def _installed_version() -> str:
    """pyproject.toml's version, as installed (importlib.metadata: ~25 ms, no heavy imports)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("robustsnn")
    except PackageNotFoundError:  # a source tree on sys.path, never installed
        return "0+unknown"


# Names resolved from robustsnn.api on first access (PEP 562), so `import robustsnn` stays cheap.
_API = ("load_classifier", "textattack_wrapper", "nltk_offline", "run_attack", "sweep_attack", "run_campaign",
        "transfer", "table", "worst_case_table", "benchmark")

__all__ = ["__version__", *_API]


def __getattr__(name: str) -> object:
    if name == "__version__":  # importlib.metadata costs ~25 ms: only when asked
        return _installed_version()
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), "__version__", *_API})
