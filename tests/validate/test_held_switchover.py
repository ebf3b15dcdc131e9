"""A held switchover (pause-before-switchover) is no event of its own: continued, a migration
whose save phase lasts the hold; cancelled, a migrate-fail whose cancel phase lasts it
(docs/properties.md). The reference trace holds each scenario about half a second."""

from __future__ import annotations

from tbcheck.trace import read_trace
from tbcheck.validate.rebuild import load
from tbcheck.validate.records import InstantName as At
from tbcheck.validate.records import StepKind
from tests.validate.helpers import DATA, result, validate_json

HELD = DATA / "pseries-held.trace.jsonl"  # QEMU 7.2: held-switchover, held-switchover-cancel
HOLD_NS = 500_000_000  # record --delay 1: the scenarios hold half the delay


def _scenarios() -> dict:
    info = load(str(HELD), read_trace(HELD))
    return {sc.name: sc for sc in info.scenarios}


def test_a_continued_hold_is_a_migration_with_a_longer_save_phase() -> None:
    sc = _scenarios()["held-switchover"]
    assert sc.problem is None and sc.outside is None
    (mig,) = [st for st in sc.steps if st.kind is not StepKind.BOOT]
    assert mig.kind is StepKind.MIGRATE and mig.running and not mig.paused_dst
    save = mig.instants[At.PRE_SAVE].est - mig.instants[At.STOP].est
    assert HOLD_NS <= save < 3 * HOLD_NS  # the hold lies between the stop and pre_save
    rest = mig.instants[At.RESUME].est - mig.instants[At.PRE_SAVE].est
    assert 0 <= rest < save


def test_a_cancelled_hold_is_a_migrate_fail_whose_cancel_phase_is_the_hold() -> None:
    sc = _scenarios()["held-switchover-cancel"]
    assert sc.problem is None
    (fail,) = [st for st in sc.steps if st.kind is not StepKind.BOOT]
    assert fail.kind is StepKind.MIGRATE_FAIL and fail.running
    assert fail.instants[At.PRE_SAVE].est == fail.instants[At.STOP].est  # at the stop
    assert fail.instants[At.RESUME].est - fail.instants[At.STOP].est >= HOLD_NS


def test_qemu_tcg_predicts_every_read_and_loses_the_hold() -> None:
    code, doc = validate_json(str(HELD), "--variant", "qemu-tcg")
    assert code == 0
    c = doc["conformance"]
    assert c["reads"] == c["conforming"] == 36
    assert {s["scenario"] for s in c["scenarios"]} == {"held-switchover",
                                                       "held-switchover-cancel"}
    tracks = result(doc, "tracks-wall-clock")
    assert (tracks["situations"], tracks["failed"]) == (2, 2)  # both chains hold a hop
    assert tracks["mismatch"]["miss_ms"] < -HOLD_NS / 1e6  # the TB resumed where it stopped


def test_a_rule_set_whose_tb_runs_while_stopped_does_not_conform() -> None:
    """qemu-ppc-v0 has no stop handler: its TB runs through the hold, QEMU's did not."""
    code, doc = validate_json(str(HELD), "--variant", "qemu-ppc-v0")
    assert code == 1
    bad = {m["scenario"] for m in doc["conformance"]["mismatches"]}
    assert "held-switchover" in bad
