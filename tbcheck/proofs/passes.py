"""The proof passes of one cell (a rule set against a property), and what they share.

Each pass has one job and either ends the cell with a verdict or hands on to the next
(``proofs.bmc`` runs them in order). They share a ``Cell``: the question, the options, the
verdict being built and what an earlier pass leaves a later one (the checks still to prove, the
step where the bounded proof stalled, the bounded passes' budget). The bounded passes, the
counterexample search and the bounded proof, are in ``proofs.bounded``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from tbcheck.model.api import RuleSet
from tbcheck.model.events import depth_of
from tbcheck.proofs import counterexample as shrunk
from tbcheck.proofs.budget import MEGA, Budget, ask, spent_so_far
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.hunt import Disagreement
from tbcheck.proofs.induction import Inductor
from tbcheck.proofs.memo import work
from tbcheck.proofs.options import CellOptions
from tbcheck.proofs.unroll import Site, Unrolling
from tbcheck.proofs.verdict import FoundBy, Status, Verdict, decode, replay

ASSUME = 5 * MEGA  # each witness's query (a small one: let it finish)


@dataclass
class Cell:
    """One cell's proof in progress."""

    u: Unrolling
    prop: str
    options: CellOptions
    inductor: Inductor | None  # the induction, until it has been tried
    verdict: Verdict
    solver: z3.Solver  # the unrolling's constraints; each question pushed and popped
    every: list[Site]  # the property's checks
    sites: list[Site]  # those still to prove (the others hold by construction, or for every
    # depth once the induction closes)
    settled: set[int] = field(default_factory=set)  # steps the exact search proved
    stalled: int | None = None  # the step at which the bounded proof stopped undecided
    budget: Budget | None = None  # the bounded passes', from the first of them
    began: tuple[float, int] = (0.0, 0)  # the clock and z3's resource counter at the start

    @staticmethod
    def open(u: Unrolling, prop: str, options: CellOptions, inductor: Inductor | None
             ) -> Cell:
        """A cell's proof, before any pass: one solver with the unrolling's constraints."""
        began = time.perf_counter(), spent_so_far()
        solver = z3.Solver()
        solver.add(u.sym.constraints)
        every = u.sites.get(prop, [])
        live = [s for s in every if not z3.is_false(s.violated)]
        v = Verdict(u.rules.name, prop, Status.UNKNOWN, u.env.depth)
        return Cell(u, prop, options, inductor, v, solver, every, live, began=began)

    def close(self, v: Verdict) -> Verdict:
        """``v`` with what the cell cost: seconds (to report) and resource units."""
        return spent(v, *self.began)

    def pause_due(self) -> bool:
        """Whether the bounded passes have spent what they may before the induction."""
        return (self.inductor is not None and self.budget is not None
                and self.budget.spent >= self.options.induce_after)

    def room(self) -> int:
        """Units a bounded question may take: what is left, and no more than would make the
        induction's pause overdue."""
        assert self.budget is not None
        left = self.budget.left
        if self.inductor is None:
            return left
        return max(0, min(left, self.options.induce_after - self.budget.spent))

    def induce(self) -> bool:
        """The induction, now and once: True when it proves the property for every depth (no
        check is then left to prove). What it spends does not count against the budget."""
        assert self.inductor is not None
        before = None if self.budget is None else spent_so_far()
        ind, self.inductor = self.inductor.prove(self.prop, self.options.induction_units), None
        v = self.verdict
        v.queries += ind.queries
        if ind.proved:
            v.unbounded, v.reason, self.sites = True, ind.reason, []
        else:
            v.reason = f"induction did not close ({ind.reason}); "
        if self.budget is not None and before is not None:
            self.budget.extend(spent_so_far() - before)
        return ind.proved


#: a pass: the cell's verdict, or None to hand on to the next
Pass = Callable[[Cell], Verdict | None]


def spent(v: Verdict, t0: float, r0: int) -> Verdict:
    """``v`` with its cost since ``t0`` (seconds) and ``r0`` (z3's resource counter)."""
    v.seconds = time.perf_counter() - t0
    v.resources = spent_so_far() - r0
    return v


# ------------------------------------------------------------------------- the passes
def assumptions(cell: Cell) -> Verdict | None:
    """Witness 1: the envelope's assumptions can hold at all; vacuous if they cannot."""
    return None if assumptions_hold(cell.verdict, cell.solver) else cell.verdict


def random_runs(cell: Cell) -> Verdict | None:
    """Random concrete runs (``proofs.hunt``): the common bugs are found in milliseconds."""
    if not cell.options.random_runs:
        return None
    return hunted(cell.u.rules, cell.u.env, cell.verdict, cell.options.random_runs)


def induction_first(cell: Cell) -> Verdict | None:
    """With ``induction_first``, the induction before the bounded passes: its proof for every
    depth leaves them nothing to search or prove (its horizon holds every history of the
    envelope's depth). Only the situation's witness follows."""
    if cell.options.induction_first and cell.inductor is not None:
        cell.induce()
    return None


