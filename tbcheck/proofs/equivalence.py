"""Are two rule sets guest-visibly equal? The same reads for every event sequence to a depth.

Both rule sets run in one unrolling (``proofs.unroll``), side by side in the same world: a
product rule set gives each its own vCPUs (A the first ``n``, B the next ``n``) and its own view
of every hook, so the two share every event choice, duration and world parameter, and a state
is merged only where both agree on their control. Where the two compute the same values, their
merged numbers are the very same z3 terms, and the reads' equality needs no solver. (A rule
set that refuses a migration forks the world, which one world cannot do for one rule set and
not the other: such a pair is unrolled twice over the same symbols, which z3 names by the
envelope alone, and compared read by read.) Each read the guest makes at step ``k`` (its place
``r`` among the step's reads, every vCPU) becomes one term a rule set, over those symbols; the
two differ at step ``k`` when some sequence gives the step a different number of reads or a
read a different value. Steps are asked in order, so the first difference found is at the
least depth that has one: the shortest distinguishing sequence, decoded and replayed on the
concrete engine, where both rule sets must show it (else the engines disagree: a tbcheck bug,
reported as such).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import z3

from tbcheck.model.api import PAUSED, VM, Record, Refusal, RuleSet
from tbcheck.model.domain import Num, value
from tbcheck.model.events import Event
from tbcheck.model.world import Params, Path
from tbcheck.proofs.bounded import probe_solver
from tbcheck.proofs.budget import MEGA, Budget, spent_so_far
from tbcheck.proofs.cases import by_cases
from tbcheck.proofs.concrete import Trace, run
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.proofs.passes import ASSUME
from tbcheck.proofs.query import scoped
from tbcheck.proofs.unroll import Unrolling, as_z3, unroll
from tbcheck.proofs.verdict import decode

EQUAL, DIFFERENT, UNKNOWN, TOOL_ERROR = "equal", "different", "unknown", "tool-error"
UNITS = 50 * MEGA  # the whole comparison's budget, by default
PROBE = 2 * MEGA  # a step's first question, with one frequency on every host (linear)


@dataclass
class Reads:
    """One rule set's reads, step by step, as terms over the shared symbols: ``count[k]`` how
    many instants the guest reads at step ``k`` (-1 where the sequence is not possible),
    ``tb[k][r][i]`` vCPU ``i``'s TB at the ``r``-th of them, and ``paused[k]`` whether the
    VM is paused when step ``k`` ends."""

    count: list[z3.ArithRef] = field(default_factory=list)
    tb: list[list[list[z3.ArithRef]]] = field(default_factory=list)
    paused: list[z3.BoolRef] = field(default_factory=list)


@dataclass
class _Seen:
    """What the comparison keeps of a path at the end of a step: its condition, the step's
    reads (vCPU by vCPU, instant by instant) and whether the VM is paused."""

    cond: z3.BoolRef
    reads: list[list[Num]]
    paused: bool


def _seen(p: Path) -> _Seen:
    by_instant: list[list[Num]] = []
    for o in p.observations:
        if o.cpu == 0:
            by_instant.append([])
        by_instant[-1].append(o.tb)
    return _Seen(as_z3(p.cond), by_instant, p.ws.vm.state == PAUSED)


def _terms(seen: list[_Seen]) -> tuple[z3.ArithRef, list[list[z3.ArithRef]], z3.BoolRef]:
    """A step's reads over its paths (disjoint conditions) as ``ite`` terms."""
    count: z3.ArithRef = z3.IntVal(-1)
    for s in reversed(seen):
        count = z3.If(s.cond, z3.IntVal(len(s.reads)), count)
    width = max((len(s.reads) for s in seen), default=0)
    ncpus = max((len(s.reads[0]) for s in seen if s.reads), default=0)
    tbs = []
    for r in range(width):
        per_cpu = []
        for i in range(ncpus):
            t: z3.ArithRef = z3.IntVal(0)
            for s in reversed(seen):
                if len(s.reads) > r:
                    t = z3.If(s.cond, _int(s.reads[r][i]), t)
            per_cpu.append(t)
        tbs.append(per_cpu)
    paused = z3.Or([s.cond for s in seen if s.paused] or [z3.BoolVal(False)])
    return count, tbs, paused


