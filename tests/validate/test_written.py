"""A guest that wrote its TB before the first step (tbcheck/validate/written.py), on a trace of
real QEMU 7.2 running tbcheck's tb-writer firmware on powernv9 with two vCPUs
(tests/data/powernv-tb-writer.trace.jsonl: vCPU 1 wrote ``4 << 32``, its PIR, to its TBU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tbcheck.trace import read_trace
from tbcheck.validate import written as W
from tbcheck.validate.rebuild import load
from tests.validate.helpers import DATA, edit, reads, result, validate_json

TRACE = DATA / "powernv-tb-writer.trace.jsonl"
WROTE = 4 << 32  # the TB vCPU 1 wrote (its PIR in TBU), less vCPU 0's TB then: a little less


def test_each_scenario_learns_what_the_guest_wrote() -> None:
    info = load(str(TRACE), read_trace(TRACE))
    assert len(info.scenarios) == 6
    for sc in info.scenarios:
        (v, (d, u)), = sc.written.items()
        assert v == 1 and WROTE - 512_000_000 < d < WROTE and 0 <= u < 512_000, sc.name  # 1 ms
        assert sc.while_writing == 0, sc.name  # --settle: the firmware was done by then


def test_the_guests_write_is_its_own_and_its_loss_the_hypervisors() -> None:
    """qemu-tcg predicts every read (a write at each vCPU's first read, lost by a migration as
    QEMU 7.2 loses a vCPU's tb_offset); the first failures are on the destination, at the
    migration, never before it."""
    code, doc = validate_json(str(TRACE), "--variant", "qemu-tcg")
    assert code == 0
    c = doc["conformance"]
    assert c["reads"] == c["conforming"] == 132
    assert {(g["scenario"], g["vcpu"]) for g in doc["guest_written"]} == {
        (sc, 1) for sc in ("running", "stop-cont", "migrate-running", "migrate-paused",
                           "migrate-to-paused", "savevm-loadvm")}
    for prop in ("monotonic", "vcpus-agree"):
        m = result(doc, prop)["mismatch"]
        assert m["vm"] == "dst" and m["vcpu"] == 1 and "migrate" in m["event"], prop
    assert result(doc, "guest-frequency")["verdict"] == "holds"
    assert result(doc, "snapshot-frozen")["verdict"] == "holds"  # one process keeps it


def test_without_the_attribution_vcpus_disagree_from_the_first_read(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the attribution is for: taken as the hypervisor's, vCPU 1's write fails
    vcpus-agree at the first reads, and qemu-tcg mispredicts every read of vCPU 1."""
    monkeypatch.setattr("tbcheck.validate.rebuild.written_at_boot", lambda sc, info: {})
    from tests.validate.helpers import cli

    code, out, _ = cli("validate", str(TRACE), "--variant", "qemu-tcg")
    assert code == 1
    assert "vcpus-agree          violated" in out and "(after boot)" in out
    assert "the guest wrote its TB" not in out


def _unwrite_first(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """vCPU 1's first read of scenario ``running`` as if taken before the firmware's write."""
    first = [r for r in reads(recs, "running") if r["vcpu"] == 1][0]
    first["tb"] -= WROTE
    return recs


def test_reads_before_the_guests_last_write_are_left_out(tmp_path: Path) -> None:
    path = edit(TRACE, tmp_path / "early.jsonl", _unwrite_first)
    info = load(str(path), read_trace(path))
    sc = info.scenarios[0]
    assert sc.name == "running" and sc.while_writing == 3  # all before vCPU 1's jump
    assert 1 in sc.written
    code, doc = validate_json(str(path), "--variant", "qemu-tcg")
    assert code == 0 and doc["reads_while_writing"] == {"running": 3}
    assert doc["conformance"]["conforming"] == doc["conformance"]["reads"] == 129


def test_a_jump_after_the_first_step_is_never_the_guests(tmp_path: Path) -> None:
    """Only the stretch before the hypervisor's first step is the guest's: the same jump in
    vCPU 1 after the stop is judged (frozen-when-stopped fails there)."""
    def late(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for r in reads(recs, "stop-cont"):
            if r["vcpu"] == 1 and r["point"] == "paused-after-stop":
                r["tb"] += 1_000_000
        return recs

    path = edit(TRACE, tmp_path / "late.jsonl", late)
    info = load(str(path), read_trace(path))
    assert all(sc.while_writing == 0 for sc in info.scenarios)
    _, doc = validate_json(str(path), "--variant", "qemu-tcg")
    m = result(doc, "frozen-when-stopped")["mismatch"]
    assert m["scenario"] == "stop-cont" and m["vcpu"] == 1


def test_uncertainty_counts_the_two_largest() -> None:
    info = load(str(TRACE), read_trace(TRACE))
    sc = info.scenarios[0]
    assert W.uncertainty(sc) == sc.written[1][1]
