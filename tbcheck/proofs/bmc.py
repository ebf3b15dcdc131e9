"""Verdicts: one rule set against one property, by bounded model checking over the unrolling.

The search goes step by step: first the checks the world makes at step 0 (boot), then at step
1, ... (a shallow counterexample is found before the deep ones are even posed), each check
asked briefly on one incremental solver, then by cases (``proofs.cases``). Random concrete
runs (``proofs.hunt``) go before all of it. A satisfiable query is decoded
into events and replayed through the concrete engine, which must show the same violation. A
proof carries its two witnesses: the envelope's assumptions are satisfiable, and the property's
situation is reachable within the depth (else the proof would be vacuous, and says so).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import z3

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import U64, Int, Num
from tbcheck.model.events import Event, Run, depth_of
from tbcheck.model.world import HostParams, Params
from tbcheck.proofs import counterexample as shrunk
from tbcheck.proofs.budget import MEGA, Budget, ask, spent_so_far
from tbcheck.proofs.cases import by_cases
from tbcheck.proofs.concrete import Trace, run
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.proofs.floors import with_order_facts
from tbcheck.proofs.hunt import Disagreement, Found, hunt
from tbcheck.proofs.induction import SEARCH, Facts, Inductor
from tbcheck.proofs.query import scoped
from tbcheck.proofs.unroll import Unrolling, symbols, unroll

# Budgets, in z3's resource units (``proofs.budget``)
# (z3 spends about 0.3M units a second on this project's nonlinear questions here, and from
# 0.04M to 9M on others: a unit is a measure of work, not of time)
CELL = 20 * MEGA  # a cell's bounded passes, by default
INDUCTION = 10 * MEGA  # the induction's own questions (the invariant's search: SEARCH)
ASSUME = 5 * MEGA  # witness 1 (a small query: let it finish), and witness 2
QUICK = 100_000  # first, brief try of each exact query
INDUCE_AFTER = 1_200_000  # the solver's search and proof not done after this, pause for it
SEARCH_Q = 600_000  # the search pass's budget for one step's query, per solver
SEARCH_SHARE = 0.3  # the search pass's part of a cell's budget: the proof pass gets the rest
SEARCH_EXACT_UPTO = 3  # deeper steps are searched with the linear probe only (z3's nonlinear
# engine does not always stop at its timeout on the big disjunctions of deep steps)
PROBE_HZ = 512_000_000
PACE_AFTER = 16  # checks of a step decided before its pace may declare the step out of reach
PACE_MARGIN = 8.0  # ... when the rest would need this many times the time left

PROVED, VIOLATED, UNKNOWN, VACUOUS, TOOL_ERROR = (
    "proved", "violated", "unknown", "vacuous", "tool-error")


@dataclass
class Counterexample:
    params: Params
    events: list[Event]
    trace: Trace
    replayed: bool
    step: int


@dataclass
class Verdict:
    variant: str
    prop: str
    verdict: str
    depth: int
    unbounded: bool = False
    seconds: float = 0.0
    witnesses: dict[str, Any] = field(default_factory=dict)
    counterexample: Counterexample | None = None
    reason: str = ""
    queries: int = 0
    assumptions: list[str] = field(default_factory=list)
    resources: int = 0  # z3 resource units the cell spent (its budget's measure)
    found_by: str = ""  # "random", "solver" or "fuzz", for a violation


def _num(model: z3.ModelRef, x: Num) -> int:
    if not x.symbolic:
        return int(x.v)
    return model.eval(x.reduced().v, model_completion=True).as_long()


def decode(u: Unrolling, model: z3.ModelRef, upto: int) -> tuple[Params, list[Event]]:
    """The concrete parameters and the first ``upto`` steps' events of a solver model."""
    sp = u.sym.params
    hosts = [HostParams(Int(_num(model, h.freq)), U64(_num(model, h.counter0)),
                        Int(_num(model, h.skew)), Int(_num(model, h.mono0)))
             for h in sp.hosts]
    params = Params(hosts, U64(_num(model, sp.tb0)), sp.ncpus)
    events: list[Event] = []
    for sv in u.sym.steps[:upto]:
        alt = u.alts[next(j for j, b in enumerate(sv.choice)
                          if z3.is_true(model.eval(b, model_completion=True)))]
        c = type(sv)(sv.choice, *(Int(_num(model, x)) for x in (sv.d, sv.p1, sv.p2, sv.p3)))
        if alt[0] != "run":
            events.append(c.event(alt))
        events.append(Run(c.rest(alt)))
    return params, events


