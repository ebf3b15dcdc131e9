"""The invariant Houdini keeps is a real one: every fact holds in every state that concrete runs
reach (runs it never saw), and it says what control states it covers."""

from __future__ import annotations

from model.domain import Int
from proofs.houdini import describe
from proofs.induction import Inductor
from proofs.samples import sample


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
