"""An exact solver with its linear abstraction beside it: *unsat* from either is a proof.

The abstraction (``proofs.linearize``) answers the questions about bounds that grow with time
in milliseconds where the exact solver takes seconds or gives up: they need only a product's
bounds (``f * d <= fmax * d``) and the order of the divisions by 10**9 that follow it
(``proofs.floors``), both stated as linear facts. The abstraction never asserts a scoped fact:
its lemmas hold of the real products everywhere, and the facts of one question are passed with
it.
"""

from __future__ import annotations

import z3

from tbcheck.proofs.budget import MEGA, ask
from tbcheck.proofs.floors import order_facts
from tbcheck.proofs.linearize import Linearizer
from tbcheck.proofs.terms import free_names

SPREAD_UNITS = 20 * MEGA  # spreading one fact's products over its sums (a tactic)
NEAR_SHARE = 0.4  # of a hard question's budget, for the exact solver with the nearby facts
EXACT_SHARE = 0.5  # of the rest, for the exact solver with every fact, then the abstraction
ABSTRACT_FIRST_SHARE = 0.2  # of a question's budget, for the abstraction when it goes first


class Query:
    def __init__(self, base: list[z3.BoolRef]) -> None:
        self.exact = z3.Solver()
        self.exact.add(base)
        self.lin = Linearizer()
        self.abstract = z3.Solver()
        self.abstract.add(base)
        self._cache: dict[int, tuple[z3.BoolRef, z3.BoolRef | None]] = {}  # id: (term, abs)
        self._syms: dict[int, tuple[z3.ExprRef, frozenset[str]]] = {}

    def _fact(self, f: z3.BoolRef) -> z3.BoolRef | None:
        hit = self._cache.get(f.get_id())
        if hit is None:  # a fact's abstraction is built once, with one fixed budget
            hit = self._cache[f.get_id()] = (f, self.lin.abstract(f, SPREAD_UNITS))
        return hit[1]

    def check(self, facts: list[z3.BoolRef], goal: z3.BoolRef, units: int,
              abstract: bool = True, abstract_first: bool = False
              ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        """Is ``facts and goal`` satisfiable? Exact first (its models are real); then, with
        ``abstract`` and if it could not tell, the abstraction (which can only say unsat).
        With ``abstract_first``, the abstraction is asked before either, for a question whose
        hard part it is known to be."""
        if abstract_first and self.abstract_unsat(facts, goal,
                                                  int(units * ABSTRACT_FIRST_SHARE)):
            return z3.unsat, None
        if abstract:  # a hard single question: first with only the facts that share its unknowns
            near = self._near(facts, goal)
            if len(near) < len(facts) and scoped(self.exact, [*near, goal],
                                                  int(units * NEAR_SHARE))[0] == z3.unsat:
                return z3.unsat, None
        last = not abstract or abstract_first  # is the exact solver the last to be asked?
        r, m = scoped(self.exact, [*facts, goal], units if last else int(units * EXACT_SHARE))
        if r != z3.unknown or last:
            return r, m
        ok = self.abstract_unsat(facts, goal, int(units * (1 - EXACT_SHARE)))
        return (z3.unsat, None) if ok else (z3.unknown, None)

    def _near(self, facts: list[z3.BoolRef], goal: z3.BoolRef) -> list[z3.BoolRef]:
        """The facts that mention an unknown of ``goal`` or of the last fact (the step's
        condition): fewer facts make a weaker question, so its *unsat* still proves."""
        wanted = self._symbols(goal) | (self._symbols(facts[-1]) if facts else set())
        return [f for f in facts if self._symbols(f) & wanted]

    def _symbols(self, t: z3.ExprRef) -> frozenset[str]:
        hit = self._syms.get(t.get_id())
        if hit is None:
            hit = self._syms[t.get_id()] = (t, free_names(t))
        return hit[1]

    def abstract_unsat(self, facts: list[z3.BoolRef], goal: z3.BoolRef, units: int) -> bool:
        """Whether the abstraction shows ``facts and goal`` unsatisfiable within ``units``."""
        parts = [self._fact(f) for f in facts] + [self.lin.abstract(goal, SPREAD_UNITS)]
        if units <= 0 or any(p is None for p in parts):
            return False
        # the abstraction keeps the divisions by 10**9, and their order is again what the
        # integer engine is slow to see (qemu-ppc-v0's bounds: unknown at 10 s, 0.01 s with it)
        facts_of_floors = order_facts(z3.And(*parts))  # type: ignore[arg-type]
        return scoped(self.abstract, self.lin.lemmas + parts + facts_of_floors,
                      units)[0] == z3.unsat


def on_own(constraints: list[z3.BoolRef], term: z3.BoolRef, units: int
           ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
    """``term`` under ``constraints`` on a solver of its own, ``term`` as an assumption. For a
    hard nonlinear question this is several times faster than a shared incremental solver
    (seed-corrected monotonic, 60 checks of step 3: 26 s against 194 s; z3 4.15), whose state
    from earlier questions slows it; for many easy ones, building a solver each time costs
    more."""
    if units <= 0:
        return z3.unknown, None
    s = z3.Solver()
    s.add(constraints)
    return ask(s, units, term)


def scoped(s: z3.Solver, terms: list[z3.BoolRef], units: int
           ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
    """``terms`` added to the shared solver ``s`` for one question (pushed, then popped),
    within ``units`` resource units (unknown, unasked, when there are none)."""
    if units <= 0:
        return z3.unknown, None
    s.push()
    s.add(terms)
    r, m = ask(s, units)
    s.pop()
    if m is not None and not _satisfies(m, terms):
        # z3 can hand back from a pushed question a model that satisfies neither the question
        # nor the solver's constraints (seen on seed-units-fixed no-overflow once the step
        # alternatives grew): ask again on a solver of its own, whose models are whole
        fresh = z3.Solver()
        fresh.add(s.assertions())
        r, m = ask(fresh, units, *terms)
        if m is not None and not _satisfies(m, [*terms, *s.assertions()]):
            return z3.unknown, None
    return r, m


def _satisfies(m: z3.ModelRef, terms: list[z3.BoolRef]) -> bool:
    return all(z3.is_true(m.eval(t, model_completion=True)) for t in terms)
