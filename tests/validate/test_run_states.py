"""The validator reads the trace's own run states: a running guest's migration into a destination
started paused (``-S``) is the model's ``migrate(H, paused)``, judged to the end, and a read or a
migration whose recorded run state contradicts the model's is a loud error, never a silent
comparison."""

from __future__ import annotations

from pathlib import Path

from tests.validate.helpers import DATA, TRACES, cli, records, validate_json, write

TO_PAUSED = DATA / "pseries-to-paused.trace.jsonl"  # QEMU 7.2, scenario migrate-to-paused


def _result(doc: dict, prop: str) -> dict:
    return next(r for r in doc["results"] if r["property"] == prop)


def test_a_destination_started_paused_is_modelled_and_judged_to_the_end() -> None:
    code, doc = validate_json(str(TO_PAUSED), "--variant", "qemu-tcg")
    assert code == 0 and doc["outside_model"] == []
    every = sum(1 for r in records(TO_PAUSED) if r["kind"] == "read")
    c = doc["conformance"]
    assert c["reads"] == c["conforming"] == every == 50  # the paused and the resumed reads too
    (sc,) = c["scenarios"]
    assert "migrate src->dst (paused):stop" in sc["fitted_ms"]
    # from the load to the cont, an explicit pause: the paused TB is the one resumed from
    frozen = _result(doc, "frozen-when-stopped")
    assert (frozen["verdict"], frozen["situations"]) == ("holds", 1)
    # the time until the load belongs to the migration: QEMU under TCG does not count it
    tracks = _result(doc, "tracks-wall-clock")
    assert tracks["verdict"] == "violated"
    m = tracks["mismatch"]
    assert "paused destination's load" in m["what"] and m["runstate"] == "paused"
    assert -80 < m["miss_ms"] < -40  # the downtime (QEMU reported 51 ms) plus the windows


def test_a_rule_set_counting_the_wait_for_cont_is_told_apart() -> None:
    """seed-corrected's cont counts the time since the migration began, the paused wait too;
    seed-anchored counts the migration's time to the load only (vm.autostart), which QEMU
    under TCG loses: it is off by that downtime, not by the wait."""
    for variant, lo, hi in (("seed-corrected", -10_000, -1500), ("seed-anchored", -300, -40)):
        code, doc = validate_json(str(TO_PAUSED), "--variant", variant)
        assert code == 1
        c = doc["conformance"]
        assert c["conforming"] == 10  # the reads before the migration only
        first = c["mismatches"][0]
        assert first["event"].startswith("read @paused-after-migrate")
        assert lo < first["miss_ms"] < hi, (variant, first["miss_ms"])


def test_without_the_cont_the_paused_destination_is_still_not_taken_as_running(
        tmp_path: Path) -> None:
    recs = [r for r in records(TO_PAUSED) if not (r["kind"] == "mark" and r["label"] == "cont")]
    code, out, _ = cli("validate", str(write(tmp_path / "no-cont.jsonl", recs)))
    assert code == 1
    assert "reads the guest as running" in out and "model has it paused" in out


def test_a_running_guest_that_arrives_neither_running_nor_paused_is_an_error(
        tmp_path: Path) -> None:
    recs = records(TO_PAUSED)
    done = next(r for r in recs if r["kind"] == "mark" and r["label"] == "migrate-done")
    done["dest_state"] = "inmigrate"
    code, out, _ = cli("validate", str(write(tmp_path / "t.jsonl", recs)))
    assert code == 1
    assert "left the destination 'inmigrate'" in out


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