def _int(x: Num) -> z3.ArithRef:
    return x.v if x.symbolic else z3.IntVal(int(x.v))


class NotPairable(Exception):
    """The two rule sets cannot share one world: a migration one refuses, the other may not."""


def paired(a: type[RuleSet], b: type[RuleSet], n: int) -> type[RuleSet]:
    """A rule set running ``a`` on the VM's first ``n`` vCPUs and ``b`` on the next ``n``,
    each hook given to both, each with a view of the VM that holds its own vCPUs only."""

    def views(vm: VM) -> tuple[VM, VM]:
        return (VM(vm.host, vm.cpus[:n], vm.state, vm.autostart),
                VM(vm.host, vm.cpus[n:], vm.state, vm.autostart))

    class Pair(RuleSet):
        name = f"{a.name} | {b.name}"
        scales = a.scales or b.scales  # each scales only its own vCPUs, if it declares so
        # a guest's write is offered where both machines let the guest write its TB; it writes
        # the same vCPU of both (vCPU i of A and vCPU i of B, whichever of the two is named)
        guest_writes_tb = a.guest_writes_tb and b.guest_writes_tb

        def __init__(self) -> None:
            self.a, self.b = a(), b()

        def setup(self, vm: VM) -> None:
            va, vb = views(vm)
            self.a.setup(va)
            self.b.setup(vb)

        def boot(self, vm: VM, tb0: Any) -> None:
            va, vb = views(vm)
            self.a.boot(va, tb0)
            self.b.boot(vb, tb0)

        def stop(self, vm: VM, state: str) -> None:
            va, vb = views(vm)
            self.a.stop(va, state)
            self.b.stop(vb, state)

        def cont(self, vm: VM) -> None:
            va, vb = views(vm)
            self.a.cont(va)
            self.b.cont(vb)

        def pre_save(self, vm: VM) -> Record:
            va, vb = views(vm)
            return Record(a=self.a.pre_save(va), b=self.b.pre_save(vb))

        def post_load(self, vm: VM, record: Record) -> Refusal | None:
            va, vb = views(vm)
            got = [x for x in (self.a.post_load(va, record.a), self.b.post_load(vb, record.b))
                   if x is not None and (x.when.symbolic or x.when)]
            if not got:
                return None
            if len(got) == 2 and _same(got[0].when, got[1].when):
                return got[0]
            raise NotPairable(f"{a.name} and {b.name} refuse migrations differently")

        def read_tb(self, vm: VM, cpu: Any) -> Any:
            va, vb = views(vm)
            if any(c is cpu for c in va.cpus):
                return self.a.read_tb(va, cpu)
            return self.b.read_tb(vb, cpu)

        def write_tb(self, vm: VM, cpu: Any, value: Any) -> None:
            va, vb = views(vm)
            i = next(j for j, c in enumerate(vm.cpus) if c is cpu) % n
            self.a.write_tb(va, va.cpus[i], value)
            self.b.write_tb(vb, vb.cpus[i], value)

    return Pair


def _same(x: Any, y: Any) -> bool:
    if x.symbolic and y.symbolic:
        return bool(x.v.eq(y.v))
    return not x.symbolic and not y.symbolic and bool(x.v) == bool(y.v)


def _split(r: Reads, n: int) -> tuple[Reads, Reads]:
    """The product's reads as A's (the first ``n`` vCPUs) and B's (the next ``n``)."""
    return (Reads(r.count, [[row[:n] for row in step] for step in r.tb], r.paused),
            Reads(r.count, [[row[n:] for row in step] for step in r.tb], r.paused))


def unroll_both(a: type[RuleSet], b: type[RuleSet], env: Envelope
                ) -> tuple[Unrolling, Reads, Reads]:
    """Both rule sets' reads over the same symbols: one product unrolling if they can share
    the world, else one unrolling each."""
    try:
        u, r = unroll_reads(paired(a, b, env.ncpus), replace(env, ncpus=2 * env.ncpus))
        return u, *_split(r, env.ncpus)
    except NotPairable:
        ua, ra = unroll_reads(a, env)
        _, rb = unroll_reads(b, env)
        return ua, ra, rb


