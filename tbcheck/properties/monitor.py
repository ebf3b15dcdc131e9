"""When each property is checked: the ghost state the world carries and the checks it emits.

The world calls these functions at the moments docs/properties.md's properties speak of (a read, an
explicit stop and the resume after it, a running guest's migration, a snapshot); each emits a
``Check`` whose ``ok`` is a ``Bool`` of the number domain, so one definition serves both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from tbcheck.model.domain import Bool, Int, Num, Obligation, all_, value
from tbcheck.model.observer import ScaledRun
from tbcheck.properties import predicates as P


@dataclass(frozen=True)
class Tolerances:
    """How exactly each property is judged (the envelope and the variant's declaration)."""

    f_g: Num  # the guest's nominal TB frequency (the boot host's), Hz
    eps_ns: int  # bound on the hosts' realtime clock disagreement
    slack: int = 2  # ticks of rounding allowed where a frequency conversion rounds
    granularity: int = 0  # the rule set's declared offset granularity (KVM-HV: 2**24)

    @cached_property
    def tracking(self) -> Int:
        """tracks-wall-clock's tolerance (``predicates.tracks_tolerance``): the same at every
        read of a run, so it is made once, not at each."""
        return P.tracks_tolerance(self.f_g, self.eps_ns, self.slack)


ALWAYS = Bool(True)


@dataclass
class Check:
    """One evaluation of a property: ``ok`` must hold; ``situation`` says it was meaningful.

    What it judged, for a reader of a counterexample: ``seen`` is the TB each vCPU showed (at
    time ``t``), ``due`` what was due of each (the TB at the stop, the earlier read, or the
    ideal), and ``allowed`` the interval each ``seen`` had to lie in: the predicate's own range
    (``properties.predicates``), so a report shows the bounds the verdict used. ``vcpu`` names
    the one vCPU a check is about (a read's arithmetic), ``overflowed`` the C operations that
    left their type. A check about no single TB (no-overflow) leaves ``seen`` empty; one with
    nothing due of any one vCPU (vcpus-agree: they must all be equal) leaves ``due`` empty.
    """

    prop: str
    ok: Bool
    what: str
    t: Num | None = None
    seen: list[Num] = field(default_factory=list)
    due: list[Num] = field(default_factory=list)
    allowed: list[P.Range] = field(default_factory=list)
    vcpu: int | None = None
    overflowed: list[str] = field(default_factory=list)
    situation: Bool = ALWAYS  # a Bool is immutable: one default serves every check

    def culprit(self) -> int | None:
        """The vCPU that broke this (concrete) check: the one it is about, else the first whose
        TB lies outside its allowed interval; None when it is about no one vCPU's TB."""
        if self.vcpu is not None:
            return self.vcpu
        return next((i for i, (x, r) in enumerate(zip(self.seen, self.allowed, strict=False))
                     if not value(P.inside(x, r))), None)


Emit = Callable[[Check], None]


@dataclass
class Ghost:
    """What the properties remember between events (part of the world state, never seen by rules).

    ``pause_ref`` is the TB at the explicit stop (``pause_kind`` "frozen-when-stopped"), or the
    snapshot's TB after a loadvm while paused ("snapshot-frozen"); ``last`` is the last TB read
    on each vCPU along this history branch.

    The running chain (tracks-wall-clock): ``chain_tb`` and ``chain_t`` are each vCPU's TB and
    the true time at the chain's start (boot, the resume of an explicit ``cont``, the resume
    after savevm or loadvm, whose frozen time the chain cannot count); None while the guest is
    paused. ``chain_hopped``: a running guest's migration (completed, refused or cancelled)
    happened in this chain, so its reads are the property's situation.
    """

    last: list[Num] | None = None
    pause_ref: list[Num] | None = None
    pause_kind: str | None = None
    pause_rounded: bool = False  # pause_ref is itself a resume's value (a probe at a load)
    chain_tb: list[Num] | None = None
    chain_t: Num | None = None
    chain_hopped: Bool = field(default_factory=lambda: Bool(False))  # a Bool: not control
    guest_ns: Num = field(default_factory=lambda: Int(0))  # ideal guest time, for display
    shift: list[Num] | None = None  # what the guest's own writes moved each vCPU's TB by


def on_reads(g: Ghost, t: Num, tbs: list[Num], tol: Tolerances, emit: Emit) -> None:
    """Every instant the guest reads all vCPUs: they agree, nothing went backwards, and the TB
    kept pace with true time since its chain began."""
    if g.shift is None:
        emit(Check("vcpus-agree", P.agree(tbs), "vCPUs read at one instant", t, list(tbs)))
    else:  # the vCPUs differ by what the guest wrote to each, and by nothing else
        mine = [P.as_int(x) - s for x, s in zip(tbs, g.shift, strict=True)]
        emit(Check("vcpus-agree", P.agree(mine), "vCPUs read at one instant, less what the "
                   "guest wrote to each", t, list(tbs)))
    if g.last is not None:
        _judge("monotonic", "a read after an earlier read", t, tbs, g.last,
               [P.never_decreases_range(a) for a in g.last], emit)
    g.last = list(tbs)
    if g.chain_tb is not None and g.chain_t is not None:
        _chain_read(g.chain_tb, g.chain_t, t, tbs, tol, g.chain_hopped, emit)


def _chain_read(ref: list[Num], t0: Num, t: Num, tbs: list[Num], tol: Tolerances, hopped: Bool,
                emit: Emit) -> None:
    """tracks-wall-clock at one read of a running chain. It is meaningful (its situation) once
    the chain holds a running migration: before that, nothing stopped the guest and the check
    restates guest-frequency; a witness must show a read after a hop."""
    due = P.carried(ref, t0, t, tol.f_g)
    track = tol.tracking
    _judge("tracks-wall-clock", "a read in a running chain", t, tbs, due,
           [P.tracks_around(d, track, tol.granularity) for d in due], emit, hopped)


def on_chain_start(g: Ghost, t: Num, tbs: list[Num]) -> None:
    """Boot, an explicit resume, or the resume after savevm or loadvm: a new chain's reference."""
    g.chain_tb, g.chain_t, g.chain_hopped = list(tbs), t, Bool(False)


def on_implicit_stop(g: Ghost, migrating: bool) -> None:
    """QEMU stops a running guest by itself. A running migration's stop must not show: the
    chain goes on, and its reads become the property's situation. Any other (savevm's, or
    loadvm's) freezes the guest's time, which snapshot-frozen judges: the chain ends there and
    the resume begins the next, as an explicit pause and its ``cont`` do."""
    if not migrating:
        _end_chain(g)
    elif g.chain_tb is not None:
        g.chain_hopped = Bool(True)


def on_implicit_resume(g: Ghost, t: Num, tbs: list[Num]) -> None:
    """The guest runs again after an implicit stop: a chain that ended there starts anew."""
    if g.chain_tb is None:
        on_chain_start(g, t, tbs)


def _end_chain(g: Ghost) -> None:
    g.chain_tb = g.chain_t = None
    g.chain_hopped = Bool(False)


def on_run(t_a: Num, tbs_a: list[Num], t_b: Num, tbs_b: list[Num], tol: Tolerances,
           situation: Bool, emit: Emit, scaled: ScaledRun | None = None) -> None:
    """The guest ran from ``t_a`` to ``t_b`` with nothing else happening: rate f_g (a scaled
    vCPU within its hardware's rounding, from the world's frequencies, never the rule's ratio)."""
    due = P.carried(tbs_a, t_a, t_b, tol.f_g)
    rounding: list[Num | int] = [0] * len(due) if scaled is None else [
        0 if frac is None else P.scaling_rounding(tol.f_g, scaled.f_h, scaled.host_ticks, frac)
        for frac in scaled.frac_bits]
    _judge("guest-frequency", "the guest ran", t_b, tbs_b, due,
           [P.keeps_rate_around(d, tol.slack, r) for d, r in zip(due, rounding, strict=True)],
           emit, situation)


def on_explicit_stop(g: Ghost, tbs: list[Num]) -> None:
    """An explicit pause: it freezes the TB, and ends the running chain."""
    g.pause_ref, g.pause_kind = list(tbs), "frozen-when-stopped"
    g.pause_rounded = False
    _end_chain(g)


def on_guest_write(g: Ghost, cpu: int, before: list[Num], value: Num) -> None:
    """The guest wrote ``value`` to vCPU ``cpu``'s TB, which read ``before[cpu]`` at this
    instant: the guest's own doing, never the hypervisor's. That vCPU's references move by what
    it wrote: its last read (monotonic: the write is the new floor), its chain start
    (tracks-wall-clock), its difference from the other vCPUs (vcpus-agree)."""
    d = P.as_int(value) - P.as_int(before[cpu])
    shift: list[Num] = list(g.shift) if g.shift is not None else [Int(0)] * len(before)
    shift[cpu] = P.as_int(shift[cpu]) + d
    g.shift = shift
    if g.last is not None:
        g.last = [value if i == cpu else x for i, x in enumerate(g.last)]
    if g.chain_tb is not None:
        g.chain_tb = [P.as_int(x) + d if i == cpu else x for i, x in enumerate(g.chain_tb)]


def on_explicit_cont(g: Ghost, tbs: list[Num], tol: Tolerances, emit: Emit) -> None:
    """An explicit resume: the TB is where the pause (or the loaded snapshot) left it."""
    if g.pause_ref is not None and g.pause_kind is not None:
        _same(g.pause_kind, g.pause_ref, tbs, tol, "resume after an explicit pause"
              if g.pause_kind == "frozen-when-stopped" else "resume after loadvm", emit,
              g.pause_rounded)
    g.pause_ref = g.pause_kind = None
    g.pause_rounded = False


def on_paused_arrival(g: Ghost, t: Num, tbs: list[Num], tol: Tolerances, emit: Emit) -> None:
    """A running guest's migration into a destination started paused (``-S``) has loaded at
    ``t``; ``tbs`` is the TB the guest would resume at, were it continued now. The time until
    the load belongs to the migration: tracks-wall-clock judges that TB as a read of the running
    chain. From the load on it is an explicit pause of that TB (frozen-when-stopped at the
    ``cont``), and the chain ends there."""
    if g.chain_tb is not None and g.chain_t is not None:
        due = P.carried(g.chain_tb, g.chain_t, t, tol.f_g)
        track = tol.tracking
        _judge("tracks-wall-clock", "the TB at the load into a paused destination", t, tbs, due,
               [P.tracks_around(d, track, tol.granularity) for d in due], emit, g.chain_hopped)
    on_explicit_stop(g, tbs)
    # that TB is a resume's, rounded as the real resume's may be otherwise (an offset
    # granularity): the cont is judged within the rounding either way
    g.pause_rounded = True


def on_snapshot_resume(ref: list[Num], tbs: list[Num], tol: Tolerances, what: str,
                       emit: Emit, rounded: bool = False) -> None:
    """A resume right after savevm or loadvm: the TB is the snapshot's (``rounded``: the
    snapshot's TB was a probe's at a paused destination's load, rounded itself)."""
    _same("snapshot-frozen", ref, tbs, tol, what, emit, rounded)


def _same(prop: str, ref: list[Num], tbs: list[Num], tol: Tolerances, what: str,
          emit: Emit, rounded: bool = False) -> None:
    """``tbs`` is ``ref``, up to ``g - 1`` ticks more; or less too if ``ref`` was rounded up
    itself (a resume's value taken at a paused destination's load)."""
    below = max(tol.granularity - 1, 0) if rounded else 0
    _judge(prop, what, None, tbs, ref,
           [P.within_range(a, below, max(tol.granularity - 1, 0)) for a in ref], emit)


def _judge(prop: str, what: str, t: Num | None, seen: list[Num], due: list[Num],
           allowed: list[P.Range], emit: Emit, situation: Bool | None = None) -> None:
    """Emit the check that each vCPU's TB lies in its allowed interval: the predicate itself
    (each ``P.x`` is ``P.inside(tb, P.x_range(...))``), with what it judged."""
    ok = all_([P.inside(b, r) for b, r in zip(seen, allowed, strict=True)])
    emit(Check(prop, ok, what, t, list(seen), list(due), allowed,
               situation=ALWAYS if situation is None else situation))


def on_branch_restart(g: Ghost) -> None:
    """loadvm: the guest's history restarts from the snapshot; earlier reads no longer count,
    and the running chain ends (the resume, or a later ``cont``, begins the next)."""
    g.last = None
    _end_chain(g)


def on_obligations(obligations: list[Obligation], hook: str, emit: Emit,
                   vcpu: int | None = None) -> None:
    """no-overflow: every checked operation in a hook stayed within its C type; ``vcpu`` names
    the vCPU whose read it was."""
    if not obligations:  # the commonest case, made without its two empty loops
        emit(Check("no-overflow", ALWAYS, f"arithmetic of {hook}", vcpu=vcpu))
        return
    ok = all_([~Bool(ob.cond) for ob in obligations])
    concrete = [ob.what for ob in obligations if ob.cond is True]
    emit(Check("no-overflow", ok, f"arithmetic of {hook}", vcpu=vcpu, overflowed=concrete))


@dataclass(frozen=True)
class Monitor:
    """The properties as the world's observer (``tbcheck.model.observer.Observer``), judged
    with one set of tolerances."""

    tol: Tolerances

    def ghost(self) -> Ghost:
        return Ghost()

    def on_obligations(self, obligations: list[Obligation], hook: str, emit: Emit,
                       vcpu: int | None = None) -> None:
        on_obligations(obligations, hook, emit, vcpu)

    def on_reads(self, g: Ghost, t: Num, tbs: list[Num], emit: Emit) -> None:
        on_reads(g, t, tbs, self.tol, emit)

    def on_chain_start(self, g: Ghost, t: Num, tbs: list[Num]) -> None:
        on_chain_start(g, t, tbs)

    def on_run(self, t_a: Num, tbs_a: list[Num], t_b: Num, tbs_b: list[Num], situation: Bool,
               emit: Emit, scaled: ScaledRun | None = None) -> None:
        on_run(t_a, tbs_a, t_b, tbs_b, self.tol, situation, emit, scaled)

    def on_explicit_stop(self, g: Ghost, tbs: list[Num]) -> None:
        on_explicit_stop(g, tbs)

    def on_guest_write(self, g: Ghost, cpu: int, before: list[Num], value: Num) -> None:
        on_guest_write(g, cpu, before, value)

    def on_explicit_cont(self, g: Ghost, tbs: list[Num], emit: Emit) -> None:
        on_explicit_cont(g, tbs, self.tol, emit)

    def on_implicit_stop(self, g: Ghost, migrating: bool) -> None:
        on_implicit_stop(g, migrating)

    def on_implicit_resume(self, g: Ghost, t: Num, tbs: list[Num]) -> None:
        on_implicit_resume(g, t, tbs)

    def on_paused_arrival(self, g: Ghost, t: Num, tbs: list[Num], emit: Emit) -> None:
        on_paused_arrival(g, t, tbs, self.tol, emit)

    def on_snapshot_resume(self, ref: list[Num], tbs: list[Num], what: str,
                           emit: Emit, rounded: bool = False) -> None:
        on_snapshot_resume(ref, tbs, self.tol, what, emit, rounded)

    def on_branch_restart(self, g: Ghost) -> None:
        on_branch_restart(g)
