"""The same event sequence on symbolic numbers: the bridge between the fuzzer and the solver.

Every constant of a fuzzer example (frequencies, counters, clocks, TB, each duration) becomes a
z3 integer of the same C type and range the symbolic engine uses, bound to its concrete value.
The world then runs the fixed event sequence once on symbols: one control path, or more where a
rule refuses a migration under a condition only the solver knows. Substituting the bindings into
the terms must give back the concrete run (the engines agree), and a violation the fuzzer found
must be a satisfiable query (the solver would have found it too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import z3

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import U64, Bool, Int, Num, fresh, value
from tbcheck.model.events import Event, LoadVM, Migrate, MigrateFail, Run, SaveVM, Write
from tbcheck.model.world import HostParams, Params, Path, World
from tbcheck.proofs.draws import ParamDraw
from tbcheck.proofs.envelope import Envelope
from tbcheck.properties.monitor import Monitor, Tolerances


@dataclass
class SymbolicRun:
    """The paths of the symbolic run, the symbols' ranges and their concrete values."""

    paths: list[Path]
    dropped: list[Path]  # paths on which a later event was not enabled
    ranges: list[z3.BoolRef] = field(default_factory=list)
    bindings: list[tuple[z3.ArithRef, int]] = field(default_factory=list)

    def equalities(self) -> list[z3.BoolRef]:
        return [s == v for s, v in self.bindings]

    def at(self, x: Num | Bool) -> int | bool:
        """``x`` with every symbol replaced by its concrete value (a lazily wrapped number is
        reduced into its C type first, as ``model.domain.value`` does with a solver model)."""
        if isinstance(x, Num) and hasattr(x, "reduced"):
            x = x.reduced()
        raw = x.v
        if not isinstance(raw, z3.ExprRef):
            return raw if isinstance(x, Bool) else int(raw)
        r = z3.simplify(z3.substitute(raw, *[(s, z3.IntVal(v)) for s, v in self.bindings]))
        if isinstance(x, Bool):
            if not (z3.is_true(r) or z3.is_false(r)):
                raise ValueError(f"not a constant after substitution: {r}")
            return z3.is_true(r)
        if not z3.is_int_value(r):
            raise ValueError(f"not a constant after substitution: {r}")
        return r.as_long()  # type: ignore[no-any-return]

    def taken(self) -> Path:
        """The one path whose condition holds at the concrete values."""
        live = [p for p in self.paths if self.at(p.cond)]
        if len(live) != 1:
            raise AssertionError(f"{len(live)} symbolic paths hold at the concrete values")
        return live[0]


def symbolic_run(rules: type[RuleSet], env: Envelope, draw: ParamDraw,
                 events: list[Event]) -> SymbolicRun:
    """Run ``events`` (all enabled on the concrete run) on symbols bound to ``draw``'s values."""
    out = SymbolicRun([], [])
    top = env.max_initial - 1

    def var(t: type[Num], name: str, lo: int, hi: int, val: int) -> Num:
        n, c = fresh(t, name, lo, hi)
        out.ranges.append(c)
        out.bindings.append((n.v, val))
        return n

    hosts = [HostParams(var(Int, f"freq{i}", env.fmin_hz, env.fmax_hz, h.freq),
                        var(U64, f"counter{i}", 0, top, h.counter0),
                        var(Int, f"skew{i}", 0, top + env.eps_ns, draw.realtime0 + h.e_skew),
                        var(Int, f"mono{i}", 0, top, h.mono0), Bool(h.scales), draw.frac_bits)
             for i, h in enumerate(draw.hosts)]
    params = Params(hosts, var(U64, "tb0", 0, top, draw.tb0), draw.ncpus)
    tol = Tolerances(params.f_g, env.eps_ns, env.slack_ticks, rules.offset_granularity)
    world = World(rules, params, Monitor(tol))
    frontier = [world.boot()]
    for k, ev in enumerate(events, start=1):
        sev = _symbolic_event(ev, k, env, var)
        nxt: list[Path] = []
        for p in frontier:
            if world.enabled(p.ws, sev):
                nxt += world.step(p, sev)
            else:
                out.dropped.append(p)
        frontier = nxt
    out.paths = frontier
    return out


def _symbolic_event(ev: Event, k: int, env: Envelope, var: Any) -> Event:
    """The event with each duration a bound symbol (control parameters stay as they are)."""
    def ph(name: str, x: Num) -> Num:
        return var(Int, f"{name}{k}", 0, env.max_phase_ns, int(value(x)))

    if isinstance(ev, Run):
        return Run(var(Int, f"d{k}", 0, env.max_run_ns, int(value(ev.d))))
    if isinstance(ev, Migrate):
        return Migrate(ev.dst, ph("p_save", ev.p_save), ph("p_transfer", ev.p_transfer),
                       ph("p_resume", ev.p_resume), ev.paused)
    if isinstance(ev, MigrateFail):
        return MigrateFail(ph("p_save", ev.p_save), ph("p_cancel", ev.p_cancel))
    if isinstance(ev, SaveVM):
        return SaveVM(ev.name, ph("p_ram", ev.p_ram))
    if isinstance(ev, LoadVM):
        return LoadVM(ev.name, ph("p_load", ev.p_load))
    if isinstance(ev, Write):
        return Write(ev.cpu, var(U64, f"w{k}", 0, env.max_initial - 1, int(value(ev.tb))))
    return ev


