"""When each property is checked: the ghost state the world carries and the checks it emits.

The world calls these functions at the moments SPEC.md's properties speak of (a read, an
explicit stop and the resume after it, a running guest's migration, a snapshot); each emits a
``Check`` whose ``ok`` is a ``Bool`` of the number domain, so one definition serves both engines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from model.domain import Bool, Int, Num, Obligation, all_
from properties import predicates as P


@dataclass(frozen=True)
class Tolerances:
    """How exactly each property is judged (SPEC.md: the envelope and the variant's declaration)."""

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
    """

    last: list[Num] | None = None
    pause_ref: list[Num] | None = None
    pause_kind: str | None = None
    guest_ns: Num = field(default_factory=lambda: Int(0))  # ideal guest time, for display


def on_reads(g: Ghost, t: Num, tbs: list[Num], emit: Emit) -> None:
    """Every instant the guest reads all vCPUs: they agree, and nothing went backwards."""
    emit(Check("vcpus-agree", P.agree(tbs), "vCPUs read at one instant",
               {"t": t, **{f"tb[{i}]": x for i, x in enumerate(tbs)}}))
    if g.last is not None:
        ok = all_([P.never_decreases(a, b) for a, b in zip(g.last, tbs, strict=True)])
        emit(Check("monotonic", ok, "a read after an earlier read",
                   {"t": t, **{f"before[{i}]": a for i, a in enumerate(g.last)},
                    **{f"now[{i}]": b for i, b in enumerate(tbs)}}))
    g.last = list(tbs)


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
    g.pause_ref, g.pause_kind = list(tbs), "frozen-when-stopped"


def on_explicit_cont(g: Ghost, tbs: list[Num], tol: Tolerances, emit: Emit) -> None:
    """An explicit resume: the TB is where the pause (or the loaded snapshot) left it."""
    if g.pause_ref is not None and g.pause_kind is not None:
        _same(g.pause_kind, g.pause_ref, tbs, tol, "resume after an explicit pause"
              if g.pause_kind == "frozen-when-stopped" else "resume after loadvm", emit)
    g.pause_ref = g.pause_kind = None


def on_implicit_resume(t0: Num, tbs0: list[Num], t1: Num, tbs1: list[Num], tol: Tolerances,
                       emit: Emit) -> None:
    """A running guest resumes after a migration (or a cancelled one): its stop was invisible."""
    ok = all_([P.tracks(a, t0, b, t1, tol.f_g, tol.eps_ns, tol.slack, tol.granularity)
               for a, b in zip(tbs0, tbs1, strict=True)])
    emit(Check("tracks-wall-clock", ok, "resume after a running guest's migration",
               {"t_stop": t0, "t_resume": t1, "tb_stop": tbs0[0], "tb_resume": tbs1[0],
                "expected": P.as_int(tbs0[0]) + P.ticks(P.as_int(t1) - P.as_int(t0), tol.f_g)}))


def on_snapshot_resume(ref: list[Num], tbs: list[Num], tol: Tolerances, what: str,
                       emit: Emit) -> None:
    """A resume right after savevm or loadvm: the TB is the snapshot's."""
    _same("snapshot-frozen", ref, tbs, tol, what, emit)


def _same(prop: str, ref: list[Num], tbs: list[Num], tol: Tolerances, what: str,
          emit: Emit) -> None:
    ok = all_([P.frozen(a, b, tol.granularity) for a, b in zip(ref, tbs, strict=True)])
    emit(Check(prop, ok, what, {"tb_ref": ref[0], "tb_resume": tbs[0], "expected": ref[0]}))


def on_branch_restart(g: Ghost) -> None:
    """loadvm: the guest's history restarts from the snapshot; earlier reads no longer count."""
    g.last = None


def on_obligations(obligations: list[Obligation], hook: str, emit: Emit) -> None:
    """no-overflow: every checked operation in a hook stayed within its C type."""
    ok = all_([~Bool(ob.cond) for ob in obligations])
    concrete = [ob.what for ob in obligations if ob.cond is True]
    emit(Check("no-overflow", ok, f"arithmetic of {hook}",
               {"overflowed": concrete} if concrete else {}))
