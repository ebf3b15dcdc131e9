"""Unroll the world ``depth`` events deep over symbolic parameters, merging states.

Every duration, frequency, skew, initial counter and TB is a z3 integer within the envelope;
which event happens at step k is the symbolic one-hot choice ``e{k}_{j}``. The world (and so
the rule set) runs once per *control state* and event: states that agree on their control
(run state, host, rule flags, which snapshots exist ...) are merged into one whose numbers
are ``ite`` over the path conditions. Each property check the world emits becomes a violation term
``path condition and not ok`` for the solver.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import z3

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import U64, Bool, Int, Num, fresh, z3_and, z3_not
from tbcheck.model.events import (
    Cont,
    Event,
    LoadVM,
    Migrate,
    MigrateFail,
    Run,
    SaveVM,
    Stop,
    Write,
)
from tbcheck.model.structure import clone, key, merge
from tbcheck.model.world import HostParams, Params, Path, World, WorldState
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.properties.monitor import Check, Monitor

Alternative = tuple[Any, ...]  # ("run",), ("migrate", dst), ("migrate-paused", dst) ...


def alternatives(env: Envelope, writes: bool = False) -> list[Alternative]:
    """Each step's possible events; ``writes``: the rule set's machine lets the guest write its
    TB (``RuleSet.guest_writes_tb``), one alternative a vCPU."""
    alts: list[Alternative] = [("run",), ("stop",), ("cont",)]
    alts += [("migrate", h) for h in range(env.nhosts)]
    alts += [("migrate-paused", h) for h in range(env.nhosts)]  # into a destination with -S
    alts += [("migrate-fail",)]
    alts += [("savevm", s) for s in env.slots] + [("loadvm", s) for s in env.slots]
    if writes:
        alts += [("write", i) for i in range(env.ncpus)]
    return alts


@dataclass
class StepVars:
    choice: list[z3.BoolRef]  # choice[j]: the step's event is alternative j
    d: Num
    p1: Num
    p2: Num
    p3: Num
    w: Num = field(default_factory=lambda: U64(0))  # the TB a guest's write writes

    def rest(self, alt: Alternative) -> Num:
        """How long the VM is left alone after the event, so that every alternative ends the
        step at the same instant ``t_k + p1 + p2 + p3 + d`` (one time term, never an ``ite``)."""
        used = {"migrate": 3, "migrate-paused": 3, "migrate-fail": 2, "savevm": 1,
                "loadvm": 1}.get(alt[0], 0)
        total = self.d
        for p in (self.p3, self.p2, self.p1)[: 3 - used]:
            total = total + p
        return total

    def event(self, alt: Alternative) -> Event:
        kind = alt[0]
        if kind == "run":
            return Run(Int(0))
        if kind == "stop":
            return Stop()
        if kind == "cont":
            return Cont()
        if kind == "migrate":
            return Migrate(alt[1], self.p1, self.p2, self.p3)
        if kind == "migrate-paused":
            return Migrate(alt[1], self.p1, self.p2, self.p3, paused=True)
        if kind == "migrate-fail":
            return MigrateFail(self.p1, self.p2)
        if kind == "savevm":
            return SaveVM(alt[1], self.p1)
        if kind == "loadvm":
            return LoadVM(alt[1], self.p1)
        if kind == "write":
            return Write(alt[1], self.w)
        raise AssertionError(kind)


@dataclass
class Symbols:
    """The symbolic parameters of one unrolling and the constraints that bound them."""

    params: Params
    steps: list[StepVars]
    constraints: list[z3.BoolRef]


def symbols(env: Envelope, prefix: str = "", scaling: bool = False,
            writes: bool = False) -> Symbols:
    """``scaling``: the rule set declares it scales, so each host's scaling is an unknown where
    the envelope leaves it open (for any other rule set it is never read: a constant)."""
    cons: list[z3.BoolRef] = []

    def var(t: type[Num], name: str, lo: int, hi: int) -> Num:
        v, c = fresh(t, prefix + name, lo, hi)
        cons.append(c)
        return v

    top = env.max_initial - 1
    shared_f = var(Int, "freq", env.fmin_hz, env.fmax_hz) if env.same_frequency else None
    base = var(Int, "realtime0", 0, top)  # realtime clocks: t + realtime0 + e_h, e_h in [0, eps]
    hosts = []
    for h in range(env.nhosts):
        f = shared_f if shared_f is not None else var(Int, f"freq{h}", env.fmin_hz, env.fmax_hz)
        e = var(Int, f"skew{h}", 0, env.eps_ns)
        skew = Int(base.v + e.v, base.lo, base.hi + env.eps_ns)
        scales = env.host_scales()
        hosts.append(HostParams(f, var(U64, f"counter{h}", 0, top), skew,
                                var(Int, f"mono{h}", 0, top),
                                Bool(z3.Bool(f"{prefix}scaling{h}")) if scales is None and
                                scaling else Bool(bool(scales)), env.frac_bits))
    params = Params(hosts, var(U64, "tb0", 0, top), env.ncpus)
    n_alt = len(alternatives(env, writes))
    steps = []
    for k in range(1, env.depth + 1):
        c = [z3.Bool(f"{prefix}e{k}_{j}") for j in range(n_alt)]  # one-hot: pure SAT
        cons.append(z3.PbEq([(b, 1) for b in c], 1))
        steps.append(StepVars(c, var(Int, f"d{k}", 0, env.max_run_ns),
                              var(Int, f"p{k}a", 0, env.max_phase_ns),
                              var(Int, f"p{k}b", 0, env.max_phase_ns),
                              var(Int, f"p{k}c", 0, env.max_phase_ns),
                              var(U64, f"w{k}", 0, top) if writes else U64(0)))
    return Symbols(params, steps, cons)


@dataclass
class Site:
    """A property check as the solver sees it."""

    step: int
    violated: z3.BoolRef
    reached: z3.BoolRef
    check: Check


@dataclass
class Unrolling:
    rules: type[RuleSet]
    env: Envelope
    sym: Symbols
    alts: list[Alternative]
    sites: dict[str, list[Site]] = field(default_factory=lambda: defaultdict(list))
    states_per_step: list[int] = field(default_factory=list)
    seconds: float = 0.0


def _same_instant(t: Num, t_end: Num) -> Num:
    """Every alternative of a step ends at ``t_end``: use that one term, never an ``ite`` of
    equal sums (checked, since a mistake here would change the semantics)."""
    if t is t_end or z3.eq(t.v, t_end.v):
        return t_end
    if not z3.is_true(z3.simplify(t.v == t_end.v, som=True)):
        raise AssertionError(f"step does not end at the common instant: {t.v} vs {t_end.v}")
    return t_end


_FALSE = z3.BoolVal(False)


def as_z3(b: Bool | bool) -> z3.BoolRef:
    """A truth value of the number domain (or a plain bool) as a z3 term."""
    v = b.v if isinstance(b, Bool) else b
    return v if isinstance(v, z3.BoolRef) else z3.BoolVal(bool(v))


def take(world: World, path: Path, sv: StepVars, alt: Alternative) -> list[Path]:
    """One step from ``path``: the alternative's event (none for "run"), then the run that
    ends the step; every path that follows (a refusal forks)."""
    step, out = path.step, []
    for p in [path] if alt[0] == "run" else world.step(path, sv.event(alt)):
        p.step = step  # the run after the event belongs to the same step
        out += world.step(p, Run(sv.rest(alt)))
    return out


def unroll(rules: type[RuleSet], env: Envelope,
           observe: Callable[[Path], None] | None = None) -> Unrolling:
    """With ``observe``, the world records the guest's reads and ``observe`` gets every path
    (the boot's, then each step's before the merge) with that step's reads."""
    t0 = time.perf_counter()
    sym = symbols(env, scaling=rules.scales, writes=rules.guest_writes_tb)
    world = World(rules, sym.params, Monitor(tolerances(rules, env, sym.params)),
                  record_observations=observe is not None)
    alts = alternatives(env, rules.guest_writes_tb)
    u = Unrolling(rules, env, sym, alts)
    init = world.boot()
    if observe is not None:
        observe(init)
    _collect(u, init)
    frontier: list[tuple[Bool, WorldState]] = [(init.cond, init.ws)]
    t_end: Num = Int(0)
    for k, sv in enumerate(sym.steps, start=1):
        t_end = t_end + sv.rest(("run",))
        groups: dict[Any, list[tuple[Bool, WorldState]]] = defaultdict(list)
        for pc, ws in frontier:
            for j, alt in enumerate(alts):
                ev = sv.event(alt)
                if not world.enabled(ws, ev):
                    continue
                path = Path(clone(ws), pc & Bool(sv.choice[j]), step=k - 1)
                for q in take(world, path, sv, alt):
                    q.ws.t = _same_instant(q.ws.t, t_end)
                    if observe is not None:
                        observe(q)
                    _collect(u, q)
                    groups[key(q.ws)].append((q.cond, q.ws))
        frontier = [merge(items) for items in groups.values()]
        u.states_per_step.append(len(frontier))
    u.seconds = time.perf_counter() - t0
    return u


def _collect(u: Unrolling, p: Path) -> None:
    """The path's checks as sites. A check whose violation and situation are the very terms of
    one already taken from this path (z3 shares equal terms: two vCPUs whose ``read_tb`` does
    the same arithmetic) is the same question, asked once."""
    pc = as_z3(p.cond)
    seen: set[tuple[str, int, int, int]] = set()
    for step, chk in p.checks:
        violated = _FALSE if chk.ok.v is True else z3_and(pc, z3_not(chk.ok.v))
        reached = z3_and(pc, chk.situation.v)
        same = (chk.prop, step, violated.get_id(), reached.get_id())
        if same in seen:
            continue
        seen.add(same)
        u.sites[chk.prop].append(Site(step, violated, reached, chk))
    p.checks.clear()
