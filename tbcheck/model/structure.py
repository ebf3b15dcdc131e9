"""Copy, fingerprint and merge world states made of numbers, plain values and containers.

A state's *control* (run state, host, a rule's bool flags, which snapshots exist, the shape of
its containers) is its key; its *data* (every ``Num``/``Bool``) are its leaves. The symbolic
engine merges states with equal keys by ``ite`` on their path conditions, so one rule-set
execution per control state and step serves every data value.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from tbcheck.model.domain import Bool, Num, any_, ite

PLAIN = (bool, int, str, float, type(None))


class StateShapeError(TypeError):
    """A rule kept something on ``self`` the engines cannot copy or merge."""


def _walk(obj: Any, leaf: Callable[[Any], Any]) -> Any:
    if isinstance(obj, (Num, Bool)):
        return leaf(obj)
    if isinstance(obj, PLAIN):
        return obj
    if isinstance(obj, list):
        return [_walk(x, leaf) for x in obj]
    if isinstance(obj, tuple):
        return tuple(_walk(x, leaf) for x in obj)
    if isinstance(obj, dict):
        return {k: _walk(v, leaf) for k, v in obj.items()}
    if hasattr(obj, "__dict__") and not callable(obj):
        new = copy.copy(obj)
        for k, v in vars(obj).items():
            if not k.startswith("__"):
                object.__setattr__(new, k, _walk(v, leaf))
        return new
    raise StateShapeError(
        f"state holds a {type(obj).__name__}; keep numbers (U64, S64 ...), bools, strings, "
        "None, lists, tuples and dicts of them")


def clone(obj: Any) -> Any:
    """A copy sharing the (immutable) numbers."""
    return _walk(obj, lambda x: x)


def key(obj: Any) -> Any:
    """The control part: everything but the numbers' values (their types are control)."""
    if isinstance(obj, (Num, Bool)):
        return type(obj).__name__
    if isinstance(obj, PLAIN):
        return obj
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, *map(key, obj))
    if isinstance(obj, dict):
        return ("dict", *((k, key(v)) for k, v in obj.items()))
    if hasattr(obj, "__dict__"):
        return (type(obj).__qualname__, *((k, key(v)) for k, v in vars(obj).items()))
    raise StateShapeError(f"state holds a {type(obj).__name__}")


def leaves(obj: Any) -> list[Any]:
    out: list[Any] = []
    _walk(obj, lambda x: out.append(x) or x)
    return out


def rebuild(obj: Any, new_leaves: Iterator[Any]) -> Any:
    return _walk(obj, lambda _x: next(new_leaves))


def merge(items: list[tuple[Bool, Any]]) -> tuple[Bool, Any]:
    """One state standing for several with the same key: each number that differs becomes an
    ``ite`` chain over the path conditions (which are disjoint)."""
    if len(items) == 1:
        return items[0]
    columns = list(zip(*(leaves(s) for _, s in items), strict=True))
    pcs = [pc for pc, _ in items]
    merged = []
    for col in columns:
        acc = col[-1]
        for pc, x in zip(reversed(pcs[:-1]), reversed(col[:-1]), strict=True):
            if x is acc or _same_value(x, acc):
                continue
            acc = ite(pc, x, acc)
        merged.append(acc)
    return any_(pcs), rebuild(items[0][1], iter(merged))


def _sym(x: Any) -> bool:
    return bool(getattr(x, "symbolic", False))


def _same_value(a: Any, b: Any) -> bool:
    """Equal values: the same int, or the same z3 term (z3 shares equal terms)."""
    if type(a) is not type(b):
        return False
    if _sym(a) and _sym(b):
        return a.v.eq(b.v)
    if _sym(a) or _sym(b):
        return False
    return a.v == b.v