def replay(rules: type[RuleSet], env: Envelope, prop: str, params: Params,
           events: list[Event], step: int) -> Counterexample:
    trace = run(rules, params, events, tolerances(rules, env, params))
    return Counterexample(params, events, trace, bool(trace.violations(prop)), step)


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


def _hunted(rules: type[RuleSet], env: Envelope, v: Verdict, runs: int) -> Verdict | None:
    """The random runs' violation (``proofs.hunt``, kept for the worker's next ask), replayed;
    a disagreement between the stepping and the concrete run is a tool error."""
    try:
        cx = _work(rules, env).hunted(v.prop, runs)[0]
    except Disagreement as exc:
        v.verdict, v.reason = TOOL_ERROR, str(exc)
        return v
    return _concrete(rules, env, v, cx, "random")


def _fuzzed(rules: type[RuleSet], env: Envelope, v: Verdict, examples: int) -> Verdict | None:
    """Hypothesis's violation (a fixed seed), replayed."""
    from tbcheck.proofs.fuzz.runner import fuzz

    cx = fuzz(rules, v.prop, env, profile="ci", examples=examples, database=None,
              seed_value=0).violation
    return _concrete(rules, env, v, cx, "fuzz")


def _concrete(rules: type[RuleSet], env: Envelope, v: Verdict,
              cx: shrunk.Violation | None, how: str) -> Verdict | None:
    """``v`` violated by ``cx``, a violation found on the concrete engine ("random" or
    "fuzz"), if it fits in the depth and replays like a solver's; None otherwise."""
    if cx is None or depth_of(cx.events) > env.depth:
        return None
    got = replay(rules, env, v.prop, cx.draw.params(), list(cx.events), cx.step)
    if not got.replayed:
        return None
    v.counterexample, v.verdict, v.found_by = got, VIOLATED, how
    return v


