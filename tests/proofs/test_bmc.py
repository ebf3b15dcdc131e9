"""Verdicts are honest: counterexamples replay, proofs carry witnesses, vacuity and timeouts
are never passes, and engines that disagree are reported as a tool error."""

from __future__ import annotations

import pytest

from model.registry import builtin
from proofs import bmc
from proofs.envelope import Envelope
from proofs.unroll import unroll


def verdict(name: str, prop: str, timeout: float = 60.0, **env: object) -> bmc.Verdict:
    return bmc.check(unroll(builtin(name), Envelope(**env)), prop, timeout)  # type: ignore[arg-type]


def test_v1_bug_is_found_and_replays() -> None:
    v = verdict("qemu-ppc-v1", "frozen-when-stopped", depth=4)
    assert v.verdict == bmc.VIOLATED
    cx = v.counterexample
    assert cx is not None and cx.replayed
    kinds = [e.kind for e in cx.trace.events]
    assert "stop" in kinds and "cont" in kinds and kinds.index("stop") < kinds.index("cont")
    assert cx.trace.violations("frozen-when-stopped")


def test_proof_carries_both_witnesses() -> None:
    v = verdict("seed-corrected", "frozen-when-stopped", depth=3)
    assert v.verdict == bmc.PROVED
    assert v.witnesses["assumptions"]["satisfiable"] is True
    sit = v.witnesses["situation"]
    assert sit["reachable"] is True
    kinds = [e.kind for e in sit["events"]]
    assert "stop" in kinds and "cont" in kinds  # the situation: a pause and its resume


def test_unreachable_situation_is_vacuous_not_proved() -> None:
    v = verdict("seed-corrected", "frozen-when-stopped", depth=1)  # stop and cont need 2 events
    assert v.verdict == bmc.VACUOUS
    assert v.witnesses["situation"]["reachable"] is False


def test_contradictory_assumptions_are_vacuous() -> None:
    u = unroll(builtin("seed-corrected"), Envelope(depth=1))
    import z3

    u.sym.constraints.append(z3.BoolVal(False))
    v = bmc.check(u, "monotonic", 10)
    assert v.verdict == bmc.VACUOUS and v.witnesses["assumptions"]["satisfiable"] is False


def test_timeout_is_unknown_never_a_pass() -> None:
    v = verdict("qemu-ppc-v3", "monotonic", timeout=0.001, depth=3)
    assert v.verdict == bmc.UNKNOWN


def test_a_counterexample_that_does_not_replay_is_a_tool_error(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    real = bmc.run

    def replay_on_other_rules(rules, params, events, tol):  # noqa: ANN001, ANN202
        return real(builtin("seed-corrected"), params, events, tol)

    monkeypatch.setattr(bmc, "run", replay_on_other_rules)
    v = verdict("qemu-ppc-v1", "frozen-when-stopped", depth=4)
    assert v.verdict == bmc.TOOL_ERROR and "disagree" in v.reason


def test_assumption_changes_the_verdict() -> None:
    # seed-units-fixed multiplies the clocks' disagreement by the destination's frequency, and
    # a negative migration time can take a young TB below 0: it tracks true time only under
    # the seed's assumptions (i) same frequency and (ii) synchronised clocks
    assert verdict("seed-units-fixed", "tracks-wall-clock", depth=1).verdict == bmc.VIOLATED
    seed = verdict("seed-units-fixed", "tracks-wall-clock", depth=2, same_frequency=True,
                   eps_ns=0)
    assert seed.verdict == bmc.PROVED


def test_deepening_steps_over_a_depth_too_shallow_for_the_situation() -> None:
    """frozen-when-stopped needs a stop and a cont: depth 1 is vacuous, and deepening must go
    on to depth 2 rather than give up (qemu-tcg's cell was unknown at depth 8 for that)."""
    env = Envelope(depth=3)
    full = bmc.Verdict("seed-corrected", "frozen-when-stopped", bmc.UNKNOWN, 3)
    v = bmc._deepen(builtin("seed-corrected"), env, "frozen-when-stopped", full, 60.0, {})
    assert v.verdict == bmc.PROVED and v.depth == 2
    assert "proved to depth 2" in v.reason
