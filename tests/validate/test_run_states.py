"""The validator reads the trace's own run states: a destination started paused (``-S``) is
named as outside the model and the scenario judged up to it, and a read or a migration whose
recorded run state contradicts the model's is a loud error, never a silent comparison."""

from __future__ import annotations

from pathlib import Path

from tests.validate.helpers import DATA, TRACES, cli, records, validate_json, write

TO_PAUSED = DATA / "pseries-to-paused.trace.jsonl"  # QEMU 7.2, scenario migrate-to-paused


def _migrate_start_line(recs: list[dict]) -> int:
    return next(n for n, r in enumerate(recs, start=1)
                if r["kind"] == "mark" and r["label"] == "migrate-start")


def test_a_destination_started_paused_is_named_and_the_rest_judged() -> None:
    code, doc = validate_json(str(TO_PAUSED), "--variant", "qemu-tcg")
    assert code == 0
    (outside,) = doc["outside_model"]
    assert outside["scenario"] == "migrate-to-paused"
    assert "destination started paused" in outside["reason"]
    recs = records(TO_PAUSED)
    before = sum(1 for r in recs[:_migrate_start_line(recs)] if r["kind"] == "read")
    c = doc["conformance"]
    assert c["reads"] == before > 0  # the reads before the migration, and only those
    assert c["conforming"] == before


def test_without_the_cont_the_paused_destination_is_still_not_taken_as_running(
        tmp_path: Path) -> None:
    recs = [r for r in records(TO_PAUSED) if not (r["kind"] == "mark" and r["label"] == "cont")]
    code, doc = validate_json(str(write(tmp_path / "no-cont.jsonl", recs)), "--variant",
                              "qemu-tcg")
    assert code == 0 and doc["outside_model"]
    recs_before = recs[:_migrate_start_line(recs)]
    assert doc["conformance"]["reads"] == sum(1 for r in recs_before if r["kind"] == "read")


def test_a_read_whose_run_state_contradicts_the_model_is_an_error(tmp_path: Path) -> None:
    recs = records(TRACES["pseries"])
    paused = next(r for r in recs if r["kind"] == "read" and r["scenario"] == "stop-cont"
                  and r["runstate"] == "paused")
    paused["runstate"] = "running"
    code, out, _ = cli("validate", str(write(tmp_path / "t.jsonl", recs)))
    assert code == 1
    assert "reads the guest as running" in out and "model has it paused" in out


def test_a_paused_guest_that_arrives_running_is_an_error(tmp_path: Path) -> None:
    recs = records(TRACES["pseries"])
    done = next(r for r in recs if r["kind"] == "mark" and r["label"] == "migrate-done"
                and r["scenario"] == "migrate-paused")
    done["dest_state"] = "running"
    code, out, _ = cli("validate", str(write(tmp_path / "t.jsonl", recs)))
    assert code == 1
    assert "left the destination running" in out