def check(u: Unrolling, prop: str, units: int = CELL, fuzz_examples: int = 0,
          inductor: Inductor | None = None, random_runs: int = 0, deepen: bool = False,
          induction_first: bool = False, induction_units: int = INDUCTION) -> Verdict:
    """Decide ``prop`` for the unrolled rule set within its depth, spending at most ``units``
    of z3's resources on the bounded passes (``proofs.budget``: never seconds, so that the
    verdict is the same on any machine under any load). ``random_runs`` random concrete runs
    look for a counterexample before the solver does; ``fuzz_examples`` Hypothesis examples
    look for one when the solver cannot decide. With ``inductor``, bounded passes that have
    spent ``INDUCE_AFTER`` units without a verdict (or a proof that stalls before) pause for
    the induction (``induction_units`` for its own questions; the pause does not count
    against ``units``), whose proof for every depth replaces them; the cells that are quickly
    proved or refuted never pay for the invariant. With ``induction_first``, the induction
    comes before the search and the bounded proof, which follow, with their whole budget,
    only if it does not close.

    The proof goes step by step, and the checks of step k are those of a depth-k unrolling
    (later steps cannot change them). So when it stalls at step k, with ``deepen`` the
    verdict is ``proved`` to depth k-1 (``depth`` says so), if the property's situation is
    reachable that early; without, ``unknown``."""
    t0, r0 = time.perf_counter(), spent_so_far()
    v = Verdict(u.rules.name, prop, UNKNOWN, u.env.depth)
    solver = z3.Solver()
    solver.add(u.sym.constraints)
    every = u.sites.get(prop, [])
    sites = [s for s in every if not z3.is_false(s.violated)]  # the rest hold by construction
    if not _assumptions_hold(v, solver):
        return _done(v, t0, r0)
    # pass 0, random concrete runs: the bugs that are common are found in milliseconds
    if random_runs and (found := _hunted(u.rules, u.env, v, random_runs)):
        return _done(found, t0, r0)
    # pass 1, induction: a proof for every depth replaces the bounded one, and it needs no
    # search (its horizon holds every history of the envelope's depth)
    if inductor is not None and induction_first and _induced(v, inductor, induction_units):
        sites = []
    budget = Budget(units)  # the bounded passes' own, from here
    probe = z3.Solver()
    probe.add(u.sym.constraints)
    f_probe = min(max(u.env.fmin_hz, PROBE_HZ), u.env.fmax_hz)
    probe.add([h.freq.v == f_probe for h in u.sym.params.hosts if h.freq.symbolic])
    settled: set[int] = set()  # steps whose checks the exact search already proved
    search = Budget(int(units * SEARCH_SHARE))
    # the bounded passes (2 and 3) that have spent INDUCE_AFTER units without a verdict, or
    # a proof that stalls, pause for the induction once (if it was not tried first)
    pause = _Pause(v, inductor if not induction_first else None, induction_units, budget)

    # pass 2, search: one query a step (any check of that step violated?), first with one
    # frequency for all hosts (linear, fast), then exact; a model of either is a real
    # counterexample, so its replay must show the violation
    for k in range(u.env.depth + 1):
        for sol in (probe,) if k > SEARCH_EXACT_UPTO else (probe, solver):
            if pause.due() and pause.take():
                sites = []
            terms = [s.violated for s in sites if s.step == k]
            if not terms:
                break
            r, model = _ask(sol, z3.Or(terms), min(search.share(SEARCH_Q), pause.room()))
            v.queries += 1
            if model is not None:
                return _done(_violated(u, v, model, k), t0, r0)
            if r == z3.unsat and sol is solver:
                settled.add(k)  # the exact search proved every check of this step
    # pass 3, proof: each check on its own, briefly on the shared solver, then by cases with
    # the rest of the budget (a fresh solver a case)
    proof = _Proof(u, solver, [s for s in sites if s.step not in settled], budget)
    status = proof.run(pause)
    if status in (_PAUSED, _STALLED) and pause.pending and pause.take():
        status = _DONE  # proved for every depth
    elif status == _PAUSED:  # the induction did not close: the proof goes on
        status = proof.run(pause)
    v.queries += proof.queries
    if proof.model is not None:
        return _done(_violated(u, v, proof.model, proof.k), t0, r0)
    stalled = proof.k if status == _STALLED else None
    # an undecided property: Hypothesis (a fixed seed) searches the concrete engine for a
    # counterexample the solver missed; a proof needs no such search, so it comes last
    if stalled is not None and fuzz_examples and (
            found := _fuzzed(u.rules, u.env, v, fuzz_examples)):
        return _done(found, t0, r0)
    undecided = f"the solver did not decide it within {units:,} resource units"
    if stalled is not None and (not deepen or stalled < 2):
        v.verdict, v.reason = UNKNOWN, v.reason + undecided
        return _done(v, t0, r0)
    upto = u.env.depth if stalled is None else stalled - 1
    # witness 2: the situation the property speaks of is reachable (within ``upto`` steps)
    early = [s for s in every if s.step <= upto]
    w = _witness(solver, [s.reached for s in early])
    if w["result"] == "sat":
        example_step = early[w["term"]].step if early else 0
        params, events = decode(u, w["example"], example_step)
        v.witnesses["situation"] = {"reachable": True, "step": example_step,
                                    "params": params, "events": events}
        v.verdict, v.depth = PROVED, upto
        if stalled is not None:
            v.reason += (f"proved to depth {upto}; undecided at depth {stalled} within "
                         f"{units:,} resource units; no counterexample found to depth "
                         f"{u.env.depth}")
    elif w["result"] == "unknown":
        v.witnesses["situation"] = {"reachable": None}
        v.verdict = UNKNOWN
        v.reason += "the solver could not decide whether the property's situation is reachable"
    elif stalled is not None:  # too shallow for the property's situation: nothing proved
        v.witnesses["situation"] = {"reachable": False}
        v.verdict = UNKNOWN
        v.reason += (f"{undecided} at depth {stalled}; the property's situation needs more "
                     f"than {upto} steps")
    else:
        v.witnesses["situation"] = {"reachable": False}
        v.verdict, v.reason = VACUOUS, "the property's situation is unreachable within the depth"
    return _done(v, t0, r0)


