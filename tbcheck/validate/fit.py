"""When did each uncertain action happen? A small linear program over the actions' instants.

Around a replay, each read's model value is (nearly) affine in the instants: a stop one
microsecond later freezes the TB that much later. Each read then asks that a sum of slopes times
shifts lie in an interval, and each instant stays in its window. Reads are taken in the order
they happened and kept while all kept so far can hold at once: the earliest reads decide the
timing, and a read that contradicts them is the one reported. Among the timings that satisfy
every kept read, the one with the most room on every side (relative to each read's tolerance)
is chosen, so that rounding in the real replay does not push a read over an edge.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from fractions import Fraction

import z3


@dataclass
class Constraint:
    """``lo <= sum(terms[k] * shift[k]) <= hi`` (shifts in ns, slopes in ticks per ns)."""

    terms: dict[Hashable, Fraction]
    lo: int
    hi: int

    def value(self, shift: dict[Hashable, Fraction]) -> Fraction:
        return sum((g * shift[k] for k, g in self.terms.items()), Fraction(0))


def _sum(c: Constraint, var: dict[Hashable, z3.ArithRef]) -> z3.ArithRef:
    return z3.Sum([z3.RealVal(g) * var[k] for k, g in c.terms.items()])


def _num(v: z3.ArithRef) -> Fraction:
    v = v.as_fraction() if z3.is_rational_value(v) else Fraction(v.as_decimal(12).rstrip("?"))
    return Fraction(v)


def solve(boxes: dict[Hashable, tuple[int, int]], constraints: list[Constraint]
          ) -> tuple[dict[Hashable, int], list[bool]]:
    """Shifts of the instants within ``boxes`` (each ``(lo, hi)`` around 0), and which of the
    ``constraints`` (in order of priority) they satisfy."""
    var = {k: z3.Real(f"d{i}") for i, k in enumerate(boxes)}
    box = [z3.And(var[k] >= lo, var[k] <= hi) for k, (lo, hi) in boxes.items()]
    s = z3.Solver()
    s.add(*box)
    point = {k: Fraction(0) for k in boxes}
    kept: list[bool] = []
    for c in constraints:
        if not c.terms:
            kept.append(c.lo <= 0 <= c.hi)
            continue
        cond = z3.And(_sum(c, var) >= c.lo, _sum(c, var) <= c.hi)
        if c.lo <= c.value(point) <= c.hi:
            ok = True
        elif s.check(cond) == z3.sat:
            m = s.model()
            point = {k: _num(m.eval(v, model_completion=True)) for k, v in var.items()}
            ok = True
        else:
            ok = False
        if ok:
            s.add(cond)
        kept.append(ok)
    return _centre(var, box, [c for c, k in zip(constraints, kept, strict=True) if k and c.terms],
                   point), kept


def _centre(var: dict[Hashable, z3.ArithRef], box: list[z3.BoolRef], kept: list[Constraint],
            point: dict[Hashable, Fraction]) -> dict[Hashable, int]:
    """The feasible shifts farthest, relative to each interval's half-width, from any edge."""
    t = z3.Real("room")
    opt = z3.Optimize()
    opt.add(*box, t >= 0, t <= 1)
    for c in kept:
        half = Fraction(c.hi - c.lo, 2)
        e = _sum(c, var)
        opt.add(e >= c.lo + t * z3.RealVal(half), e <= c.hi - t * z3.RealVal(half))
    opt.maximize(t)
    if opt.check() == z3.sat:
        m = opt.model()
        point = {k: _num(m.eval(v, model_completion=True)) for k, v in var.items()}
    return {k: round(v) for k, v in point.items()}
