"""Bounds of a z3 integer term from its variables' ranges, after cancelling what cancels.

The number domain's own bounds come from interval arithmetic, which cannot see that
``realtime_now - realtime_then`` loses the clocks' large common offset; simplifying the term to
a sum of monomials first lets ``base`` cancel, so a wrap that cannot happen costs no ``mod``.
"""

from __future__ import annotations

import z3

#: every symbolic variable's range, registered by ``model.domain.fresh``
VAR_BOUNDS: dict[str, tuple[int, int]] = {}


def term_interval(t: z3.ExprRef, memo: dict[int, tuple[int, int] | None] | None = None
                  ) -> tuple[int, int] | None:
    """Sound bounds of ``t`` (None when some part is unknown)."""
    memo = {} if memo is None else memo
    key = t.get_id()
    if key not in memo:
        memo[key] = _interval(t, memo)
    return memo[key]


def _interval(t: z3.ExprRef, memo: dict[int, tuple[int, int] | None]) -> tuple[int, int] | None:
    if z3.is_int_value(t):
        n = t.as_long()
        return n, n
    if not z3.is_app(t):
        return None
    if t.num_args() == 0:
        return VAR_BOUNDS.get(t.decl().name())
    k = t.decl().kind()
    if k == z3.Z3_OP_ITE:
        a, b = term_interval(t.arg(1), memo), term_interval(t.arg(2), memo)
        return None if a is None or b is None else (min(a[0], b[0]), max(a[1], b[1]))
    parts = [term_interval(a, memo) for a in t.children()]
    if any(p is None for p in parts):
        return None
    if k == z3.Z3_OP_ADD:
        return sum(p[0] for p in parts), sum(p[1] for p in parts)  # type: ignore[index]
    if k == z3.Z3_OP_SUB:
        lo, hi = parts[0]  # type: ignore[misc]
        for a, b in parts[1:]:  # type: ignore[misc]
            lo, hi = lo - b, hi - a
        return lo, hi
    if k == z3.Z3_OP_UMINUS:
        a, b = parts[0]  # type: ignore[misc]
        return -b, -a
    if k == z3.Z3_OP_MUL:
        lo, hi = parts[0]  # type: ignore[misc]
        for a, b in parts[1:]:  # type: ignore[misc]
            c = (lo * a, lo * b, hi * a, hi * b)
            lo, hi = min(c), max(c)
        return lo, hi
    if k == z3.Z3_OP_IDIV and len(parts) == 2:
        (a, b), (c, d) = parts  # type: ignore[misc]
        if c > 0:  # z3's integer division floors for a positive divisor
            return min(a // c, a // d), max(b // c, b // d)
    if k == z3.Z3_OP_MOD and len(parts) == 2:
        (_, _), (c, d) = parts  # type: ignore[misc]
        if c > 0:
            return 0, d - 1
    return None


# keyed by z3 AST ids; the terms are kept alive with their entries, so an id is never reused
_TIGHT: dict[int, tuple[z3.ExprRef, tuple[int, int] | None]] = {}
_MEMO: dict[int, tuple[int, int] | None] = {}
_ALIVE: list[z3.ExprRef] = []


def tightened(v: z3.ExprRef, lo: int, hi: int) -> tuple[int, int]:
    """``lo..hi`` narrowed by the bounds of ``v`` once simplified (like terms cancel)."""
    key = v.get_id()
    if key not in _TIGHT:
        if len(_TIGHT) > 200_000:  # a long session: start afresh rather than grow forever
            _TIGHT.clear()
            _MEMO.clear()
            _ALIVE.clear()
        simple = z3.simplify(v, som=True)
        _ALIVE.append(simple)
        _TIGHT[key] = (v, term_interval(simple, _MEMO))
    iv = _TIGHT[key][1]
    if iv is None:
        return lo, hi
    return max(lo, iv[0]), min(hi, iv[1])