def _done(v: Verdict, t0: float, r0: int) -> Verdict:
    """``v`` with what it cost: seconds (to report) and resource units (the budget's)."""
    v.seconds = time.perf_counter() - t0
    v.resources = spent_so_far() - r0
    return v


def _induced(v: Verdict, inductor: Inductor, units: int) -> bool:
    """Whether the induction proves ``v``'s property for every depth; ``v`` says how it went."""
    ind = inductor.prove(v.prop, units)
    v.queries += ind.queries
    if ind.proved:
        v.unbounded, v.reason = True, ind.reason
    else:
        v.reason = f"induction did not close ({ind.reason}); "
    return ind.proved


@dataclass
class _Pause:
    """The one pause of the bounded passes for the induction: due once they have spent
    ``INDUCE_AFTER`` units, or when the proof stalls; what it spends does not count against
    their budget."""

    v: Verdict
    inductor: Inductor | None
    units: int
    budget: Budget

    @property
    def pending(self) -> bool:
        return self.inductor is not None

    def due(self) -> bool:
        return self.pending and self.budget.spent >= INDUCE_AFTER

    def room(self) -> int:
        """Units a question may take before the pause is due (all that is left if none is)."""
        left = self.budget.left
        return max(0, min(left, INDUCE_AFTER - self.budget.spent)) if self.pending else left

    def take(self) -> bool:
        """The induction, now; True when it proved the property for every depth."""
        assert self.inductor is not None
        before = spent_so_far()
        proved = _induced(self.v, self.inductor, self.units)
        self.inductor = None
        self.budget.extend(spent_so_far() - before)
        return proved


_DONE, _PAUSED, _STALLED, _VIOLATED = "done", "paused", "stalled", "violated"


@dataclass
class _Proof:
    """The bounded proof (pass 3), step by step and check by check, able to stop for the
    induction's pause and resume where it was."""

    u: Unrolling
    solver: z3.Solver
    sites: list[Any]  # the checks left to prove
    budget: Budget
    k: int = 0  # the step being proved
    i: int = 0  # its next check
    step_began: int = 0  # the budget's spending when step k began
    facts_first: bool = False  # whether the last check was decided with its order facts
    queries: int = 0
    model: z3.ModelRef | None = None  # a counterexample, at step k

    def run(self, pause: _Pause) -> str:
        """Go on until done, a counterexample, a stall (budget, or a pace that cannot finish)
        or the pause, whichever first. A question cut short by the pause is asked again after
        it, with what is left."""
        if self.k == 0 and self.i == 0:
            self.step_began = self.budget.spent
        while self.k <= self.u.env.depth:
            todo = [s for s in self.sites if s.step == self.k]
            while self.i < len(todo):
                if pause.due():
                    return _PAUSED
                left = self.budget.left
                if left <= 0 or _hopeless(self.i, len(todo),
                                          self.budget.spent - self.step_began, left):
                    return _STALLED
                self.queries += 1
                room = Budget(pause.room())
                r, self.model, self.facts_first = _quick(
                    self.solver, todo[self.i].violated, room, self.facts_first)
                if r == z3.unknown:
                    r, self.model = by_cases(self.u.sym.constraints, todo[self.i].violated,
                                             [sv.choice for sv in self.u.sym.steps[:self.k]],
                                             room, self.facts_first)
                if self.model is not None:
                    return _VIOLATED
                if r == z3.unknown:
                    return _PAUSED if pause.due() else _STALLED
                self.i += 1
            self.k, self.i, self.step_began = self.k + 1, 0, self.budget.spent
        return _DONE


