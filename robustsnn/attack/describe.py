"""One-line descriptions of a built ``textattack.Attack``, for result records.

TextAttack's own ``repr`` of an attack is a multi-line tree; a record wants one
string per component (``Name(key=value, ...)`` from TextAttack's
``extra_repr_keys``) and the provenance of every offline resource inside it (each
has ``describe()``, see :mod:`robustsnn.resources.offline`).
"""

from __future__ import annotations

import importlib.metadata
from typing import Any, Iterator

_SIMPLE = (str, int, float, bool, type(None))


class NoModel:
    """Stands in for the victim when an attack is built only to be described: the
    goal function reads ``model`` at construction and queries it only when attacking.
    (Here, in a module that imports no other of attack/, so that the recipe registry and
    the builders can both name it without importing each other.)"""

    model = None

    def __call__(self, text_input_list: Any, **kwargs: Any) -> Any:
        raise RuntimeError("this attack was built for its parts (described, or its transformation used), not run")


def one_line(component: Any) -> str:
    """``Name(key=value, ...)``; object values are shown by their class name."""
    keys = component.extra_repr_keys() if hasattr(component, "extra_repr_keys") else []
    parts = []
    for key in keys:
        value = getattr(component, key, None)
        shown = value if isinstance(value, _SIMPLE) else type(value).__name__
        parts.append(f"{key}={shown}")
    return f"{type(component).__name__}({', '.join(parts)})"


def _transformations(transformation: Any) -> list[Any]:
    inner = getattr(transformation, "transformations", None)  # CompositeTransformation
    return list(inner) if inner is not None else [transformation]


def _resources(components: list[Any]) -> Iterator[Any]:
    """Components and the objects they hold (embedding, wrapped swap) that describe
    themselves; each once."""
    seen: set[int] = set()
    for component in components:
        for obj in (component, getattr(component, "embedding", None),
                    getattr(component, "inner", None)):
            if obj is not None and callable(getattr(obj, "describe", None)) and id(obj) not in seen:
                seen.add(id(obj))
                yield obj


def describe_components(attack: Any) -> dict[str, Any]:
    """The parts of ``attack`` as plain strings and lists."""
    from ..resources.textattack_import import import_textattack

    textattack = import_textattack()
    SentenceEncoder = textattack.constraints.semantics.sentence_encoders.SentenceEncoder
    WordEmbedding = textattack.shared.WordEmbedding

    transformations = _transformations(attack.transformation)
    constraints = list(attack.pre_transformation_constraints) + list(attack.constraints)
    described = list(_resources(transformations + constraints))
    goal = attack.goal_function
    budget = goal.query_budget
    return {
        "goal_function": type(goal).__name__,
        "query_budget": None if budget == float("inf") else int(budget),
        "search_method": one_line(attack.search_method),
        "transformations": [one_line(t) for t in transformations],
        "constraints": [one_line(c) for c in constraints],
        "embedding": _first(d.describe() for d in described if isinstance(d, WordEmbedding)),
        "sentence_encoder": _first(d.describe() for d in described if isinstance(d, SentenceEncoder)),
        "masked_lm": _first(d.describe() for d in described if hasattr(d, "masked_lm_source")),
        "resources": [d.describe() for d in described],
        "textattack": importlib.metadata.version("textattack"),
    }


def _first(values: Iterator[str]) -> str | None:
    return next(iter(values), None)
