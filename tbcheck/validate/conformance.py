"""Does a rule set predict what real QEMU showed? Replay each scenario in the concrete engine.

The scenario becomes the model's event sequence with the trace's real times: one host per QEMU
process, all with the nominal frequency and the same clocks (one machine: skews 0); a guest read
becomes ``read(vcpu)`` at its window's midpoint, and a read the guest cannot make (paused, the
stopped source's) is compared with the TB the model says the guest resumes from (or, for a
source the guest has left, the TB it stopped at).

When each action happened is known only within its window (a stop within its QMP command, the
boot within 40 ms of process start). Those instants are *fitted* (``fit``): the earliest reads
decide when, within its window, each action happened, and every read that cannot then be
explained is a mismatch. The dependence of a read on an instant comes from the engine itself (a
small finite difference), so any rule set is treated alike.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import U64, Int
from tbcheck.model.events import (
    Cont,
    Event,
    LoadVM,
    Migrate,
    MigrateFail,
    Read,
    Run,
    SaveVM,
    Stop,
    Write,
)
from tbcheck.model.world import HostParams, Params, RuleError
from tbcheck.proofs.concrete import NotEnabled, run
from tbcheck.properties.monitor import Tolerances
from tbcheck.validate.fit import Constraint, solve
from tbcheck.validate.mismatch import Mismatch, mismatch_at
from tbcheck.validate.records import InstantName as At
from tbcheck.validate.records import Reading, RecordedScenario, Step, TraceInfo
from tbcheck.validate.records import StepKind as Kind

SLACK = 2  # ticks of rounding, each side
PROBE_NS = 20_000  # finite-difference step for fitting an instant
PASSES = 2

Key = tuple[int, At]  # (step index, instant name)


@dataclass
class ScenarioResult:
    name: str
    reads: int = 0
    conforming: int = 0
    unpredicted: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)
    error: str | None = None  # the model could not replay the scenario
    fitted: dict[str, float] = field(default_factory=dict)  # instant -> ms from its estimate


@dataclass
class Conformance:
    variant: str
    scenarios: list[ScenarioResult]

    @property
    def reads(self) -> int:
        return sum(s.reads for s in self.scenarios)

    @property
    def conforming(self) -> int:
        return sum(s.conforming for s in self.scenarios)

    @property
    def unpredicted(self) -> int:
        return sum(s.unpredicted for s in self.scenarios)

    @property
    def mismatches(self) -> list[Mismatch]:
        return [m for s in self.scenarios for m in s.mismatches]

    @property
    def errors(self) -> list[str]:
        return [f"{s.name}: {s.error}" for s in self.scenarios if s.error]

    @property
    def ok(self) -> bool:
        return not self.errors and self.conforming == self.reads


@dataclass
class _Prediction:
    """One read with the model's value for it: ``value - below .. value + above`` is allowed."""

    read: Reading
    value: int
    below: int
    above: int

    @property
    def lo(self) -> int:
        return self.value - self.below

    @property
    def hi(self) -> int:
        return self.value + self.above

    @property
    def ok(self) -> bool:
        return self.lo <= self.read.tb <= self.hi

    @property
    def excess(self) -> int:
        return max(self.lo - self.read.tb, self.read.tb - self.hi, 0)


