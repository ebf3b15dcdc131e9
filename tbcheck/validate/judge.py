"""docs/properties.md's properties judged on a real trace.

Every verdict comes from a predicate of ``properties.predicates`` (the one definition the model
uses too); a recorded read is a point somewhere in its window, so each comparison is widened by
``err``, the ticks that the windows' uncertainty is worth at the nominal frequency ``f_g``.
Where a property speaks of the TB at an instant nobody read (the stop, the resume), the value is
carried there from the nearest read at ``f_g`` (what ``guest-frequency`` checks separately),
and that instant's own window widens ``err`` too. A measured ``f_g`` (the header's
``tb_freq_error_hz``) widens every value carried over a span by what its error is worth there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from tbcheck.model.domain import Bool, Int
from tbcheck.properties import predicates as P
from tbcheck.properties.registry import property_names
from tbcheck.validate.mismatch import Mismatch, mismatch_at
from tbcheck.validate.records import InstantName as At
from tbcheck.validate.records import Reading, RecordedScenario, Step, TraceInfo
from tbcheck.validate.records import StepKind as Kind
from tbcheck.validate.written import own_view, uncertainty

SLACK = 2  # ticks: TB = floor(clock * f / 1e9) rounds once on each side of a comparison


class OnTrace(StrEnum):
    """What a trace says of a property (``validate --json`` writes the value)."""

    HOLDS = "holds"
    VIOLATED = "violated"
    NOT_EXERCISED = "not exercised"  # no situation of it in the trace
    NOT_OBSERVABLE = "not observable"  # a trace cannot show it (no-overflow)


@dataclass
class TraceVerdict:
    """One property's verdict on a recorded trace (``proofs.bmc.Verdict`` is the model's)."""

    prop: str
    verdict: OnTrace
    situations: int = 0
    failed: int = 0
    mismatch: Mismatch | None = None
    note: str = ""


class _Acc:
    """Situations of one property: counted once each, the first failure kept."""

    def __init__(self) -> None:
        self.situations = 0
        self.failed = 0
        self.first: Mismatch | None = None

    def situation(self, failures: list[Mismatch]) -> None:
        self.situations += 1
        if failures:
            self.failed += 1
            self.first = self.first or failures[0]


@dataclass
class _Chain:
    """One running chain of a scenario: each vCPU's reference read (its first in the chain),
    the vCPUs whose reference precedes a running migration, and the failures."""

    refs: dict[int, Reading] = field(default_factory=dict)
    hopped: set[int] = field(default_factory=set)
    situation: bool = False
    fails: list[Mismatch] = field(default_factory=list)


class Judge:
    def __init__(self, info: TraceInfo, granularity: int = 0) -> None:
        self.info, self.f, self.g = info, info.f_g, granularity
        self.acc = {p: _Acc() for p in property_names() if p != "no-overflow"}
        self.pad = 0  # the current scenario's uncertainty of what the guest wrote (written.py)

    # ------------------------------------------------------------------ arithmetic
    def err(self, *widths: int, span: int = 0) -> int:
        """Ticks worth half the sum of some window widths (each a point within its window),
        rounded up, plus what the frequency's error is worth over a carry of ``span`` ns."""
        return -(-sum(widths) * self.f // (2 * 10**9)) + self.info.drift(span) + self.pad

    def carry(self, tb: int, from_t: int, to_t: int) -> int:
        """The TB ``tb`` read at ``from_t`` carried to ``to_t`` at the nominal rate."""
        return tb + int(P.ticks(to_t - from_t, self.f))

    # ------------------------------------------------------------------ one comparison
    def compare(self, ok: Bool, rng: P.Range, sc: RecordedScenario, r: Reading, value: int,
                what: str, out: list[Mismatch], expected: int | None = None) -> None:
        """Record a failed comparison of ``value`` (derived from read ``r``) as a mismatch."""
        if not bool(ok):
            lo, hi = rng
            out.append(mismatch_at(sc, r, int(lo), None if hi is None else int(hi), self.f, what,
                               shift=r.tb - value, model=expected))

    def frozen(self, sc: RecordedScenario, ref: int, r: Reading, value: int, err: int, what: str,
               out: list[Mismatch]) -> None:
        err += self.pad  # (an exact comparison too: of two vCPUs less what each was written)
        self.compare(P.frozen(Int(ref), Int(value), self.g, err),
                     P.frozen_range(ref, self.g, err), sc, r, value, what, out, ref)

    # ------------------------------------------------------------------ walking a scenario
    @staticmethod
    def guest_reads(sc: RecordedScenario) -> list[Reading]:
        return [r for r in sc.reads if r.guest]

    @staticmethod
    def last_before(sc: RecordedScenario, st: Step) -> Reading | None:
        """The guest's last read with nothing between it and step ``st``."""
        rs = [r for r in sc.reads if r.guest and r.step == st.index - 1]
        return rs[-1] if rs else None

    @staticmethod
    def first_after(sc: RecordedScenario, st: Step) -> Reading | None:
        rs = [r for r in sc.reads if r.guest and r.step == st.index]
        return rs[0] if rs else None

    @staticmethod
    def between(sc: RecordedScenario, first: Step, last: Step) -> list[Reading]:
        """Reads the guest cannot make (paused, a source's) from ``first`` up to ``last``."""
        return [r for r in sc.reads if not r.guest and first.index <= r.step < last.index]

    @staticmethod
    def resume_of(sc: RecordedScenario, st: Step) -> Step | None:
        """The step that resumes the guest paused by ``st``; None if it never does, or if a
        loadvm replaces the paused history first."""
        for nxt in sc.steps[st.index + 1:]:
            if nxt.kind == Kind.CONT:
                return nxt
            if nxt.kind == Kind.LOADVM or nxt.running:
                return None
        return None

    # ------------------------------------------------------------------ the properties
    def run(self) -> list[TraceVerdict]:
        for sc in self.info.scenarios:
            if sc.ok and not sc.problem:
                sc = own_view(sc)  # each vCPU less what the guest wrote to it
                self.pad = uncertainty(sc)
                self.monotonic(sc)
                self.rate_and_agreement(sc)
                self.pauses(sc)
                self.chains(sc)
                self.snapshots(sc)
        out = []
        for p in property_names():
            if p == "no-overflow":
                out.append(TraceVerdict(p, OnTrace.NOT_OBSERVABLE, note="the rule set's "
                                        "arithmetic is not visible in a trace"))
                continue
            a = self.acc[p]
            verdict = (OnTrace.VIOLATED if a.failed else OnTrace.HOLDS if a.situations
                       else OnTrace.NOT_EXERCISED)
            out.append(TraceVerdict(p, verdict, a.situations, a.failed, a.first))
        return out

    def monotonic(self, sc: RecordedScenario) -> None:
        last: dict[tuple[int, int], Reading] = {}
        for r in self.guest_reads(sc):
            key = (r.branch, r.vcpu)
            prev = last.get(key)
            last[key] = r
            if prev is None:
                continue
            err = self.err(2 * max(0, prev.win.hi - r.win.lo))  # only if the windows overlap
            fails: list[Mismatch] = []
            self.compare(P.never_decreases(Int(prev.tb), Int(r.tb), err),
                         P.never_decreases_range(prev.tb, err), sc, r, r.tb,
                         f"after the read at line {prev.line} (TB {prev.tb})", fails)
            self.acc["monotonic"].situation(fails)

    def rate_and_agreement(self, sc: RecordedScenario) -> None:
        """Successive reads on one VM with no event between: the same vCPU advanced at f_g,
        and two different vCPUs agree once the time between them is allowed for."""
        reads = self.guest_reads(sc)
        same: dict[int, Reading] = {}
        for a, b in zip([None, *reads], reads, strict=False):
            if a is None or (a.step, a.vm, a.branch) != (b.step, b.vm, b.branch):
                same = {}
            prev = same.get(b.vcpu)
            same[b.vcpu] = b
            err = 0
            if prev is not None:
                err = self.err(prev.win.width, b.win.width, span=b.win.mid - prev.win.mid)
                fails: list[Mismatch] = []
                self.compare(P.keeps_rate(Int(prev.tb), Int(prev.win.mid), Int(b.tb),
                                          Int(b.win.mid), self.f, SLACK, err),
                             P.keeps_rate_range(prev.tb, prev.win.mid, b.win.mid, self.f, SLACK,
                                                err),
                             sc, b, b.tb, f"rate since the read at line {prev.line}", fails,
                             self.carry(prev.tb, prev.win.mid, b.win.mid))
                self.acc["guest-frequency"].situation(fails)
            if a is not None and same.get(a.vcpu) is a and a.vcpu != b.vcpu:
                # each vCPU less what the guest wrote to it before the first read (written.py)
                ref = self.carry(a.tb, a.win.mid, b.win.mid)
                err = self.err(a.win.width, b.win.width, span=b.win.mid - a.win.mid) + SLACK
                fails = []
                less = " less what the guest wrote to each" if sc.written else ""
                self.compare(P.agree([Int(ref), Int(b.tb)], err), P.agree_range(ref, err), sc,
                             b, b.tb, f"vCPU {a.vcpu} read at line {a.line}, carried to this "
                             f"read{less}", fails, ref)
                self.acc["vcpus-agree"].situation(fails)

    def pause_chain(self, sc: RecordedScenario, prop: str, ref: int | None, ref_err: int,
                    ref_what: str, paused: list[Reading], resume: Step) -> list[Mismatch]:
        """A paused stretch: the stopped TB ``ref`` is what the paused vCPUs hold, they all
        hold one value, and the guest resumes from it."""
        fails: list[Mismatch] = []
        if ref is not None and paused:
            p = paused[0]
            self.frozen(sc, ref, p, p.tb, ref_err, f"{prop}: paused TB against {ref_what}", fails)
        for p in paused[1:]:
            self.frozen(sc, paused[0].tb, p, p.tb, 0,
                        f"{prop}: paused TB against the first paused read (line "
                        f"{paused[0].line})", fails)
        b = self.first_after(sc, resume)
        if b is not None:
            res = resume.instants[At.RESUME]
            at_resume = self.carry(b.tb, b.win.mid, res.win.mid)
            err = self.err(b.win.width, res.win.width, span=res.win.mid - b.win.mid) + SLACK
            if paused:
                self.frozen(sc, paused[-1].tb, b, at_resume, err,
                            f"{prop}: TB at {resume.label()} against the paused TB", fails)
            elif ref is not None:
                self.frozen(sc, ref, b, at_resume, err + ref_err,
                            f"{prop}: TB at {resume.label()} against {ref_what}", fails)
        return fails

    def at_stop(self, sc: RecordedScenario, st: Step) -> tuple[int, int] | None:
        """The TB at step ``st``'s stop, carried from the read before, and its uncertainty."""
        a = self.last_before(sc, st)
        if a is None:
            return None
        s = st.instants[At.STOP]
        return (self.carry(a.tb, a.win.mid, s.win.mid),
                self.err(a.win.width, s.win.width, span=s.win.mid - a.win.mid) + SLACK)

    @staticmethod
    def arrived_paused(sc: RecordedScenario, st: Step) -> list[Reading]:
        """The reads of a paused destination that a running guest's migration ``st`` arrived
        in (their TB is the one the guest would resume at), up to the next step."""
        return [r for r in sc.reads if not r.guest and r.step == st.index and r.vm == st.to]

    def pauses(self, sc: RecordedScenario) -> None:
        for st in sc.steps:
            at_load = st.kind is Kind.MIGRATE and st.paused_dst
            if st.kind is not Kind.STOP and not at_load:
                continue
            resume = self.resume_of(sc, st)
            if resume is None:
                continue
            # an explicit pause from the stop, or from a paused destination's load, where no
            # TB was read: the destination's paused reads stand for it
            stop = None if at_load else self.at_stop(sc, st)
            ref, err = stop if stop else (None, 0)
            paused = self.between(sc, st, resume)
            if at_load:  # not the stopped source's reads: the guest is on the destination
                paused = [r for r in paused if r.vm == st.to or r.step > st.index]
            if ref is None and not paused:
                continue
            self.acc["frozen-when-stopped"].situation(
                self.pause_chain(sc, "frozen-when-stopped", ref, err, "the TB at stop",
                                 paused, resume))

    def chains(self, sc: RecordedScenario) -> None:
        """tracks-wall-clock per running chain: from boot, an explicit ``cont``, or the resume
        of a savevm or loadvm (whose frozen time snapshot-frozen judges) until the next stop
        other than a running migration's, every guest read is its vCPU's first read in the
        chain plus the true time since at f_g. One situation per chain with a read after a
        running migration; a failure anywhere in a chain counts."""
        by_step: dict[int, list[Reading]] = {}
        for r in self.guest_reads(sc):
            by_step.setdefault(r.step, []).append(r)
        chain = _Chain()
        for st in sc.steps:
            if st.kind in (Kind.BOOT, Kind.CONT, Kind.STOP, Kind.SAVEVM,
                           Kind.LOADVM):
                self.end_chain(chain)
                chain = _Chain()
            elif st.running and st.kind in (Kind.MIGRATE, Kind.MIGRATE_FAIL):
                chain.hopped |= set(chain.refs)
            if st.paused_dst:  # the migration's time ends at the load: the chain with it
                self.load_read(sc, chain, st)
                self.end_chain(chain)
                chain = _Chain()
            for r in by_step.get(st.index, []):
                self.chain_read(sc, chain, r)
        self.end_chain(chain)

    def chain_read(self, sc: RecordedScenario, chain: _Chain, r: Reading) -> None:
        a = chain.refs.get(r.vcpu)
        if a is None:
            chain.refs[r.vcpu] = r
            return
        t0, err = a.win.mid, self.err(a.win.width, r.win.width, span=r.win.mid - a.win.mid)
        self.compare(P.tracks(Int(a.tb), Int(t0), Int(r.tb), Int(r.win.mid), self.f, 0, SLACK,
                              self.g, err),
                     P.tracks_range(a.tb, t0, r.win.mid, self.f, 0, SLACK, self.g, err),
                     sc, r, r.tb, f"the chain's first read at line {a.line} plus true time",
                     chain.fails, self.carry(a.tb, t0, r.win.mid))
        chain.situation |= r.vcpu in chain.hopped

    def load_read(self, sc: RecordedScenario, chain: _Chain, st: Step) -> None:
        """A running guest's migration into a destination started paused: the TB the
        destination holds from its load on (its first paused read; the TB stays there until the
        cont, which frozen-when-stopped judges) is the chain's reference plus the true time
        from the reference to the load."""
        paused = self.arrived_paused(sc, st)
        if not paused:
            return
        r, load = paused[0], st.instants[At.POST_LOAD]
        a = chain.refs.get(r.vcpu)
        if a is None:
            return
        t0, err = a.win.mid, self.err(a.win.width, load.win.width)
        self.compare(P.tracks(Int(a.tb), Int(t0), Int(r.tb), Int(load.est), self.f, 0, SLACK,
                              self.g, err),
                     P.tracks_range(a.tb, t0, load.est, self.f, 0, SLACK, self.g, err),
                     sc, r, r.tb, f"the chain's first read at line {a.line} plus true time "
                     "to the paused destination's load", chain.fails,
                     self.carry(a.tb, t0, load.est))
        chain.situation |= r.vcpu in chain.hopped

    def end_chain(self, chain: _Chain) -> None:
        if chain.situation or chain.fails:
            self.acc["tracks-wall-clock"].situation(chain.fails)

    def snapshots(self, sc: RecordedScenario) -> None:
        snaps: dict[str, tuple[int, int]] = {}  # name -> (TB it recorded, uncertainty)
        for st in sc.steps:
            name = st.snapshot or ""
            if st.kind == Kind.SAVEVM:
                snap = self.savevm(sc, st)
                if snap is not None:
                    snaps[name] = snap
            elif st.kind == Kind.LOADVM and name in snaps:
                self.loadvm(sc, st, *snaps[name])

    def savevm(self, sc: RecordedScenario, st: Step) -> tuple[int, int] | None:
        if not st.running:  # paused: the snapshot holds the paused TB
            before = [r for r in sc.reads if not r.guest and r.step == st.index - 1]
            return (before[-1].tb, 0) if before else None
        stop = self.at_stop(sc, st)
        b = self.first_after(sc, st)
        if stop is not None and b is not None:
            res = st.instants[At.RESUME]
            at_resume = self.carry(b.tb, b.win.mid, res.win.mid)
            err = stop[1] + self.err(b.win.width, res.win.width,
                                     span=res.win.mid - b.win.mid) + SLACK
            fails: list[Mismatch] = []
            self.frozen(sc, stop[0], b, at_resume, err,
                        f"{st.label()}: TB at the resume against the TB at its stop", fails)
            self.acc["snapshot-frozen"].situation(fails)
        return stop

    def loadvm(self, sc: RecordedScenario, st: Step, ref: int, ref_err: int) -> None:
        what = f"the TB snapshot {st.snapshot} recorded"
        if st.running:
            b = self.first_after(sc, st)
            if b is None:
                return
            res = st.instants[At.RESUME]
            at_resume = self.carry(b.tb, b.win.mid, res.win.mid)
            err = ref_err + self.err(b.win.width, res.win.width,
                                     span=res.win.mid - b.win.mid) + SLACK
            fails: list[Mismatch] = []
            self.frozen(sc, ref, b, at_resume, err, f"{st.label()}: TB at the resume against "
                        f"{what}", fails)
            self.acc["snapshot-frozen"].situation(fails)
            return
        resume = self.resume_of(sc, st)
        if resume is not None:
            self.acc["snapshot-frozen"].situation(self.pause_chain(
                sc, "snapshot-frozen", ref, ref_err, what, self.between(sc, st, resume),
                resume))


def judge(info: TraceInfo, granularity: int = 0) -> list[TraceVerdict]:
    """Each property's verdict on the trace, in the order of ``property_names()``."""
    return Judge(info, granularity).run()
