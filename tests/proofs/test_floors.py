"""Order facts about floor divisions: each one true, and a question keeps its answers."""

from __future__ import annotations

import pytest
import z3

from tbcheck.model.registry import builtin
from tbcheck.proofs import bounded, floors, verdict
from tbcheck.proofs.budget import MEGA, Budget
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.query import on_own
from tbcheck.proofs.terms import free_names
from tbcheck.proofs.unroll import unroll


def test_divisions_are_the_floors_by_positive_numerals() -> None:
    x, y, c = z3.Ints("x y c")
    term = z3.And((x * y) / 10**9 <= x / 7, x / c >= 0, y / -3 <= 1, (x * y) / 10**9 >= 2)
    found = floors.divisions(term)
    assert sorted(found) == [7, 10**9]
    assert len(found[10**9]) == 1 and z3.eq(found[10**9][0], (x * y) / 10**9)  # used twice


def test_every_fact_holds_under_the_envelope() -> None:
    u = unroll(builtin("seed-corrected"), Envelope(depth=2))
    site = max((s for s in u.sites["monotonic"] if s.step == 2),
               key=lambda s: sum(map(len, floors.divisions(s.violated).values())))
    facts = floors.order_facts(site.violated)
    plain = [f for f in facts if not z3.is_implies(f)]
    assert plain and len(facts) > len(plain)  # both kinds: ordered by ranges, and case splits
    solver = z3.Solver()
    solver.add(u.sym.constraints)
    solver.set("timeout", 10_000)
    for fact in facts:
        assert solver.check(z3.Not(fact)) == z3.unsat, fact


def test_an_unordered_pair_gets_implications_not_a_guess() -> None:
    u = unroll(builtin("seed-corrected"), Envelope(depth=1))  # its unknowns carry their ranges
    hosts, step = u.sym.params.hosts, u.sym.steps[0]
    f0, f1, d1 = hosts[0].freq.v, hosts[1].freq.v, step.d.v
    early, late = (f0 * d1) / 10**9, (f0 * (d1 + step.p1.v)) / 10**9
    other = (f1 * d1) / 10**9
    facts = floors.order_facts(z3.And(early + late + other >= 0, u.sym.constraints[0]))
    assert any(z3.eq(f, early <= late) for f in facts)  # the ranges order these two
    assert not any(z3.eq(f, early <= other) or z3.eq(f, other <= early) for f in facts)
    assert any(z3.is_implies(f) and z3.eq(f.arg(1), early <= other) for f in facts)


def test_a_violation_asked_with_facts_still_decodes_and_replays() -> None:
    # qemu-ppc-v1 lets a paused guest's TB advance across a migration (stop, migrate, cont)
    u = unroll(builtin("qemu-ppc-v1"), Envelope(depth=3))
    term = min((s.violated for s in u.sites["frozen-when-stopped"] if s.step == 3
                and not z3.is_false(s.violated)), key=lambda t: len(floors.order_facts(t)))
    assert floors.order_facts(term)  # the smallest check that has facts at all
    r, model = on_own(u.sym.constraints, floors.with_order_facts(term), 50 * MEGA)
    assert r == z3.sat and model is not None
    params, events = verdict.decode(u, model, 3)
    assert verdict.replay(u.rules, u.env, "frozen-when-stopped", params, events, 3).replayed


def test_the_brief_tries_start_with_what_decided_the_last_check(
        monkeypatch: pytest.MonkeyPatch) -> None:
    marker = z3.Bool("with_facts")
    monkeypatch.setattr(bounded, "with_order_facts", lambda t: z3.And(t, marker))
    asked: list[bool] = []

    def ask(solver: z3.Solver, term: z3.BoolRef, units: int
            ) -> tuple[z3.CheckSatResult, None]:  # only the question with facts is decided
        asked.append("with_facts" in free_names(term))
        return (z3.unsat if asked[-1] else z3.unknown), None

    monkeypatch.setattr(bounded, "_ask", ask)
    term, end = z3.Bool("violated"), Budget(200 * MEGA)
    assert bounded._quick(z3.Solver(), term, end, False) == (z3.unsat, None, True)
    assert asked == [False, True]
    asked.clear()
    assert bounded._quick(z3.Solver(), term, end, True) == (z3.unsat, None, True)
    assert asked == [True]  # the facts first now, and only them