def unroll_reads(rules: type[RuleSet], env: Envelope) -> tuple[Unrolling, Reads]:
    """The rule set unrolled over the envelope's symbols, with its reads."""
    steps: dict[int, list[_Seen]] = {}
    u = unroll(rules, env, lambda p: steps.setdefault(p.step, []).append(_seen(p)))
    reads = Reads()
    for k in range(env.depth + 1):
        count, tbs, paused = _terms(steps.get(k, []))
        reads.count.append(count)
        reads.tb.append(tbs)
        reads.paused.append(paused)
    return u, reads


def differ_at(a: Reads, b: Reads, k: int) -> z3.BoolRef:
    """Some sequence gives step ``k`` a different number of reads, or a different read."""
    ca, cb = a.count[k], b.count[k]
    terms: list[z3.BoolRef] = [ca != cb]
    for r in range(min(len(a.tb[k]), len(b.tb[k]))):
        vals = [x != y for x, y in zip(a.tb[k][r], b.tb[k][r], strict=True)
                if not x.eq(y)]
        if vals:
            terms.append(z3.And(ca > r, z3.Or(vals)))
    for r in range(len(b.tb[k]), len(a.tb[k])):  # reads only A can make: the count differs
        terms.append(z3.And(ca > r, cb <= r))
    return z3.simplify(z3.Or(terms))


#: a class of sequences left out of the comparison, given the choices and the world's steps
Exclusion = Callable[[Unrolling, Reads], list[z3.BoolRef]]


def paused_double_hop(u: Unrolling, reads: Reads) -> list[z3.BoolRef]:
    """Per step ``k``: within the first ``k`` steps, a guest that arrived paused by migration
    (a paused guest's, or a running guest's into a destination started paused) is saved again
    before it runs (migrated again, a migration cancelled, or a snapshot taken): QEMU's sPAPR
    bug of v1 to v4. ``reads.paused`` says where the VM is paused."""
    def kind(k: int, names: tuple[str, ...]) -> z3.BoolRef:
        sv = u.sym.steps[k - 1]
        return z3.Or([c for c, alt in zip(sv.choice, u.alts, strict=True)
                      if alt[0] in names] or [False])

    armed: z3.BoolRef = z3.BoolVal(False)
    seen: z3.BoolRef = z3.BoolVal(False)
    out = [seen]
    for k in range(1, u.env.depth + 1):
        seen = z3.Or(seen, z3.And(armed, kind(k, ("migrate", "migrate-fail", "savevm"))))
        armed = z3.Or(z3.And(reads.paused[k - 1], kind(k, ("migrate",))),
                      z3.And(reads.paused[k], kind(k, ("migrate-paused",))),
                      z3.And(armed, z3.Not(kind(k, ("cont",)))))
        out.append(seen)
    return out


EXCLUSIONS: dict[str, tuple[Exclusion, str]] = {
    "paused-double-hop": (paused_double_hop,
                          "a guest that arrived paused by migration is saved again before it "
                          "runs (migrated again, a migration cancelled, or a snapshot taken)"),
}


@dataclass
class Difference:
    """The shortest distinguishing sequence, replayed on both rule sets."""

    params: Params
    events: list[Event]
    step: int
    a: Trace
    b: Trace
    first: int | None  # index into both traces' observations of the first read that differs


@dataclass
class Comparison:
    a: str
    b: str
    verdict: str
    depth: int  # equal to this depth (the one asked when proved; less when unknown deeper)
    asked: int
    seconds: float = 0.0
    resources: int = 0
    queries: int = 0
    reason: str = ""
    excluded: str | None = None
    difference: Difference | None = None
    shortest: bool = True  # whether every shorter depth was proved equal