def _assumptions_hold(v: Verdict, solver: z3.Solver) -> bool:
    """Witness 1: the envelope's assumptions (on ``solver``) can hold at all. If not, or if
    the solver cannot tell, ``v`` says so and is final."""
    r, _ = ask(solver, ASSUME)
    v.witnesses["assumptions"] = {"satisfiable": r == z3.sat}
    if r == z3.unknown:
        v.reason = "the solver could not decide whether the assumptions can hold"
    elif r != z3.sat:
        v.verdict, v.reason = VACUOUS, "the envelope's assumptions are contradictory"
    return r == z3.sat


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


def _violated(u: Unrolling, v: Verdict, model: z3.ModelRef, step: int) -> Verdict:
    params, events = decode(u, model, step)
    cx = replay(u.rules, u.env, v.prop, params, events, step)
    v.counterexample = cx
    if cx.replayed:
        v.verdict = VIOLATED
    else:
        v.verdict = TOOL_ERROR
        v.reason = ("the solver's counterexample does not replay in the concrete engine: "
                    "the two engines disagree (a tbcheck bug)")
    return v


#: where a cell gets its rule set's invariant facts: the run's one search of them
#: (``tbcheck.workers``), given the rule set, the envelope and the search's budget
FactsSource = Callable[[type[RuleSet], Envelope, int], Facts | None]


def envs_of(rules: type[RuleSet], props: list[str], env: Envelope,
            use_assumptions: bool) -> dict[tuple[tuple[str, Any], ...], Envelope]:
    """The envelopes ``props`` are proved under, in a fixed order: ``env`` itself, and ``env``
    with the assumptions a built-in cell declares (e.g. the seed's synchronised clocks)."""
    out: dict[tuple[tuple[str, Any], ...], Envelope] = {}
    for p in props:
        extra = tuple(sorted((rules.assume.get(p, {}) if use_assumptions else {}).items()))
        out.setdefault(extra, replace(env, **dict(extra)) if extra else env)
    return out


def prepare(rules: type[RuleSet], env: Envelope, use_assumptions: bool) -> None:
    """Unroll the rule set under every envelope any of its cells may ask, in a fixed order,
    so that a process forked afterwards for any cell starts from the same solver state
    whichever cells a run asks (``tbcheck.workers``: a verdict must not depend on them)."""
    from tbcheck.properties import property_names

    for e in envs_of(rules, property_names(), env, use_assumptions).values():
        _work(rules, e).unrolled()


