"""A sound linear abstraction of a query, for the induction questions the exact solver cannot
tell.

Every product of two unknowns (``freq * duration``) and every division by an unknown is
replaced by a fresh variable, constrained only by facts that hold for the real product: its
interval and McCormick's four linear envelopes. Any real model is a model of the abstraction,
so *unsat* here proves the exact query unsat; *sat* proves nothing, and the exact (nonlinear)
query is asked next. Products are first spread over sums (``f*(d1+d2) = f*d1 + f*d2``), so that
``f*d >= 0`` for each duration is enough to show a host counter never runs backwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

from tbcheck.model.intervals import term_interval
from tbcheck.proofs.budget import tactic_steps


@dataclass
class Linearizer:
    lemmas: list[z3.BoolRef] = field(default_factory=list)
    _memo: dict[int, z3.ExprRef] = field(default_factory=dict)
    _products: dict[tuple[int, ...], z3.ExprRef] = field(default_factory=dict)
    _intervals: dict[int, tuple[int, int] | None] = field(default_factory=dict)
    _by_factor: dict[int, list[tuple[z3.ExprRef, z3.ExprRef]]] = field(default_factory=dict)
    # the memos are keyed by z3 AST ids: keep those terms alive so no id is ever reused
    _alive: list[z3.ExprRef] = field(default_factory=list)
    _count: int = 0

    def abstract(self, term: z3.BoolRef, units: int = 20_000_000) -> z3.BoolRef | None:
        """The abstraction of ``term``, or None if spreading products takes more than
        ``units`` (counted in rewriting steps, never in seconds: ``proofs.budget``)."""
        goal = z3.Goal()
        goal.add(term)
        try:
            spread = z3.With("simplify", som=True, push_ite_arith=True,
                             max_steps=tactic_steps(units))
            result = spread(goal)
        except z3.Z3Exception:
            return None
        t = result[0].as_expr() if len(result) == 1 else z3.Or([g.as_expr() for g in result])
        self._alive.append(t)
        pairs: list[tuple[z3.ExprRef, z3.ExprRef]] = []
        self._collect(t, pairs, set())
        return z3.substitute(t, *pairs) if pairs else t  # type: ignore[return-value]

    # ----------------------------------------------------------------- traversal
    def _collect(self, t: z3.ExprRef, pairs: list[tuple[z3.ExprRef, z3.ExprRef]],
                 seen: set[int]) -> None:
        """Find the nonlinear subterms (outermost first) and give each its stand-in."""
        key = t.get_id()
        if key in seen or not z3.is_app(t) or t.num_args() == 0:
            return
        seen.add(key)
        k = t.decl().kind()
        args = t.children()
        if k == z3.Z3_OP_MUL:
            unknown = [a for a in args if not z3.is_int_value(a)]
            if len(unknown) >= 2:
                c = 1
                for a in args:
                    if z3.is_int_value(a):
                        c *= a.as_long()
                v = self._product(unknown)
                pairs.append((t, v if c == 1 else z3.IntVal(c) * v))
                return
        if k in (z3.Z3_OP_IDIV, z3.Z3_OP_MOD, z3.Z3_OP_REM) and not z3.is_int_value(args[1]):
            v = self._memo.get(key)
            if v is None:
                v = self._memo[key] = self._fresh(self._interval(t))
            pairs.append((t, v))
            return
        for a in args:
            self._collect(a, pairs, seen)

    # ----------------------------------------------------------------- abstraction
    def _product(self, factors: list[z3.ExprRef]) -> z3.ExprRef:
        key = tuple(sorted(f.get_id() for f in factors))
        cached = self._products.get(key)
        if cached is not None:
            return cached
        ivs = [self._interval(f) for f in factors]
        iv: tuple[int, int] | None = None
        if all(i is not None for i in ivs):
            lo, hi = ivs[0]  # type: ignore[misc]
            for a, b in ivs[1:]:  # type: ignore[misc]
                c = (lo * a, lo * b, hi * a, hi * b)
                lo, hi = min(c), max(c)
            iv = (lo, hi)
        v = self._fresh(iv)
        if len(factors) == 2 and all(i is not None for i in ivs):
            (x, (xl, xh)), (y, (yl, yh)) = zip(factors, ivs, strict=True)
            self.lemmas += [v >= xl * y + x * yl - xl * yl, v >= xh * y + x * yh - xh * yh,
                            v <= xh * y + x * yl - xh * yl, v <= xl * y + x * yh - xl * yh]
        if len(factors) == 2:  # congruence: a == b implies a*c == b*c (one frequency for two)
            for i, c in enumerate(factors):
                other = factors[1 - i]
                for b, w in self._by_factor.get(c.get_id(), []):
                    self.lemmas.append(z3.Implies(other == b, v == w))
                self._by_factor.setdefault(c.get_id(), []).append((other, v))
        self._products[key] = v
        return v

    def _fresh(self, iv: tuple[int, int] | None) -> z3.ExprRef:
        self._count += 1
        v = z3.Int(f"__lin{self._count}")
        if iv is not None:
            self.lemmas.append(z3.And(v >= iv[0], v <= iv[1]))
        return v

    def _interval(self, t: z3.ExprRef) -> tuple[int, int] | None:
        """Bounds of a term over the base variables (None when unknown): the domain's own
        interval evaluation (``model.intervals``), memoised for this abstraction."""
        return term_interval(t, self._intervals)