def violation_query(run: SymbolicRun, prop: str, index: int) -> tuple[z3.BoolRef, list[Any]]:
    """The term "the path is taken and its ``index``-th check of ``prop`` fails", with the
    assertions that pin every symbol to the example's value."""
    path = run.taken()
    checks = [c for _, c in path.checks if c.prop == prop]
    chk = checks[index]
    pc, ok = path.cond.v, chk.ok.v
    term = z3.And(pc if isinstance(pc, z3.ExprRef) else z3.BoolVal(pc),
                  z3.Not(ok if isinstance(ok, z3.ExprRef) else z3.BoolVal(ok)))
    return term, [*run.ranges, *run.equalities()]


def unroll_query(rules: type[RuleSet], env: Envelope, draw: ParamDraw, events: list[Event],
                 prop: str) -> tuple[z3.BoolRef, list[Any]]:
    """The SMT engine's own query for ``prop`` (``proofs.unroll``), pinned to this example.

    The unrolling has one event per step followed by a run of the remaining time; the example
    maps onto it: reads are dropped (every running instant already ends in a read), runs are
    summed into the step before them, phases an event does not use are 0.
    """
    from dataclasses import replace

    from tbcheck.proofs.unroll import alternatives, unroll

    steps = _as_steps(events)
    depth = max(1, len(steps))
    steps += [(("run",), [], 0, 0)] * (depth - len(steps))
    u = unroll(rules, replace(env, depth=depth))
    alts = alternatives(u.env, rules.guest_writes_tb)
    pins: list[Any] = []
    for sv, (alt, phases, d, w) in zip(u.sym.steps, steps, strict=True):
        j = alts.index(alt)
        if isinstance(sv.choice, list):  # one-hot Booleans
            pins += [c if i == j else z3.Not(c) for i, c in enumerate(sv.choice)]
        else:  # an integer index
            pins.append(sv.choice == j)
        pins.append(sv.d.v == d)
        if sv.w.symbolic:
            pins.append(sv.w.v == w)
        for p, x in zip((sv.p1, sv.p2, sv.p3), [*phases, 0, 0, 0], strict=False):
            pins.append(p.v == x)
    ps = u.sym.params
    for hp, h in zip(ps.hosts, draw.hosts, strict=True):
        pins += [hp.freq.v == h.freq, hp.counter0.v == h.counter0,
                 hp.skew.v == draw.realtime0 + h.e_skew, hp.mono0.v == h.mono0]
        if hp.scaling.symbolic:
            pins.append(hp.scaling.v == h.scales)
    pins.append(ps.tb0.v == draw.tb0)
    term = z3.Or([s.violated for s in u.sites.get(prop, [])] or [z3.BoolVal(False)])
    return term, [*u.sym.constraints, *pins]


def _as_steps(events: list[Event]) -> list[tuple[tuple[Any, ...], list[int], int, int]]:
    """Each step's alternative, phases, the run after it, and the TB a write writes."""
    from tbcheck.model.events import Cont, Read, Stop

    steps: list[tuple[tuple[Any, ...], list[int], int, int]] = []
    for ev in events:
        if isinstance(ev, Read):
            continue
        if isinstance(ev, Run):
            if not steps:
                steps.append((("run",), [], 0, 0))
            alt, ph, d, w = steps[-1]
            steps[-1] = (alt, ph, d + int(value(ev.d)), w)
            continue
        if isinstance(ev, Write):
            steps.append((("write", ev.cpu), [], 0, int(value(ev.tb))))
            continue
        if isinstance(ev, Stop):
            steps.append((("stop",), [], 0, 0))
        elif isinstance(ev, Cont):
            steps.append((("cont",), [], 0, 0))
        elif isinstance(ev, Migrate):
            phases = [int(value(x)) for x in (ev.p_save, ev.p_transfer, ev.p_resume)]
            steps.append((("migrate-paused" if ev.paused else "migrate", ev.dst), phases, 0, 0))
        elif isinstance(ev, MigrateFail):
            steps.append((("migrate-fail",), [int(value(ev.p_save)), int(value(ev.p_cancel))],
                          0, 0))
        elif isinstance(ev, SaveVM):
            steps.append((("savevm", ev.name), [int(value(ev.p_ram))], 0, 0))
        elif isinstance(ev, LoadVM):
            steps.append((("loadvm", ev.name), [int(value(ev.p_load))], 0, 0))
    return steps