def check_rules(rules: type[RuleSet], props: list[str], env: Envelope,
                units: int = CELL, use_assumptions: bool = False,
                fuzz_examples: int = 0, deepen: bool = False,
                search_units: int = 0, random_runs: int = 0, induction_first: bool = False,
                induction_units: int = INDUCTION, facts: FactsSource | None = None
                ) -> list[Verdict]:
    """Each property's verdict within ``units`` resource units a cell (``check``); the rule
    set is unrolled once per distinct envelope (a cell may declare assumptions, e.g. the
    seed's synchronised clocks, when ``use_assumptions``).

    With ``deepen``, a property the solver cannot decide at the full depth (and for which no
    counterexample was found there) is reported ``proved`` to the deepest depth whose every
    check the solver decided (``depth`` says it; ``reason`` says where it stopped).
    With ``search_units`` > 0, a property whose bounded proof is slow is tried by induction
    (``check``), with an invariant searched for within that many units, once per rule set
    and envelope (with ``facts``, the run's one search, whose facts are rebuilt here; without,
    searched here); with ``induction_first``, every property the random runs do not refute
    is."""
    found: dict[str, Verdict] = {}
    cell_envs = envs_of(rules, props, env, use_assumptions)
    for p in props:
        extra = tuple(sorted((rules.assume.get(p, {}) if use_assumptions else {}).items()))
        cell_env = cell_envs[extra]
        t0, r0 = time.perf_counter(), spent_so_far()
        v = _hunted_first(rules, p, cell_env, random_runs) if random_runs else None
        if v is not None:
            _done(v, t0, r0)
        else:
            w = _work(rules, cell_env)
            inductor = w.inductor(search_units, facts) if search_units > 0 else None
            hunting, hunted_units = time.perf_counter() - t0, spent_so_far() - r0
            v = check(w.unrolled(), p, units, fuzz_examples, inductor, random_runs, deepen,
                      induction_first, induction_units)
            v.seconds += hunting  # the runs count in the cell's time
            v.resources += hunted_units
        v.assumptions = cell_env.default_assumptions()
        found[p] = v
    return [found[p] for p in props]


def _hunted_first(rules: type[RuleSet], prop: str, env: Envelope, runs: int) -> Verdict | None:
    """The random runs' verdict, if they find a violation: that needs no unrolling (about a
    second a rule set at depth 8), only the envelope's symbols for witness 1. When they find
    none, ``check`` asks witness 1 itself (and gets the runs from the worker's memo)."""
    v = Verdict(rules.name, prop, UNKNOWN, env.depth)
    if _hunted(rules, env, v, runs) is None:
        return None
    solver = z3.Solver()
    solver.add(symbols(env).constraints)
    return v if _assumptions_hold(v, solver) else None  # else ``check`` says


@dataclass
class _Work:
    """What a process keeps of a rule set and envelope: the unrolling, built when a cell
    first needs it (or before the cells are forked: ``prepare``), what the random runs found
    for each property (asked before the unrolling, then again by ``check``), and the
    induction. Solving adds nothing to an unrolling (each query is pushed and popped or on
    its own solver)."""

    rules: type[RuleSet]
    env: Envelope
    unrolling: Unrolling | None = None
    hunts: dict[tuple[str, int], Found] = field(default_factory=dict)
    inductors: dict[tuple[int, Any], Inductor] = field(default_factory=dict)

    def unrolled(self) -> Unrolling:
        if self.unrolling is None:
            self.unrolling = unroll(self.rules, self.env)
        return self.unrolling

    def inductor(self, units: int, facts: FactsSource | None = None) -> Inductor:
        """The rule set's induction, its invariant searched for (or fetched) once."""
        if (units, facts) not in self.inductors:
            source = None if facts is None else partial(facts, self.rules, self.env, units)
            self.inductors[units, facts] = Inductor(self.rules, self.env, units or SEARCH,
                                                    source=source)
        return self.inductors[units, facts]

    def hunted(self, prop: str, runs: int) -> Found:
        if (prop, runs) not in self.hunts:
            self.hunts[prop, runs] = hunt(self.rules, prop, self.env, runs)
        return self.hunts[prop, runs]


_WORK: dict[tuple[type[RuleSet], Envelope], _Work] = {}


def _work(rules: type[RuleSet], env: Envelope) -> _Work:
    """The process's work on ``rules`` under ``env``; a process keeps one rule set's."""
    if (rules, env) not in _WORK:
        if any(r is not rules for r, _ in _WORK):
            _WORK.clear()
        _WORK[rules, env] = _Work(rules, env)
    return _WORK[rules, env]


def forget() -> None:
    """Drop every rule set's unrolling and caches (a new run in the same process)."""
    _WORK.clear()