def compare(a_rules: type[RuleSet], b_rules: type[RuleSet], env: Envelope,
            units: int = UNITS, exclude: str | None = None) -> Comparison:
    """Equal to ``env.depth``, or the shortest difference, or unknown within ``units``."""
    t0, r0 = time.perf_counter(), spent_so_far()
    ua, ra, rb = unroll_both(a_rules, b_rules, env)
    c = Comparison(a_rules.name, b_rules.name, UNKNOWN, -1, env.depth, excluded=exclude)
    base = list(ua.sym.constraints)
    if exclude is not None:
        kept = EXCLUSIONS[exclude][0](ua, ra)
    budget = Budget(units)
    exact = z3.Solver()
    exact.add(base)
    probe = probe_solver(ua)
    readable = _readable(ua)
    # the comparison's witness: some sequence of the depth is left to compare
    r, _ = scoped(exact, [z3.Not(kept[-1])] if exclude is not None else [], ASSUME)
    if r != z3.sat:
        c.reason = ("the envelope's assumptions (and the exclusion) leave no sequence to "
                    "compare" if r == z3.unsat else "the solver could not decide whether the "
                    "envelope's assumptions can hold")
        return _done(c, t0, r0)
    undecided: int | None = None
    for k in range(env.depth + 1):
        term = differ_at(ra, rb, k)
        if exclude is not None:
            term = z3.simplify(z3.And(term, z3.Not(kept[k])))
        if z3.is_false(term):  # the same terms: equal by construction
            if undecided is None:
                c.depth = k
            continue
        # a search first, with one frequency on every host (and readable durations): a
        # model of it is a real difference; its unsat proves nothing
        model, r = None, z3.unknown
        for extra in (readable, []):
            c.queries += 1
            _, model = scoped(probe, [term, *extra], budget.share(PROBE))
            if model is not None:
                break
        if model is None and undecided is None:  # the proof (not after an undecided step)
            c.queries += 1
            r, model = scoped(exact, [term], budget.share(max(PROBE, budget.left // 3)))
            if r == z3.unknown:  # the rest by cases on the events of the first steps
                r, model = by_cases(base, term, [sv.choice for sv in ua.sym.steps[:k]], budget)
        if model is not None:
            c.verdict, c.shortest = DIFFERENT, undecided is None
            return _done(_replayed(c, ua, model, k, a_rules, b_rules, env), t0, r0)
        if r == z3.unsat and undecided is None:
            c.depth = k
        elif undecided is None:
            undecided = k
    if undecided is None:
        c.verdict = EQUAL
    else:
        c.reason = (f"the solver did not decide depth {undecided} within {units:,} resource "
                    f"units; equal to depth {c.depth}; no difference found to depth "
                    f"{env.depth}")
    return _done(c, t0, r0)


def _readable(u: Unrolling) -> list[z3.BoolRef]:
    """Tried first, for a difference a person reads at a glance: every duration a whole
    number of milliseconds (a model of it is a model of the whole question)."""
    out = []
    for sv in u.sym.steps:
        out += [x.v % 10**6 == 0 for x in (sv.d, sv.p1, sv.p2, sv.p3) if x.symbolic]
    return out


def _done(c: Comparison, t0: float, r0: int) -> Comparison:
    c.seconds = time.perf_counter() - t0
    c.resources = spent_so_far() - r0
    return c


def _replayed(c: Comparison, u: Unrolling, model: z3.ModelRef, k: int,
              a_rules: type[RuleSet], b_rules: type[RuleSet], env: Envelope) -> Comparison:
    """The model's first ``k`` steps, run on both rule sets by the concrete engine."""
    params, events = decode(u, model, k)
    params = replace(params, ncpus=env.ncpus)  # a product unrolling has both sets of vCPUs
    ta = run(a_rules, params, events, tolerances(a_rules, env, params))
    tb = run(b_rules, params, events, tolerances(b_rules, env, params))
    first = first_difference(ta, tb)
    c.difference = Difference(params, events, k, ta, tb, first)
    if first is None:
        c.verdict = TOOL_ERROR
        c.reason = ("the solver's distinguishing sequence gives the same reads on the concrete "
                    "engine: the two engines disagree (a tbcheck bug)")
    return c


def first_difference(a: Trace, b: Trace) -> int | None:
    """The index of the first read (an observation of one vCPU) that differs, or where one
    trace has a read the other has not; None when the two read alike."""
    for i, (x, y) in enumerate(zip(a.observations, b.observations, strict=False)):
        if (x.step, x.cpu) != (y.step, y.cpu) or value(x.tb) != value(y.tb):
            return i
    if len(a.observations) != len(b.observations):
        return min(len(a.observations), len(b.observations))
    return None
