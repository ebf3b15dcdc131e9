"""When each property is checked: the ghost state the world carries and the checks it emits.

The world calls these functions at the moments docs/properties.md's properties speak of (a read, an
explicit stop and the resume after it, a running guest's migration, a snapshot); each emits a
``Check`` whose ``ok`` is a ``Bool`` of the number domain, so one definition serves both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tbcheck.model.domain import Bool, Int, Num, Obligation, all_
from tbcheck.properties import predicates as P


@dataclass(frozen=True)
class Tolerances:
    """How exactly each property is judged (the envelope and the variant's declaration)."""

    f_g: Num  # the guest's nominal TB frequency (the boot host's), Hz
    eps_ns: int  # bound on the hosts' realtime clock disagreement
    slack: int = 2  # ticks of rounding allowed where a frequency conversion rounds
    granularity: int = 0  # the rule set's declared offset granularity (KVM-HV: 2**24)


@dataclass
class Check:
    """One evaluation of a property: ``ok`` must hold; ``situation`` says it was meaningful."""

    prop: str
    ok: Bool
    what: str
    values: dict[str, Any] = field(default_factory=dict)
    situation: Bool = field(default_factory=lambda: Bool(True))


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
    chain_tb: list[Num] | None = None
    chain_t: Num | None = None
    chain_hopped: Bool = field(default_factory=lambda: Bool(False))  # a Bool: not control
    guest_ns: Num = field(default_factory=lambda: Int(0))  # ideal guest time, for display


def on_reads(g: Ghost, t: Num, tbs: list[Num], tol: Tolerances, emit: Emit) -> None:
    """Every instant the guest reads all vCPUs: they agree, nothing went backwards, and the TB
    kept pace with true time since its chain began."""
    emit(Check("vcpus-agree", P.agree(tbs), "vCPUs read at one instant",
               {"t": t, **{f"tb[{i}]": x for i, x in enumerate(tbs)}}))
    if g.last is not None:
        ok = all_([P.never_decreases(a, b) for a, b in zip(g.last, tbs, strict=True)])
        emit(Check("monotonic", ok, "a read after an earlier read",
                   {"t": t, **{f"before[{i}]": a for i, a in enumerate(g.last)},
                    **{f"now[{i}]": b for i, b in enumerate(tbs)}}))
    g.last = list(tbs)
    if g.chain_tb is not None and g.chain_t is not None:
        _chain_read(g.chain_tb, g.chain_t, t, tbs, tol, g.chain_hopped, emit)


def _chain_read(ref: list[Num], t0: Num, t: Num, tbs: list[Num], tol: Tolerances, hopped: Bool,
                emit: Emit) -> None:
    """tracks-wall-clock at one read of a running chain. It is meaningful (its situation) once
    the chain holds a running migration: before that, nothing stopped the guest and the check
    restates guest-frequency; a witness must show a read after a hop."""
    ok = all_([P.tracks(a, t0, b, t, tol.f_g, tol.eps_ns, tol.slack, tol.granularity)
               for a, b in zip(ref, tbs, strict=True)])
    emit(Check("tracks-wall-clock", ok, "a read in a running chain",
               {"t_start": t0, "t": t, "tb_start": ref[0], "tb": tbs[0],
                "expected": P.as_int(ref[0]) + P.ticks(P.as_int(t) - P.as_int(t0), tol.f_g)},
               hopped))


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
           situation: Bool, emit: Emit) -> None:
    """The guest ran from ``t_a`` to ``t_b`` with nothing else happening: rate f_g."""
    ok = all_([P.keeps_rate(a, t_a, b, t_b, tol.f_g, tol.slack) for a, b in zip(tbs_a, tbs_b,
                                                                             strict=True)])
    emit(Check("guest-frequency", ok, "the guest ran",
               {"t_a": t_a, "t_b": t_b, "tb_a": tbs_a[0], "tb_b": tbs_b[0],
                "expected_b": P.as_int(tbs_a[0]) + P.ticks(P.as_int(t_b) - P.as_int(t_a),
                                                             tol.f_g)},
               situation))


def on_explicit_stop(g: Ghost, tbs: list[Num]) -> None:
    """An explicit pause: it freezes the TB, and ends the running chain."""
    g.pause_ref, g.pause_kind = list(tbs), "frozen-when-stopped"
    _end_chain(g)


def on_explicit_cont(g: Ghost, tbs: list[Num], tol: Tolerances, emit: Emit) -> None:
    """An explicit resume: the TB is where the pause (or the loaded snapshot) left it."""
    if g.pause_ref is not None and g.pause_kind is not None:
        _same(g.pause_kind, g.pause_ref, tbs, tol, "resume after an explicit pause"
              if g.pause_kind == "frozen-when-stopped" else "resume after loadvm", emit)
    g.pause_ref = g.pause_kind = None


def on_snapshot_resume(ref: list[Num], tbs: list[Num], tol: Tolerances, what: str,
                       emit: Emit) -> None:
    """A resume right after savevm or loadvm: the TB is the snapshot's."""
    _same("snapshot-frozen", ref, tbs, tol, what, emit)


def _same(prop: str, ref: list[Num], tbs: list[Num], tol: Tolerances, what: str,
          emit: Emit) -> None:
    ok = all_([P.frozen(a, b, tol.granularity) for a, b in zip(ref, tbs, strict=True)])
    emit(Check(prop, ok, what, {"tb_ref": ref[0], "tb_resume": tbs[0], "expected": ref[0]}))


def on_branch_restart(g: Ghost) -> None:
    """loadvm: the guest's history restarts from the snapshot; earlier reads no longer count,
    and the running chain ends (the resume, or a later ``cont``, begins the next)."""
    g.last = None
    _end_chain(g)


def on_obligations(obligations: list[Obligation], hook: str, emit: Emit,
                   vcpu: int | None = None) -> None:
    """no-overflow: every checked operation in a hook stayed within its C type; ``vcpu`` names
    the vCPU whose read it was, first among the check's values."""
    ok = all_([~Bool(ob.cond) for ob in obligations])
    concrete = [ob.what for ob in obligations if ob.cond is True]
    values: dict[str, Any] = {} if vcpu is None else {"vcpu": vcpu}
    emit(Check("no-overflow", ok, f"arithmetic of {hook}",
               {**values, "overflowed": concrete} if concrete else values))


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
               emit: Emit) -> None:
        on_run(t_a, tbs_a, t_b, tbs_b, self.tol, situation, emit)

    def on_explicit_stop(self, g: Ghost, tbs: list[Num]) -> None:
        on_explicit_stop(g, tbs)

    def on_explicit_cont(self, g: Ghost, tbs: list[Num], emit: Emit) -> None:
        on_explicit_cont(g, tbs, self.tol, emit)

    def on_implicit_stop(self, g: Ghost, migrating: bool) -> None:
        on_implicit_stop(g, migrating)

    def on_implicit_resume(self, g: Ghost, t: Num, tbs: list[Num]) -> None:
        on_implicit_resume(g, t, tbs)

    def on_snapshot_resume(self, ref: list[Num], tbs: list[Num], what: str,
                           emit: Emit) -> None:
        on_snapshot_resume(ref, tbs, self.tol, what, emit)

    def on_branch_restart(self, g: Ghost) -> None:
        on_branch_restart(g)
