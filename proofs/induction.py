"""Unbounded verdicts: a property that every transition of the invariant's states keeps.

With the invariant of ``proofs.houdini`` (it holds in every reachable state, at any depth), a
property is proved for all depths when no check of it can fail at boot or on any transition
from a state where the invariant holds. A failing transition is not a counterexample (its
state may be unreachable): the property then goes back to bounded model checking.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import z3

from model.api import RuleSet
from proofs.envelope import Envelope
from proofs.horizon import Horizon, horizon
from proofs.houdini import Generic, Invariant, checks_of, find
from proofs.query import Query
from proofs.searches import BUSY, RAN_OUT, Searches
from proofs.unroll import as_z3


@dataclass
class Outcome:
    proved: bool
    reason: str
    seconds: float = 0.0
    queries: int = 0
    facts: int = 0  # size of the invariant used
    busy: bool = False  # not tried: another worker is searching the invariant


@dataclass
class Inductor:
    """Finds the rule set's invariant on first use (once for all its properties)."""

    rules: type[RuleSet]
    env: Envelope
    budget_s: float
    query_s: float = 6.0
    horizon: Horizon | None = None
    invariant: Invariant | None = None
    tried: bool = False
    houdini_s: float = 0.0
    searches: Searches | None = None  # the run's other workers' searches, if shared
    shared: str = ""  # what the claim of the search said (proofs.searches)
    _queries: dict[int, Query] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Whether the invariant was searched for and found (an induction then costs little)."""
        return self.tried and self.invariant is not None

    def prove(self, prop: str, timeout_s: float) -> Outcome:
        t0 = time.perf_counter()
        if not self.tried:
            self.horizon = horizon(self.env, self.rules.offset_granularity)
            if self.horizon is not None:
                self.shared = self._claim()
                if self.shared == BUSY:  # untried: a later cell may search, or learn it ran out
                    return Outcome(False, "another worker is searching the invariant",
                                   busy=True)
                if self.shared != RAN_OUT:
                    hint = None if self.searches is None else self.searches.facts(self._what())
                    self.invariant = find(self.rules, self.env, self.horizon, self.budget_s,
                                          self.query_s, hint)
                    if self.searches is not None:
                        self.searches.finish(self._what(), None if self.invariant is None
                                             else self.invariant.holds)
            self.tried = True
            self.houdini_s = time.perf_counter() - t0
        inv = self.invariant
        if inv is None:
            why = ("the envelope leaves no room below 2**63 for a horizon"
                   if self.horizon is None else "no invariant within the budget" +
                   (" (another worker's search)" if self.shared == RAN_OUT else ""))
            return Outcome(False, why, time.perf_counter() - t0)
        deadline = time.perf_counter() + timeout_s
        out = Outcome(False, "", facts=inv.size())
        for g, tr, chk in checks_of(inv, prop):
            if z3.is_true(z3.simplify(as_z3(chk.ok))):
                continue
            q = self._query(inv, g)
            facts = ([] if g is None else inv.assume(g)) + [tr.cond]
            left = deadline - time.perf_counter()
            out.queries += 1
            r = z3.unknown if left <= 0 else q.check(facts, z3.Not(as_z3(chk.ok)),
                                                     min(self.query_s * 2, left))[0]
            if r != z3.unsat:
                out.reason = (f"{chk.what}: the induction step " +
                              ("fails" if r == z3.sat else "is undecided") +
                              " from a state the invariant allows")
                out.seconds = time.perf_counter() - t0
                return out
        out.proved = True
        assert self.horizon is not None
        out.reason = (f"induction: {inv.size()} invariant facts over {len(inv.holds)} control "
                      f"states; holds for {self.horizon.describe()}")
        out.seconds = time.perf_counter() - t0
        return out

    def await_search(self, poll_s: float) -> None:
        """Wait while another worker searches the invariant (at most this search's budget and
        a margin: z3 can overrun its timeouts)."""
        if self.searches is None:
            return
        until = time.perf_counter() + self.budget_s + 10.0
        while time.perf_counter() < until and self.searches.busy(self._what()):
            time.sleep(poll_s)

    def _claim(self) -> str:
        """Whether to search (see ``proofs.searches``); always, when not shared."""
        return "" if self.searches is None else self.searches.claim(self._what())

    def _what(self) -> str:
        r = self.rules
        return f"{r.__module__}.{r.__qualname__} {r.name} {self.env!r} {self.budget_s!r}"

    def _query(self, inv: Invariant, g: Generic | None) -> Query:
        k = -1 if g is None else g.index
        if k not in self._queries:
            self._queries[k] = Query(inv.sym.constraints + ([] if g is None else g.constraints))
        return self._queries[k]