class _Replay:
    """One scenario under one rule set: events from instants, and the reads' model values."""

    def __init__(self, sc: RecordedScenario, rules: type[RuleSet], f_g: int, vcpus: int,
                 drift: Callable[[int], int] = lambda ns: 0) -> None:
        self.sc, self.rules, self.f, self.vcpus = sc, rules, f_g, vcpus
        self.drift = drift  # ticks a measured f_g's error is worth over ns since the boot
        self.keys: list[Key] = [(st.index, n) for st in sc.steps for n in st.instants]
        self.inst = {(st.index, n): i for st in sc.steps for n, i in st.instants.items()}
        self.tol = Tolerances(Int(f_g), 0, SLACK, rules.offset_granularity)
        # A guest that wrote its TB before the first read (written.py): which vCPUs it wrote
        # cannot be told, so, where the rule set's machine lets the guest write, each vCPU's
        # TB is written to what its first read shows (vCPU -> (read index, half the read's
        # window in ticks: how well that read knows the value), and later reads allow that.
        self.anchors: dict[int, tuple[int, int]] = {}
        if sc.written and rules.guest_writes_tb:
            for i, r in enumerate(sc.reads):
                if r.guest and r.step == 0 and r.branch == 0 and r.vcpu not in self.anchors:
                    self.anchors[r.vcpu] = (i, -(-r.win.width * f_g // (2 * 10**9)))

    # ------------------------------------------------------------------ building
    def params(self, boot: int) -> Params:
        """The model's t = 0 is the boot. One machine: every host has the nominal frequency, a
        counter that is the monotonic clock in ticks, and the same clocks (no skew); realtime
        reads as monotonic, since rules use it only through differences and NTP may slew the
        real one."""
        host = HostParams(Int(self.f), U64(boot * self.f // 10**9), Int(boot), Int(boot))
        return Params([host] * max(1, len(self.sc.vms)), U64(0), self.vcpus)

    def events(self, x: dict[Key, int]) -> tuple[list[Event], dict[int, int], dict[int, int]]:
        """The event list, and where each guest read and each step landed in it."""
        sc = self.sc
        now = x[(0, At.BOOT)]
        evs: list[Event] = []
        read_at: dict[int, int] = {}
        step_at: dict[int, int] = {}

        def advance(t: int) -> None:
            nonlocal now
            if t > now:
                evs.append(Run(Int(t - now)))
                now = t

        for kind, i in sc.order:
            if kind == "read":
                r = sc.reads[i]
                if r.guest:
                    advance(r.win.mid)
                    if self.anchors.get(r.vcpu, (-1,))[0] == i:
                        evs.append(Write(r.vcpu, U64(r.tb)))
                    read_at[i] = len(evs)
                    evs.append(Read(r.vcpu))
                continue
            st = sc.steps[i]
            if st.kind == Kind.BOOT:
                continue
            times = [x[(i, n)] for n in st.instants]
            times[0] = max(times[0], now)
            times[-1] = max(times[-1], times[0])
            for k in range(1, len(times) - 1):  # phases inside: between the ends, in order
                times[k] = min(max(times[k], times[k - 1]), times[-1])
            advance(times[0])
            step_at[i] = len(evs)
            evs.append(self.event(st, [Int(b - a) for a, b in zip(times, times[1:],
                                                                   strict=False)]))
            now = times[-1]
        return evs, read_at, step_at

    def event(self, st: Step, d: list[Int]) -> Event:
        if st.kind == Kind.STOP:
            return Stop()
        if st.kind == Kind.CONT:
            return Cont()
        if st.kind == Kind.MIGRATE:
            return Migrate(self.sc.vms.index(st.to or ""), d[0], d[1], d[2], st.paused_dst)
        if st.kind == Kind.MIGRATE_FAIL:
            return MigrateFail(d[0], d[1])
        if st.kind == Kind.SAVEVM:
            return SaveVM(st.snapshot or "", d[0])
        return LoadVM(st.snapshot or "", d[0])

    # ------------------------------------------------------------------ evaluating
    def evaluate(self, x: dict[Key, int]) -> tuple[list[_Prediction], int]:
        """Replay with instants ``x``; the checks, and how many reads got no prediction."""
        evs, read_at, step_at = self.events(x)
        trace = run(self.rules, self.params(x[(0, At.BOOT)]), evs, self.tol, strict=True)
        obs: dict[tuple[int, int], list[int]] = {}
        for o in trace.observations:
            obs.setdefault((o.step, o.cpu), []).append(int(o.tb))
        checks: list[_Prediction] = []
        missing = 0
        # An offset rounded up to the declared granularity (KVM-HV) puts the model's TB up to
        # granularity - 1 ticks above its ideal at each step that sets offsets, and those add
        # up; the recorded QEMU rounds nothing. So the model may be that much above the read.
        gran = max(self.rules.offset_granularity - 1, 0)
        boot = x[(0, At.BOOT)]
        for i, r in enumerate(self.sc.reads):
            # the model's TB counts f_g ticks a second since the boot, at most: a measured f_g
            # may be off by what its error is worth over that time
            slack = SLACK + self.drift(r.win.hi - boot)
            anchor = self.anchors.get(r.vcpu)
            if anchor is not None and anchor[0] != i:
                slack += anchor[1]
            if r.guest:
                half = -(-r.win.width * self.f // (2 * 10**9))  # the read is within its window
                checks.append(_Prediction(r, obs[(read_at[i] + 1, r.vcpu)][0],
                                     half + slack + gran * r.step, half + slack))
                continue
            got = self.resting_value(r, step_at, obs)
            if got is None:
                missing += 1
            else:
                checks.append(_Prediction(r, got[0], slack + gran * got[1], slack))
        return checks, missing

    def resting_value(self, r: Reading, step_at: dict[int, int],
                      obs: dict[tuple[int, int], list[int]]) -> tuple[int, int] | None:
        """The model's TB for a read the guest cannot make, and the step it was taken at: a
        source the guest left holds the TB it stopped at; a paused guest holds the TB it will
        resume from (on this history branch), or else the TB it stopped at."""
        steps = self.sc.steps

        def seen(st: Step, last: bool) -> tuple[int, int] | None:
            got = obs.get((step_at[st.index] + 1, r.vcpu)) if st.index in step_at else None
            return ((got[-1] if last else got[0]), st.index) if got else None

        at = r.step
        ahead = steps[at + 1:]
        if r.source_of is not None:
            src = steps[r.source_of]
            if src.running:
                return seen(src, last=False)
            at, ahead = src.index, []  # the guest left: this VM holds what it stopped at
        for st in ahead:
            if st.kind == Kind.CONT:
                return seen(st, last=True)
            if st.kind == Kind.LOADVM or st.running or (st.kind == Kind.MIGRATE
                                                         and st.vm == r.vm):
                break  # (the guest leaves this VM: it holds what it stopped at, not the resume)
        for st in reversed(steps[1:at + 1]):
            if st.kind == Kind.STOP or st.running:
                return seen(st, last=False)
            if st.kind == Kind.LOADVM:
                return None
        return None

    # ------------------------------------------------------------------ fitting
    def fit(self) -> tuple[dict[Key, int], list[_Prediction], int]:
        x = {k: self.inst[k].est for k in self.keys}
        best_x, (best, missing) = dict(x), self.evaluate(x)
        for _ in range(PASSES):
            x = self.refit(x)
            checks, miss = self.evaluate(x)
            if _score(checks) < _score(best):
                best_x, best, missing = dict(x), checks, miss
        return best_x, best, missing

    def refit(self, x: dict[Key, int]) -> dict[Key, int]:
        """One pass: linearise every read's model value in the uncertain instants around
        ``x`` (a finite difference through the engine), and solve for the instants."""
        free = [k for k in self.keys if self.inst[k].fit]
        base, _ = self.evaluate(x)
        slopes: dict[Key, list[Fraction]] = {}
        for k in free:
            w = self.inst[k].win
            h = PROBE_NS if x[k] + PROBE_NS <= w.hi or x[k] - PROBE_NS < w.lo else -PROBE_NS
            moved, _ = self.evaluate({**x, k: x[k] + h})
            slopes[k] = [Fraction(m.value - c.value, h) for c, m in zip(base, moved, strict=True)]
        noise = Fraction(2 * SLACK, PROBE_NS)  # a slope below this is rounding, not dependence
        constraints = []
        for j in sorted(range(len(base)), key=lambda j: base[j].read.line):
            c = base[j]
            terms = {k: slopes[k][j].limit_denominator(10**6) for k in free
                     if abs(slopes[k][j]) > noise}
            constraints.append(Constraint(terms, c.read.tb - c.value - c.above,
                                          c.read.tb - c.value + c.below))
        boxes = {k: (self.inst[k].win.lo - x[k], self.inst[k].win.hi - x[k]) for k in free}
        shift, _ = solve(boxes, constraints)  # type: ignore[arg-type]
        return {**x, **{k: x[k] + shift[k] for k in free}}


def _score(checks: list[_Prediction]) -> tuple[float, int, int]:
    """Lower is better: as for the fit, the earliest reads come first (a later first mismatch),
    then fewer mismatches, then smaller ones."""
    first = min((c.read.line for c in checks if not c.ok), default=float("inf"))
    return -first, sum(not c.ok for c in checks), sum(c.excess for c in checks)


def check_scenario(sc: RecordedScenario, rules: type[RuleSet], info: TraceInfo) -> ScenarioResult:
    res = ScenarioResult(sc.name)
    replay = _Replay(sc, rules, info.f_g, info.vcpus, info.drift)
    try:
        x, checks, missing = replay.fit()
    except (NotEnabled, RuleError) as exc:
        res.error = f"the model cannot replay this scenario: {exc}"
        return res
    res.unpredicted = missing
    res.reads = len(checks)
    res.conforming = sum(c.ok for c in checks)
    res.fitted = {f"{sc.steps[i].label()}:{n}": (x[(i, n)] - replay.inst[(i, n)].est) / 1e6
                  for i, n in replay.keys if replay.inst[(i, n)].fit}
    for c in checks:
        if not c.ok:
            what = "model read at the window midpoint" if c.read.guest else (
                "the TB the model's guest resumes from, or stopped at")
            if rules.offset_granularity > 1:
                what += (f", allowing the declared offset granularity {rules.offset_granularity}"
                         " per step")
            res.mismatches.append(mismatch_at(sc, c.read, c.lo, c.hi, info.f_g,
                                          f"{rules.name or 'rules'}: {what}", model=c.value))
    return res


def conformance(info: TraceInfo, rules: type[RuleSet], variant: str,
                progress: Callable[[str], None] | None = None) -> Conformance:
    out = []
    for sc in info.scenarios:
        if sc.ok and not sc.problem:
            if progress:
                progress(f"validate: {variant}: {sc.name}")
            out.append(check_scenario(sc, rules, info))
    return Conformance(variant, out)
