"""Unbounded verdicts: a property that every transition of the invariant's states keeps.

With the invariant of ``proofs.houdini`` (it holds in every reachable state, at any depth), a
property is proved for all depths when no check of it can fail at boot or on any transition
from a state where the invariant holds. A failing transition is not a counterexample (its
state may be unreachable): the property then goes back to bounded model checking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from tbcheck.model.api import RuleSet
from tbcheck.proofs.budget import MEGA, Budget
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.horizon import Horizon, horizon
from tbcheck.proofs.houdini import QUERY, Generic, Invariant, checks_of, find
from tbcheck.proofs.query import Query
from tbcheck.proofs.unroll import as_z3

SEARCH = 20 * MEGA  # the invariant search's default budget, in z3 resource units

#: the facts of a rule set's invariant by control key, as ``search`` returns them
Facts = dict[Any, list[Any]]


@dataclass
class Outcome:
    proved: bool
    reason: str
    queries: int = 0
    facts: int = 0  # size of the invariant used


def search(rules: type[RuleSet], env: Envelope, units: int) -> Facts | None:
    """The rule set's invariant facts (Houdini's fixpoint within ``units``), or None: what a
    run's one search of a rule set hands to its cells (``tbcheck.workers``)."""
    hz = horizon(env, rules.offset_granularity)
    inv = None if hz is None else find(rules, env, hz, units)
    return None if inv is None else inv.holds


@dataclass
class Inductor:
    """Finds the rule set's invariant on first use (once for all its properties): searched
    here, or, with ``source``, taken from the run's one search of it (the same search in a
    process of its own, so that every cell gets the same facts whichever asked first)."""

    rules: type[RuleSet]
    env: Envelope
    units: int = SEARCH
    query: int = QUERY
    source: Callable[[], Facts | None] | None = None
    horizon: Horizon | None = None
    invariant: Invariant | None = None
    tried: bool = False
    _queries: dict[int, Query] = field(default_factory=dict)

    def prove(self, prop: str, units: int) -> Outcome:
        """Whether ``prop`` holds at boot and after every transition from a state where the
        invariant holds, within ``units`` for the induction's own questions."""
        if not self.tried:
            self.horizon = horizon(self.env, self.rules.offset_granularity)
            if self.horizon is not None:
                if self.source is None:
                    self.invariant = find(self.rules, self.env, self.horizon, self.units,
                                          self.query)
                else:
                    facts = self.source()
                    self.invariant = None if facts is None else find(
                        self.rules, self.env, self.horizon, self.units, self.query, facts,
                        trusted=True)
            self.tried = True
        inv = self.invariant
        if inv is None:
            return Outcome(False, "the envelope leaves no room below 2**63 for a horizon"
                           if self.horizon is None else "no invariant within the budget")
        budget = Budget(units)
        out = Outcome(False, "", facts=inv.size())
        for g, tr, chk in checks_of(inv, prop):
            if z3.is_true(z3.simplify(as_z3(chk.ok))):
                continue
            q = self._query(inv, g)
            facts = ([] if g is None else inv.assume(g)) + [tr.cond]
            out.queries += 1
            r = q.check(facts, z3.Not(as_z3(chk.ok)), budget.share(self.query * 2))[0]
            if r != z3.unsat:
                out.reason = (f"{chk.what}: the induction step " +
                              ("fails" if r == z3.sat else "is undecided") +
                              " from a state the invariant allows")
                return out
        out.proved = True
        assert self.horizon is not None
        out.reason = (f"induction: {inv.size()} invariant facts over {len(inv.holds)} control "
                      f"states; holds for {self.horizon.describe()}")
        return out

    def _query(self, inv: Invariant, g: Generic | None) -> Query:
        k = -1 if g is None else g.index
        if k not in self._queries:
            self._queries[k] = Query(inv.sym.constraints + ([] if g is None else g.constraints))
        return self._queries[k]
