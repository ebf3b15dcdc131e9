"""The invariant Houdini keeps is a real one: every fact holds in every state that concrete runs
reach (runs it never saw), and it says what control states it covers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import z3

from tbcheck.model.domain import Int, fresh
from tbcheck.proofs import houdini
from tbcheck.proofs.budget import MEGA, Budget
from tbcheck.proofs.houdini import describe
from tbcheck.proofs.induction import Inductor
from tbcheck.proofs.quantities import Candidate
from tbcheck.proofs.query import Query
from tbcheck.proofs.samples import sample


def test_every_fact_holds_in_states_the_search_never_saw(inductor: Inductor) -> None:
    inv = inductor.invariant
    assert inv is not None and inv.size() > 0
    fresh = sample(inv.rules, inv.env, runs=60, depth=10, seed=12345)
    checked = 0
    for k, items in fresh.items():
        facts = inv.holds.get(k)
        assert facts is not None, "a reachable control state the induction never covered"
        for values, n in items:
            growth = inv.horizon.growth(values["t"], Int(n))
            for fact in facts:
                if fact.a in values and (not fact.b or fact.b in values):
                    assert bool(fact.holds(values, growth)), f"{fact} fails in a reachable state"
                    checked += 1
    assert checked > 1000


def test_a_running_guests_vcpus_share_one_offset(inductor: Inductor) -> None:
    inv = inductor.invariant
    assert inv is not None
    running = {label: facts for label, facts in describe(inv).items() if " running " in label}
    assert len(running) >= 3  # running on each host
    for facts in running.values():  # a paused guest's cont sets them all anew: no need there
        assert "vm.cpus[0].tb_offset == vm.cpus[1].tb_offset" in facts


def test_every_transition_lands_in_a_covered_control_state(inductor: Inductor) -> None:
    inv = inductor.invariant
    assert inv is not None
    for g in inv.generic.values():
        for tr in g.transitions:
            assert tr.post in inv.holds


def test_a_question_the_exact_solver_cannot_settle_goes_to_the_abstraction(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two true facts about floors of products (qemu-tcg's ``muldiv64`` of a virtual clock
    before and after ``d`` ns), with an exact solver that decides nothing: the abstraction
    keeps both at once (before, the question was split and each fact dropped as undecided)."""
    (x, cx), (d, cd), (f, cf) = (fresh(Int, f"hq_{n}", 0, hi) for n, hi in
                                 (("x", 10**18), ("d", 10**18), ("f", 2**32 - 1)))
    x, d, f = x.v, d.v, f.v  # type: ignore[assignment]
    y = x + d
    q = Query([cx, cd, cf])
    monkeypatch.setattr(Query, "check", lambda *a, **k: (z3.unknown, None))
    terms = {Candidate("le", "a", "b"): x * f / 10**9 <= y * f / 10**9,
             Candidate("ge0", "a"): x * f / 10**9 >= 0}
    inv = SimpleNamespace(queries=0, horizon=None, log=[])
    tr = SimpleNamespace(term=lambda c, hz: terms[c])
    kept = houdini._exact_survivors(inv, q, [], tr, list(terms), Budget(10**12), 300_000)  # type: ignore
    assert kept == list(terms) and inv.log == []
    # a false fact is not kept: undecided, it is dropped
    terms[Candidate("le", "b", "a")] = y * f / 10**9 <= x * f / 10**9
    kept = houdini._exact_survivors(inv, q, [], tr, list(terms), Budget(10**12), 300_000)  # type: ignore
    assert Candidate("le", "b", "a") not in kept
    assert (Candidate("le", "b", "a"), tr, "undecided") in inv.log


def test_a_hint_is_proved_again_and_a_wrong_fact_in_it_falls(inductor: Inductor) -> None:
    inv = inductor.invariant
    assert inv is not None and inductor.horizon is not None
    boot = inv.boot.post
    wrong = Candidate("const", "t", k=12345)  # true time is 0 at boot, not 12345 ns
    hint = {k: list(v) for k, v in inv.holds.items()}
    hint[boot] = hint[boot] + [wrong]
    again = houdini.find(inv.rules, inv.env, inductor.horizon, 200 * MEGA, hint=hint)
    assert again is not None
    assert wrong not in again.holds[boot]
    assert any(c == wrong and why == "refuted" for c, _, why in again.log)
    assert again.holds == inv.holds  # everything else in the hint was proved again
