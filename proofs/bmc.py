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
from dataclasses import dataclass, field, replace
from typing import Any

import z3

from model.api import RuleSet
from model.concrete import Trace, run
from model.domain import U64, Int, Num
from model.events import Event, Run, depth_of
from model.world import HostParams, Params
from proofs.cases import by_cases
from proofs.envelope import Envelope
from proofs.floors import with_order_facts
from proofs.fuzz import minimize
from proofs.hunt import Disagreement, Found, hunt
from proofs.induction import Inductor, Outcome
from proofs.query import scoped
from proofs.searches import Searches
from proofs.unroll import Unrolling, symbols, tolerances, unroll

QUICK_S = 0.3  # first, brief try of each exact query
INDUCE_AFTER_S = 4.0  # the solver's search and proof not done after this long pause for it
POLL_S = 1.0  # while another worker searches the invariant, how often to ask whether it is done
SEARCH_S = 2.0  # the search pass's budget for one step's query, per solver
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
    found_by: str = ""  # "random", "solver" or "fuzz", for a violation


def _num(model: z3.ModelRef, x: Num) -> int:
    if not x.symbolic:
        return int(x.v)
    return model.eval(x.reduced().v, model_completion=True).as_long()


def decode(u: Unrolling, model: z3.ModelRef, upto: int) -> tuple[Params, list[Event]]:
    """The concrete parameters and the first ``upto`` steps' events of a solver model."""
    sp = u.sym.params
    hosts = [HostParams(Int(_num(model, h.freq)), U64(_num(model, h.counter0)),
                        Int(_num(model, h.skew)), Int(_num(model, h.mono0)), h.scaling_bits)
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


def _witness(solver: z3.Solver, u: Unrolling, terms: list[z3.BoolRef]) -> dict[str, Any]:
    solver.push()
    solver.add(z3.Or(terms) if terms else z3.BoolVal(False))
    r = solver.check()
    out: dict[str, Any] = {"result": str(r)}
    if r == z3.sat:
        m = solver.model()
        step = min((k for k, t in enumerate(terms) if z3.is_true(m.eval(t, True))), default=0)
        out["example"] = m
        out["term"] = step
    solver.pop()
    return out


def _hunted(rules: type[RuleSet], env: Envelope, v: Verdict, runs: int, t0: float
            ) -> Verdict | None:
    """The random runs' violation (``proofs.hunt``, kept for the worker's next ask), replayed;
    a disagreement between the stepping and the concrete run is a tool error."""
    try:
        cx = _work(rules, env).hunted(v.prop, runs)[0]
    except Disagreement as exc:
        v.verdict, v.reason = TOOL_ERROR, str(exc)
        v.seconds = time.perf_counter() - t0
        return v
    return _concrete(rules, env, v, cx, "random", t0)


def _fuzzed(rules: type[RuleSet], env: Envelope, v: Verdict, examples: int, t0: float
            ) -> Verdict | None:
    """Hypothesis's violation (a fixed seed), replayed."""
    from proofs.fuzz.runner import fuzz

    cx = fuzz(rules, v.prop, env, profile="ci", examples=examples, database=None,
              seed_value=0).violation
    return _concrete(rules, env, v, cx, "fuzz", t0)


def _concrete(rules: type[RuleSet], env: Envelope, v: Verdict,
              cx: minimize.Counterexample | None, how: str, t0: float) -> Verdict | None:
    """``v`` violated by ``cx``, a violation found on the concrete engine ("random" or
    "fuzz"), if it fits in the depth and replays like a solver's; None otherwise."""
    if cx is None or depth_of(cx.events) > env.depth:
        return None
    got = replay(rules, env, v.prop, cx.draw.params(), list(cx.events), cx.step)
    if not got.replayed:
        return None
    v.counterexample, v.verdict, v.found_by = got, VIOLATED, how
    v.seconds = time.perf_counter() - t0
    return v


def check(u: Unrolling, prop: str, timeout_s: float = 20.0, fuzz_examples: int = 0,
          inductor: Inductor | None = None, random_runs: int = 0, deepen: bool = False,
          induction_first: bool = False) -> Verdict:
    """Decide ``prop`` for the unrolled rule set within its depth. ``random_runs`` random
    concrete runs look for a counterexample before the solver does; ``fuzz_examples``
    Hypothesis examples look for one when the solver cannot decide. With ``inductor``, a
    search and bounded proof not done within ``INDUCE_AFTER_S`` (or a proof that stalls
    before) pause for the induction, whose proof for every depth replaces them; the cells that
    are quickly proved or refuted never pay for the invariant's search. With
    ``induction_first`` too (or once the rule set's invariant is known), the induction comes
    before the search and the bounded proof, which follow, with their whole budget, only if it
    does not close.

    The proof goes step by step, and the checks of step k are those of a depth-k unrolling
    (later steps cannot change them). So when it stalls at step k, with ``deepen`` the
    verdict is ``proved`` to depth k-1 (``depth`` says so), if the property's situation is
    reachable that early; without, ``unknown``."""
    t0 = time.perf_counter()
    v = Verdict(u.rules.name, prop, UNKNOWN, u.env.depth)
    solver = z3.Solver()
    solver.add(u.sym.constraints)
    deadline = t0 + timeout_s
    every = u.sites.get(prop, [])
    sites = [s for s in every if not z3.is_false(s.violated)]  # the rest hold by construction
    if not _assumptions_hold(v, solver, timeout_s, t0):
        return v
    # pass 0, random concrete runs: the bugs that are common are found in milliseconds
    if random_runs and (found := _hunted(u.rules, u.env, v, random_runs, t0)):
        return found
    # pass 1, induction: a proof for every depth replaces the bounded one, and it needs no
    # search (its horizon holds every history of the envelope's depth)
    induced = inductor is not None and (induction_first or inductor.ready)
    if induced:
        assert inductor is not None
        if _induced(v, inductor, max(1.0, deadline - time.perf_counter())).proved:
            sites = []
        # what follows (the witness, or the bounded passes) gets the whole budget again
        deadline = time.perf_counter() + timeout_s
    probe = z3.Solver()
    probe.add(u.sym.constraints)
    f_probe = min(max(u.env.fmin_hz, PROBE_HZ), u.env.fmax_hz)
    probe.add([h.freq.v == f_probe for h in u.sym.params.hosts if h.freq.symbolic])
    settled: set[int] = set()  # steps whose checks the exact search already proved
    search_end = deadline - (1 - SEARCH_SHARE) * timeout_s
    # the solver's passes (2 and 3) still going after INDUCE_AFTER_S, or a proof that stalls,
    # pause for the induction (if it was not tried first), whose proof for every depth
    # replaces them; if it does not close, they resume with the budget they had left
    may_pause = inductor is not None and not induced
    pause_at = time.perf_counter() + INDUCE_AFTER_S if may_pause else float("inf")
    polling = False  # whether the pauses are polls, which let a question end first

    def pause() -> float:
        """The induction in a pause: how long it took (0 once it proved the property). While
        another worker searches the invariant (``proofs.searches``), the passes go on and ask
        again every ``POLL_S``: it may run out, and then this worker need not search."""
        nonlocal may_pause, sites, pause_at, polling
        assert inductor is not None
        began = time.perf_counter()
        out = _induced(v, inductor, timeout_s)
        if out.proved:
            may_pause, sites = False, []
            return 0.0
        may_pause = polling = out.busy
        pause_at = time.perf_counter() + POLL_S
        return time.perf_counter() - began

    # pass 2, search: one query a step (any check of that step violated?), first with one
    # frequency for all hosts (linear, fast), then exact; a model of either is a real
    # counterexample, so its replay must show the violation
    for k in range(u.env.depth + 1):
        for sol in (probe,) if k > SEARCH_EXACT_UPTO else (probe, solver):
            if may_pause and time.perf_counter() >= pause_at:
                took = pause()
                search_end, deadline = search_end + took, deadline + took
            terms = [s.violated for s in sites if s.step == k]
            if not terms:
                break
            left = search_end - time.perf_counter()
            r, model = _ask(sol, z3.Or(terms), min(SEARCH_S, left))
            v.queries += 1
            if model is not None:
                return _violated(u, v, model, k, t0)
            if r == z3.unsat and sol is solver:
                settled.add(k)  # the exact search proved every check of this step
    # pass 3, proof: each check on its own, briefly on the shared solver, then by cases with
    # the rest of the budget (a fresh solver a case)
    proof = _Proof(u, solver, [s for s in sites if s.step not in settled], deadline)
    status = proof.run(pause_at if may_pause else float("inf"), cut=not polling)
    while may_pause and status in (_PAUSED, _STALLED):
        began = time.perf_counter()
        if status == _STALLED:  # nothing left but the induction: await the other's search
            assert inductor is not None
            inductor.await_search(POLL_S)
        pause()
        if not sites:
            status = _DONE
            break
        proof.postpone(time.perf_counter() - began)  # the bounded proof keeps its budget
        if status == _STALLED:
            break
        status = proof.run(pause_at if may_pause else float("inf"), cut=not polling)
    v.queries += proof.queries
    if proof.model is not None:
        return _violated(u, v, proof.model, proof.k, t0)
    stalled = proof.k if status == _STALLED else None
    # an undecided property: Hypothesis (a fixed seed) searches the concrete engine for a
    # counterexample the solver missed; a proof needs no such search, so it comes last
    if stalled is not None and fuzz_examples and (
            found := _fuzzed(u.rules, u.env, v, fuzz_examples, t0)):
        return found
    undecided = f"solver gave up or timed out after {timeout_s:g} s"
    if stalled is not None and (not deepen or stalled < 2):
        v.verdict, v.reason = UNKNOWN, v.reason + undecided
        v.seconds = time.perf_counter() - t0
        return v
    upto = u.env.depth if stalled is None else stalled - 1
    # witness 2: the situation the property speaks of is reachable (within ``upto`` steps)
    solver.set("timeout", max(1, int(timeout_s * 1000)))
    early = [s for s in every if s.step <= upto]
    w = _witness(solver, u, [s.reached for s in early])
    if w["result"] == "sat":
        example_step = early[w["term"]].step if early else 0
        params, events = decode(u, w["example"], example_step)
        v.witnesses["situation"] = {"reachable": True, "step": example_step,
                                    "params": params, "events": events}
        v.verdict, v.depth = PROVED, upto
        if stalled is not None:
            v.reason += (f"proved to depth {upto}; undecided at depth {stalled} within "
                         f"{timeout_s:g} s; no counterexample found to depth {u.env.depth}")
    elif stalled is not None:  # too shallow for the property's situation: nothing proved
        v.witnesses["situation"] = {"reachable": False}
        v.verdict = UNKNOWN
        v.reason += (f"{undecided} at depth {stalled}; the property's situation needs more "
                     f"than {upto} steps")
    else:
        v.witnesses["situation"] = {"reachable": False}
        v.verdict, v.reason = VACUOUS, "the property's situation is unreachable within the depth"
    v.seconds = time.perf_counter() - t0
    return v


def _induced(v: Verdict, inductor: Inductor, timeout_s: float) -> Outcome:
    """Whether the induction proves ``v``'s property for every depth; ``v`` says how it went."""
    ind = inductor.prove(v.prop, timeout_s)
    v.queries += ind.queries
    if ind.proved:
        v.unbounded, v.reason = True, ind.reason
    else:
        v.reason = f"induction did not close ({ind.reason}); "
    return ind


_DONE, _PAUSED, _STALLED, _VIOLATED = "done", "paused", "stalled", "violated"


@dataclass
class _Proof:
    """The bounded proof (pass 3), step by step and check by check, able to pause at a given
    instant and resume where it was (the induction runs in the pause)."""

    u: Unrolling
    solver: z3.Solver
    sites: list[Any]  # the checks left to prove
    deadline: float
    k: int = 0  # the step being proved
    i: int = 0  # its next check
    began: float = field(default_factory=time.perf_counter)  # when step k began
    facts_first: bool = False  # whether the last check was decided with its order facts
    queries: int = 0
    model: z3.ModelRef | None = None  # a counterexample, at step k

    def postpone(self, seconds: float) -> None:
        """A pause of ``seconds`` does not count against the proof's budget or pace."""
        self.deadline += seconds
        self.began += seconds

    def run(self, pause: float, cut: bool = True) -> str:
        """Go on until done, a counterexample, a stall (deadline, or a pace that cannot
        finish) or ``pause``, whichever first; without ``cut``, a question that is being
        asked at ``pause`` is not cut short (the pause comes after it)."""
        while self.k <= self.u.env.depth:
            todo = [s for s in self.sites if s.step == self.k]
            while self.i < len(todo):
                now = time.perf_counter()
                if now >= pause:
                    return _PAUSED
                left = self.deadline - now
                if left <= 0 or _hopeless(self.i, len(todo), now - self.began, left):
                    return _STALLED
                self.queries += 1
                until = min(self.deadline, pause) if cut else self.deadline
                r, self.model, self.facts_first = _quick(
                    self.solver, todo[self.i].violated, until, self.facts_first)
                if r == z3.unknown:
                    r, self.model = by_cases(self.u.sym.constraints, todo[self.i].violated,
                                             [sv.choice for sv in self.u.sym.steps[:self.k]],
                                             until, self.facts_first)
                if self.model is not None:
                    return _VIOLATED
                if r == z3.unknown:
                    if cut and time.perf_counter() >= pause:
                        return _PAUSED  # asked again after the pause, with the time left
                    return _STALLED
                self.i += 1
            self.k, self.i, self.began = self.k + 1, 0, time.perf_counter()
        return _DONE


def _assumptions_hold(v: Verdict, solver: z3.Solver, timeout_s: float, t0: float) -> bool:
    """Witness 1: the envelope's assumptions (on ``solver``) can hold at all. If not, or if
    the solver cannot tell, ``v`` says so and is final."""
    solver.set("timeout", max(1000, int(timeout_s * 1000)))  # a small query: let it finish
    r = solver.check()
    v.witnesses["assumptions"] = {"satisfiable": r == z3.sat}
    if r == z3.unknown:
        v.reason = "the solver could not decide whether the assumptions can hold"
    elif r != z3.sat:
        v.verdict, v.reason = VACUOUS, "the envelope's assumptions are contradictory"
    v.seconds = time.perf_counter() - t0
    return r == z3.sat


def _hopeless(done: int, total: int, spent: float, left: float) -> bool:
    """Whether a step's other checks, at the pace of its first ``done``, would need more than
    ``PACE_MARGIN`` times the time left. The step then stalls at once, with the verdict the
    deadline would give, instead of spending the rest of the budget to reach it."""
    return done >= PACE_AFTER and spent / done * (total - done) > PACE_MARGIN * left


def _quick(solver: z3.Solver, term: z3.BoolRef, deadline: float, facts_first: bool
           ) -> tuple[z3.CheckSatResult, z3.ModelRef | None, bool]:
    """A check's brief tries, plain and with its divisions' order facts (``proofs.floors``),
    in the order that decided the last check: the facts cost little where they help and a
    lot where they do not (vcpus-agree), and a cell's checks are mostly of one kind."""
    r, model = z3.unknown, None
    for with_facts in (facts_first, not facts_first):
        asked = with_order_facts(term) if with_facts else term
        r, model = _ask(solver, asked, min(QUICK_S, deadline - time.perf_counter()))
        if r != z3.unknown:
            return r, model, with_facts
    return r, model, facts_first


def _ask(solver: z3.Solver, term: z3.BoolRef, seconds: float
         ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
    """One question on a shared solver; unknown, unasked, when no time is left."""
    return (z3.unknown, None) if seconds <= 0 else scoped(solver, [term], seconds)


def _violated(u: Unrolling, v: Verdict, model: z3.ModelRef, step: int, t0: float) -> Verdict:
    params, events = decode(u, model, step)
    cx = replay(u.rules, u.env, v.prop, params, events, step)
    v.counterexample = cx
    if cx.replayed:
        v.verdict = VIOLATED
    else:
        v.verdict = TOOL_ERROR
        v.reason = ("the solver's counterexample does not replay in the concrete engine: "
                    "the two engines disagree (a tbcheck bug)")
    v.seconds = time.perf_counter() - t0
    return v


def check_rules(rules: type[RuleSet], props: list[str], env: Envelope,
                timeout_s: float = 20.0, use_assumptions: bool = False,
                fuzz_examples: int = 0, deepen: bool = False,
                induction_s: float = 0.0, random_runs: int = 0, induction_first: bool = False,
                searches: Searches | None = None) -> list[Verdict]:
    """Each property's verdict; the rule set is unrolled once per distinct envelope (a cell
    may declare assumptions, e.g. the seed's synchronised clocks, when ``use_assumptions``).

    With ``deepen``, a property the solver cannot decide at the full depth (and for which no
    counterexample was found there) is reported ``proved`` to the deepest depth whose every
    check the solver decided (``depth`` says it; ``reason`` says where it stopped).
    With ``induction_s`` > 0, a property whose bounded proof is slow is tried by induction
    (``check``), with an invariant searched for that long at most, once per rule set,
    envelope and worker (with ``searches``, shared by a run's workers: one search of it at a
    time, none after one ran out, a found invariant's facts handed on); with
    ``induction_first``, every property the random runs do not refute is."""
    groups: dict[tuple[tuple[str, Any], ...], list[str]] = {}
    for p in props:
        extra = rules.assume.get(p, {}) if use_assumptions else {}
        groups.setdefault(tuple(sorted(extra.items())), []).append(p)
    found: dict[str, Verdict] = {}
    for extra, group in groups.items():
        cell_env = replace(env, **dict(extra)) if extra else env
        inductor = (_work(rules, cell_env).inductor(induction_s, searches)
                    if induction_s > 0 else None)
        for p in group:
            t0 = time.perf_counter()
            v = _hunted_first(rules, p, cell_env, timeout_s, random_runs) if random_runs \
                else None
            if v is None:
                hunting = time.perf_counter() - t0  # the runs count in the cell's time
                v = check(_work(rules, cell_env).unrolled(), p, timeout_s, fuzz_examples,
                          inductor, random_runs, deepen, induction_first)
                v.seconds += hunting
            v.assumptions = cell_env.default_assumptions()
            found[p] = v
    return [found[p] for p in props]


def _hunted_first(rules: type[RuleSet], prop: str, env: Envelope, timeout_s: float,
                  runs: int) -> Verdict | None:
    """The random runs' verdict, if they find a violation: that needs no unrolling (about a
    second a rule set at depth 8), only the envelope's symbols for witness 1. When they find
    none, ``check`` asks witness 1 itself (and gets the runs from the worker's memo)."""
    t0 = time.perf_counter()
    v = Verdict(rules.name, prop, UNKNOWN, env.depth)
    if _hunted(rules, env, v, runs, t0) is None:
        return None
    solver = z3.Solver()
    solver.add(symbols(env).constraints)
    return v if _assumptions_hold(v, solver, timeout_s, t0) else None  # else ``check`` says


@dataclass
class _Work:
    """What a worker keeps of the rule set and envelope of its last cell (a worker given one
    cell at a time is given a rule set's cells one after another): the unrolling, built when
    a cell first needs it, and what the random runs found for each property (asked before
    the unrolling, then again by ``check``). Solving adds nothing to an unrolling (each query
    is pushed and popped or on its own solver)."""

    rules: type[RuleSet]
    env: Envelope
    unrolling: Unrolling | None = None
    hunts: dict[tuple[str, int], Found] = field(default_factory=dict)
    # by search budget and the run whose workers share their searches (a new run, a new
    # induction: the last run's shared folder is gone)
    inductors: dict[tuple[float, Searches | None], Inductor] = field(default_factory=dict)

    def unrolled(self) -> Unrolling:
        if self.unrolling is None:
            self.unrolling = unroll(self.rules, self.env)
        return self.unrolling

    def inductor(self, budget_s: float, searches: Searches | None = None) -> Inductor:
        """The rule set's induction, its invariant searched for once a worker."""
        if (budget_s, searches) not in self.inductors:
            self.inductors[budget_s, searches] = Inductor(self.rules, self.env, budget_s,
                                                          searches=searches)
        return self.inductors[budget_s, searches]

    def hunted(self, prop: str, runs: int) -> Found:
        if (prop, runs) not in self.hunts:
            self.hunts[prop, runs] = hunt(self.rules, prop, self.env, runs)
        return self.hunts[prop, runs]


_LAST: list[_Work] = []


def _work(rules: type[RuleSet], env: Envelope) -> _Work:
    if not (_LAST and _LAST[0].rules is rules and _LAST[0].env == env):
        _LAST[:] = [_Work(rules, env)]
    return _LAST[0]
