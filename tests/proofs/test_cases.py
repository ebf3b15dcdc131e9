"""Checks split by cases: the same answer as the whole check, a model that names its events."""

from __future__ import annotations

import pytest
import z3

from tbcheck.model.registry import builtin
from tbcheck.proofs import cases, verdict
from tbcheck.proofs.budget import MEGA, Budget
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.terms import free_names
from tbcheck.proofs.unroll import Unrolling, unroll


def _only_whole_cases(monkeypatch: pytest.MonkeyPatch, u: Unrolling, upto: int) -> list[int]:
    """The solver decides a question only once the events of steps 1..``upto`` are fixed
    (no choice of theirs left in it), so ``by_cases`` must split all the way down."""
    left = {f"e{k}_" for k in range(1, upto + 1)}
    asked: list[int] = []
    real = cases.on_own

    def on_own(constraints: list[z3.BoolRef], term: z3.BoolRef, units: int
               ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        open_steps = {n.split("_")[0] + "_" for n in free_names(term)} & left
        asked.append(len(open_steps))
        if open_steps:
            return z3.unknown, None
        return real(constraints, term, units)

    monkeypatch.setattr(cases, "on_own", on_own)
    return asked


def _site(u: Unrolling, prop: str, step: int) -> z3.BoolRef:
    return z3.Or([s.violated for s in u.sites[prop] if s.step == step])


def test_a_violation_found_by_cases_decodes_and_replays(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    # qemu-ppc-v1 lets a paused guest's TB advance across a migration (stop, migrate, cont)
    u = unroll(builtin("qemu-ppc-v1"), Envelope(depth=3))
    asked = _only_whole_cases(monkeypatch, u, 3)
    r, model = cases.by_cases(u.sym.constraints, _site(u, "frozen-when-stopped", 3),
                              [sv.choice for sv in u.sym.steps[:3]], Budget(200 * MEGA))
    assert r == z3.sat and model is not None
    assert 0 in asked  # a whole case was asked
    params, events = verdict.decode(u, model, 3)
    assert verdict.replay(u.rules, u.env, "frozen-when-stopped", params, events, 3).replayed


def test_every_case_unsat_proves_the_check(monkeypatch: pytest.MonkeyPatch) -> None:
    u = unroll(builtin("seed-corrected"), Envelope(depth=2))
    asked = _only_whole_cases(monkeypatch, u, 2)
    r, model = cases.by_cases(u.sym.constraints, _site(u, "monotonic", 2),
                              [sv.choice for sv in u.sym.steps[:2]], Budget(200 * MEGA))
    assert (r, model) == (z3.unsat, None)
    assert asked.count(0) > 1  # it took several cases


def test_no_time_left_is_unknown() -> None:
    u = unroll(builtin("seed-corrected"), Envelope(depth=1))
    r, _ = cases.by_cases(u.sym.constraints, _site(u, "monotonic", 1),
                          [u.sym.steps[0].choice], Budget(0))
    assert r == z3.unknown
