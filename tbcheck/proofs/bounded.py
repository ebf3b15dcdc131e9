"""The bounded passes: the solver's search for a counterexample, then the bounded proof.

Both go step by step over the unrolling: first the checks the world makes at step 0 (boot),
then at step 1, ... (a shallow counterexample is found before the deep ones are even posed),
and the checks of step k are those of a depth-k unrolling, so a proof that stalls at step k
still proves depth k-1. They draw from one budget of z3 resource units (the cell's
``rlimit``); once they have spent ``induce_after`` of it without a verdict, or the proof
stalls, they pause once for the induction (``Cell.induce``), whose proof for every depth ends
them, and whose spending does not count against their budget.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import z3

from tbcheck.proofs.budget import Budget
from tbcheck.proofs.cases import by_cases
from tbcheck.proofs.floors import with_order_facts
from tbcheck.proofs.passes import Cell
from tbcheck.proofs.query import scoped
from tbcheck.proofs.unroll import Site, Unrolling
from tbcheck.proofs.verdict import Verdict, refuted

QUICK = 100_000  # first, brief try of each exact query
SEARCH_Q = 600_000  # the search pass's budget for one step's query, per solver
SEARCH_SHARE = 0.3  # the search pass's part of a cell's budget: the proof pass gets the rest
SEARCH_EXACT_UPTO = 3  # deeper steps are searched with the linear probe only (z3's nonlinear
# engine does not always stop at its timeout on the big disjunctions of deep steps)
PROBE_HZ = 512_000_000
PACE_AFTER = 16  # checks of a step decided before its pace may declare the step out of reach
PACE_MARGIN = 8.0  # ... when the rest would need this many times the time left


def search(cell: Cell) -> Verdict | None:
    """Pass: one query a step (is any check of that step violated?), first with one frequency
    for all hosts (linear, fast), then exact up to ``SEARCH_EXACT_UPTO``; a model of either
    is a real counterexample, so its replay must show the violation. A step the exact query
    proves is left out of the bounded proof."""
    cell.budget = Budget(cell.options.rlimit)  # the bounded passes', from here
    probe = probe_solver(cell.u)
    share = Budget(int(cell.options.rlimit * SEARCH_SHARE))
    for k in range(cell.u.env.depth + 1):
        for sol in (probe,) if k > SEARCH_EXACT_UPTO else (probe, cell.solver):
            if cell.pause_due():
                cell.induce()
            terms = [s.violated for s in cell.sites if s.step == k]
            if not terms:
                break
            r, model = _ask(sol, z3.Or(terms), min(share.share(SEARCH_Q), cell.room()))
            cell.verdict.queries += 1
            if model is not None:
                return refuted(cell.u, cell.verdict, model, k)
            if r == z3.unsat and sol is cell.solver:
                cell.settled.add(k)
    return None


def bounded_proof(cell: Cell) -> Verdict | None:
    """Pass: each check on its own, briefly on the shared solver, then by cases with the rest
    of the budget (a fresh solver a case). Hands on a proof, or the step where it stalled."""
    assert cell.budget is not None, "the search opens the bounded passes' budget"
    proof = _Proof(cell.u, cell.solver, [s for s in cell.sites if s.step not in cell.settled],
                   cell.budget)
    status = proof.run(cell)
    if status in (_Status.PAUSED, _Status.STALLED) and cell.inductor is not None and (
            cell.induce()):
        status = _Status.DONE  # proved for every depth
    elif status == _Status.PAUSED:  # the induction did not close: the proof goes on
        status = proof.run(cell)
    cell.verdict.queries += proof.queries
    if proof.model is not None:
        return refuted(cell.u, cell.verdict, proof.model, proof.k)
    if status == _Status.STALLED:
        cell.stalled = proof.k
    return None


def probe_solver(u: Unrolling) -> z3.Solver:
    """The search's linear solver (and ``proofs.equivalence``'s): every host at one frequency
    (within the envelope)."""
    probe = z3.Solver()
    probe.add(u.sym.constraints)
    f_probe = min(max(u.env.fmin_hz, PROBE_HZ), u.env.fmax_hz)
    probe.add([h.freq.v == f_probe for h in u.sym.params.hosts if h.freq.symbolic])
    return probe


class _Status(Enum):
    DONE = "done"
    PAUSED = "paused"
    STALLED = "stalled"
    VIOLATED = "violated"


@dataclass
class _Proof:
    """The bounded proof, step by step and check by check, able to stop for the induction's
    pause and resume where it was."""

    u: Unrolling
    solver: z3.Solver
    sites: list[Site]  # the checks left to prove
    budget: Budget
    k: int = 0  # the step being proved
    i: int = 0  # its next check
    step_began: int = 0  # the budget's spending when step k began
    facts_first: bool = False  # whether the last check was decided with its order facts
    queries: int = 0
    model: z3.ModelRef | None = None  # a counterexample, at step k

    def run(self, cell: Cell) -> _Status:
        """Go on until done, a counterexample, a stall (budget, or a pace that cannot finish)
        or the pause, whichever first. A question cut short by the pause is asked again after
        it, with what is left."""
        if self.k == 0 and self.i == 0:
            self.step_began = self.budget.spent
        while self.k <= self.u.env.depth:
            todo = [s for s in self.sites if s.step == self.k]
            while self.i < len(todo):
                if cell.pause_due():
                    return _Status.PAUSED
                left = self.budget.left
                if left <= 0 or _hopeless(self.i, len(todo),
                                          self.budget.spent - self.step_began, left):
                    return _Status.STALLED
                self.queries += 1
                room = Budget(cell.room())
                r, self.model, self.facts_first = _quick(
                    self.solver, todo[self.i].violated, room, self.facts_first)
                if r == z3.unknown:
                    r, self.model = by_cases(self.u.sym.constraints, todo[self.i].violated,
                                             [sv.choice for sv in self.u.sym.steps[:self.k]],
                                             room, self.facts_first)
                if self.model is not None:
                    return _Status.VIOLATED
                if r == z3.unknown:
                    return _Status.PAUSED if cell.pause_due() else _Status.STALLED
                self.i += 1
            self.k, self.i, self.step_began = self.k + 1, 0, self.budget.spent
        return _Status.DONE


def _hopeless(done: int, total: int, spent: int, left: int) -> bool:
    """Whether a step's other checks, at the pace of its first ``done`` (in resource units),
    would need more than ``PACE_MARGIN`` times what is left. The step then stalls at once,
    with the verdict the exhausted budget would give, instead of spending the rest to reach
    it."""
    return done >= PACE_AFTER and spent / done * (total - done) > PACE_MARGIN * left


def _quick(solver: z3.Solver, term: z3.BoolRef, budget: Budget, facts_first: bool
           ) -> tuple[z3.CheckSatResult, z3.ModelRef | None, bool]:
    """A check's brief tries, plain and with its divisions' order facts (``proofs.floors``),
    in the order that decided the last check: the facts cost little where they help and a
    lot where they do not (vcpus-agree), and a cell's checks are mostly of one kind."""
    r, model = z3.unknown, None
    for with_facts in (facts_first, not facts_first):
        asked = with_order_facts(term) if with_facts else term
        r, model = _ask(solver, asked, budget.share(QUICK))
        if r != z3.unknown:
            return r, model, with_facts
    return r, model, facts_first


def _ask(solver: z3.Solver, term: z3.BoolRef, units: int
         ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
    """One question on a shared solver; unknown, unasked, when no units are left."""
    return scoped(solver, [term], units)
