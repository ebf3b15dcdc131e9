"""Induction proves for every depth, and never what a counterexample refutes."""

from __future__ import annotations

from tbcheck.gate import declared_verdict
from tbcheck.model.registry import builtin
from tbcheck.proofs import bmc
from tbcheck.proofs.budget import MEGA
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.induction import Inductor
from tbcheck.proofs.options import CellOptions
from tbcheck.proofs.unroll import unroll
from tbcheck.proofs.verdict import Status
from tbcheck.properties import property_names
from tbcheck.workers import fresh


def _induced(name: str, props: list[str]) -> dict[str, tuple[bool, str]]:
    """Each property's induction on the built-in rule set ``name`` (its search 200M units,
    each step 50M): in a new interpreter (``fresh``), since what the search finds within its
    budget depends on the terms the process built before it (a test among others)."""
    ind = Inductor(builtin(name), Envelope(), 200 * MEGA)
    return {p: (out.proved, out.reason) for p in props
            for out in [ind.prove(p, 50 * MEGA)]}


def test_vcpus_agree_is_proved_for_every_depth(inductor: Inductor) -> None:
    out = inductor.prove("vcpus-agree", 50 * MEGA)
    assert out.proved, out.reason
    assert "any number of events" in out.reason and out.facts > 0


def test_never_proves_what_history_declares_violated(inductor: Inductor) -> None:
    violated = [p for p, v in inductor.rules.expected.items()
                if declared_verdict(v) == "violated"]
    assert violated
    for prop in violated:
        out = inductor.prove(prop, 50 * MEGA)
        assert not out.proved, f"{prop} proved by induction, but it has a counterexample"
        assert "from a state the invariant allows" in out.reason


def test_verdict_says_unbounded_and_keeps_its_witnesses(inductor: Inductor) -> None:
    u = unroll(inductor.rules, Envelope(depth=3))
    v = bmc.check(u, "vcpus-agree", CellOptions(induction_first=True), inductor=inductor)
    assert v.verdict == Status.PROVED and v.unbounded
    assert v.witnesses["assumptions"]["satisfiable"] is True
    assert v.witnesses["situation"]["reachable"] is True


def test_an_envelope_without_room_gives_no_induction() -> None:
    ind = Inductor(builtin("seed-as-written"), Envelope(max_initial=(1 << 63) - 10), MEGA)
    out = ind.prove("vcpus-agree", MEGA)
    assert not out.proved and "no room below 2**63" in out.reason


def test_seed_corrected_is_proved_for_every_depth_on_vcpus_agree_only() -> None:
    """vcpus-agree holds of every state. The others do not close: tracks-wall-clock is
    violated per chain (its clamp drifts over round trips), frozen-when-stopped and
    snapshot-frozen at a paused destination (its cont counts the wait), and the states that
    migration adds (paused, with a migration's stop still to be counted at the cont) are
    outside every invariant the search finds for monotonic, guest-frequency and no-overflow:
    the induction step must prove none of them."""
    for prop, (proved, reason) in fresh(_induced, "seed-corrected", property_names()).items():
        assert proved == (prop == "vcpus-agree"), f"{prop}: {reason}"


def test_qemu_ppc_v0_monotonic_is_proved_for_every_depth() -> None:
    """Its TB bounds pass through KVM-HV's rounding (``% 2**24``): the abstraction decides
    them only with the order facts of its divisions, and without the bounds no state rules
    out a TB that wraps past 2**64."""
    proved, reason = fresh(_induced, "qemu-ppc-v0", ["monotonic"])["monotonic"]
    assert proved, reason