def fuzz(cell: Cell) -> Verdict | None:
    """An undecided property: Hypothesis (a fixed seed) searches the concrete engine for a
    counterexample the solver missed (a proof excludes one, so no proof runs it)."""
    if cell.stalled is None or not cell.options.fuzz_examples:
        return None
    from tbcheck.proofs.fuzz.runner import fuzz as run_fuzzer

    v = cell.verdict
    cx = run_fuzzer(cell.u.rules, v.prop, cell.u.env, profile="ci",
                    examples=cell.options.fuzz_examples, database=None, seed_value=0).violation
    return _concrete(cell.u.rules, cell.u.env, v, cx, FoundBy.FUZZ)


def undecided(cell: Cell) -> Verdict | None:
    """A bounded proof that stalled is unknown, unless it may stand as a proof to the depth
    before the stall (``deepen``, from step 2)."""
    if cell.stalled is None or (cell.options.deepen and cell.stalled >= 2):
        return None
    v = cell.verdict
    v.verdict, v.reason = Status.UNKNOWN, v.reason + _undecided(cell)
    return v


def reachability(cell: Cell) -> Verdict:
    """Witness 2: the situation the property speaks of is reachable within the depth proved,
    which makes the proof not vacuous; the last pass, it always decides."""
    v, stalled = cell.verdict, cell.stalled
    upto = cell.u.env.depth if stalled is None else stalled - 1
    early = [s for s in cell.every if s.step <= upto]
    w = _witness(cell.solver, [s.reached for s in early])
    if w["result"] == "sat":
        example_step = early[w["term"]].step if early else 0
        params, events = decode(cell.u, w["example"], example_step)
        v.witnesses["situation"] = {"reachable": True, "step": example_step,
                                    "params": params, "events": events}
        v.verdict, v.depth = Status.PROVED, upto
        if stalled is not None:
            v.reason += (f"proved to depth {upto}; undecided at depth {stalled} within "
                         f"{cell.options.rlimit:,} resource units; no counterexample found "
                         f"to depth {cell.u.env.depth}")
    elif w["result"] == "unknown":
        v.witnesses["situation"] = {"reachable": None}
        v.verdict = Status.UNKNOWN
        v.reason += "the solver could not decide whether the property's situation is reachable"
    elif stalled is not None:  # too shallow for the property's situation: nothing proved
        v.witnesses["situation"] = {"reachable": False}
        v.verdict = Status.UNKNOWN
        v.reason += (f"{_undecided(cell)} at depth {stalled}; the property's situation needs "
                     f"more than {upto} steps")
    else:
        v.witnesses["situation"] = {"reachable": False}
        v.verdict = Status.VACUOUS
        v.reason = "the property's situation is unreachable within the depth"
    return v


# ------------------------------------------------------------------------- their parts
def assumptions_hold(v: Verdict, solver: z3.Solver) -> bool:
    """Whether the envelope's assumptions (on ``solver``) can hold. If not, or if the solver
    cannot tell, ``v`` says so and is final."""
    r, _ = ask(solver, ASSUME)
    v.witnesses["assumptions"] = {"satisfiable": r == z3.sat}
    if r == z3.unknown:
        v.reason = "the solver could not decide whether the assumptions can hold"
    elif r != z3.sat:
        v.verdict, v.reason = Status.VACUOUS, "the envelope's assumptions are contradictory"
    return r == z3.sat


def hunted(rules: type[RuleSet], env: Envelope, v: Verdict, runs: int) -> Verdict | None:
    """The random runs' violation (kept by the process's ``memo``), replayed; a disagreement
    between the stepping and the concrete run is a tool error."""
    try:
        cx = work(rules, env).hunted(v.prop, runs)[0]
    except Disagreement as exc:
        v.verdict, v.reason = Status.TOOL_ERROR, str(exc)
        return v
    return _concrete(rules, env, v, cx, FoundBy.RANDOM)


def _concrete(rules: type[RuleSet], env: Envelope, v: Verdict,
              cx: shrunk.Violation | None, how: FoundBy) -> Verdict | None:
    """``v`` violated by ``cx``, a violation found on the concrete engine, if it fits in the
    depth and replays like a solver's; None otherwise."""
    if cx is None or depth_of(cx.events) > env.depth:
        return None
    got = replay(rules, env, v.prop, cx.draw.params(), list(cx.events), cx.step)
    if not got.replayed:
        return None
    v.counterexample, v.verdict, v.found_by = got, Status.VIOLATED, how
    return v


def _undecided(cell: Cell) -> str:
    return f"the solver did not decide it within {cell.options.rlimit:,} resource units"


def _witness(solver: z3.Solver, terms: list[z3.BoolRef]) -> dict[str, Any]:
    solver.push()
    solver.add(z3.Or(terms) if terms else z3.BoolVal(False))
    r, _ = ask(solver, ASSUME)
    out: dict[str, Any] = {"result": str(r)}
    if r == z3.sat:
        m = solver.model()
        step = min((k for k, t in enumerate(terms) if z3.is_true(m.eval(t, True))), default=0)
        out["example"] = m
        out["term"] = step
    solver.pop()
    return out
