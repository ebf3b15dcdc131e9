"""``tbcheck validate`` on the reference traces recorded from QEMU 7.2 (TCG), on edited copies
of them, and on broken files. Expected counts come from the trace itself, not from a past run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.validate.helpers import (
    TRACES,
    cli,
    edit,
    marks,
    reads,
    records,
    result,
    validate_json,
    write,
)

HOLDS_ON_REAL_QEMU = ["monotonic", "frozen-when-stopped", "guest-frequency", "snapshot-frozen"]


def running_chains(recs: list[dict[str, Any]]) -> int:
    """Running chains (from a scenario's start, a cont, a savevm or a loadvm to the next of
    them) that hold a running guest's migration: tracks-wall-clock judges each chain once."""
    n, hopped = 0, False
    for r in recs:
        if r["kind"] == "scenario" or (r["kind"] == "mark" and r["label"] in (
                "stop", "cont", "savevm", "loadvm")):
            n, hopped = n + hopped, False
        elif (r["kind"] == "mark" and r["label"] == "migrate-start"
              and r["source_state"] == "running"):
            hopped = True
    return n + hopped


def pauses(recs: list[dict[str, Any]]) -> int:
    """Explicit pauses a resume ends, with no loadvm replacing the paused history."""
    n, open_pause = 0, False
    for r in recs:
        if r["kind"] == "scenario" or (r["kind"] == "mark" and r["label"] == "loadvm"):
            open_pause = False
        elif r["kind"] == "mark" and r["label"] == "stop":
            open_pause = True
        elif r["kind"] == "mark" and r["label"] == "cont" and open_pause:
            n, open_pause = n + 1, False
    return n


@pytest.mark.parametrize("machine", list(TRACES))
def test_properties_real_qemu_satisfies_hold(machine: str) -> None:
    recs = records(TRACES[machine])
    code, doc = validate_json(str(TRACES[machine]))
    assert doc["variant"] is None and doc["conformance"] is None and doc["skipped"] == []
    for prop in HOLDS_ON_REAL_QEMU:
        r = result(doc, prop)
        assert r["verdict"] == "holds" and r["situations"] > 0 and r["mismatch"] is None, r
    assert result(doc, "frozen-when-stopped")["situations"] == pauses(recs)
    snaps = len(marks(recs, "savevm")) + len(marks(recs, "loadvm"))
    assert result(doc, "snapshot-frozen")["situations"] == snaps
    vcpus = result(doc, "vcpus-agree")
    if recs[0]["vcpus"] > 1:
        assert vcpus["verdict"] == "holds" and vcpus["situations"] > 0
    else:
        assert vcpus["verdict"] == "not exercised" and vcpus["situations"] == 0
    assert result(doc, "no-overflow")["verdict"] == "not observable"
    # under TCG a running guest's migration never counts its downtime (docs/findings.md: qemu-tcg)
    tracks = result(doc, "tracks-wall-clock")
    assert tracks["verdict"] == "violated"
    assert tracks["situations"] == running_chains(recs)
    assert tracks["mismatch"]["miss_ticks"] < 0  # the guest's TB is behind true time
    assert code == 1  # without a variant every judged property must hold


@pytest.mark.parametrize("machine", list(TRACES))
def test_qemu_tcg_predicts_every_read(machine: str) -> None:
    recs = records(TRACES[machine])
    code, doc = validate_json(str(TRACES[machine]), "--variant", "qemu-tcg")
    conf = doc["conformance"]
    assert conf["reads"] == len(reads(recs)) and conf["unpredicted"] == 0
    assert conf["conforming"] == conf["reads"] and conf["mismatches"] == []
    assert {s["scenario"] for s in conf["scenarios"]} == set(recs[0]["scenarios"])
    assert doc["ok"] is True and code == 0


def test_text_report_says_ok() -> None:
    code, out, _ = cli("validate", str(TRACES["pseries"]), "--variant", "qemu-tcg")
    assert code == 0
    assert out.rstrip().endswith("validate: OK")
    assert "conformance of qemu-tcg:" in out and "tracks-wall-clock    violated" in out


def _pause_ticks(recs: list[dict[str, Any]], scenario: str) -> tuple[float, float]:
    """The bounds the stop and cont commands' windows put on the pause, in ticks."""
    f = recs[0]["tb_freq_hz"]
    (stop,) = marks(recs, "stop", scenario)
    (cont,) = marks(recs, "cont", scenario)
    lo = (cont["mono_before_ns"] - stop["mono_after_ns"]) * f / 1e9
    hi = (cont["mono_after_ns"] - stop["mono_before_ns"]) * f / 1e9
    return lo, hi


def _read_window_ticks(recs: list[dict[str, Any]], line: int) -> float:
    r = recs[line - 1]
    return (r["mono_after_ns"] - r["mono_before_ns"]) * recs[0]["tb_freq_hz"] / 1e9


@pytest.mark.parametrize("machine", list(TRACES))
def test_tb_running_while_paused_misses_by_the_pause(machine: str) -> None:
    """qemu-ppc-v0 has no stop handler: its TB runs while the guest is paused, so after cont
    it is ahead of real QEMU by the pause (its offsets are rounded up to 2**24 ticks)."""
    recs = records(TRACES[machine])
    code, doc = validate_json(str(TRACES[machine]), "--variant", "qemu-ppc-v0")
    assert code == 1 and doc["ok"] is False
    sc = {s["scenario"]: s for s in doc["conformance"]["scenarios"]}["stop-cont"]
    assert sc["conforming"] < sc["reads"]
    rows = [m for m in doc["conformance"]["mismatches"] if m["scenario"] == "stop-cont"]
    points = {m["vm"] + ":" + m["event"].split()[1] for m in rows}
    assert "src:@after-cont" in points and "src:@paused-before-cont" in points
    assert not any("@before-stop" in m["event"] for m in rows)  # before the pause it agrees
    lo, hi = _pause_ticks(recs, "stop-cont")
    gran = 1 << 24
    for m in rows:
        if "@after-cont" in m["event"]:
            ahead = m["expected_tb"] - m["tb"]
            slop = 2 * gran + _read_window_ticks(recs, m["line"])
            assert lo - slop <= ahead <= hi + slop, (m, lo, hi)
            assert m["miss_ticks"] < 0


RUNS_WHILE_PAUSED = '''
"""A TB that keeps running while the guest is paused, migrated as a plain value."""
from tbcheck import Record, RuleSet, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "runs-while-paused"

    def stop(self, vm, state):
        pass

    def cont(self, vm):
        pass

    def pre_save(self, vm):
        return Record(tb=wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset))

    def post_load(self, vm, record):
        vm.set_all_offsets(wrapping_sub(record.tb, vm.host.tb()))
'''


def test_variant_file_running_while_paused_misses_by_the_pause(tmp_path: Path) -> None:
    """Without any rounding, every read after cont is ahead by the pause, within windows."""
    rules = tmp_path / "runs.py"
    rules.write_text(RUNS_WHILE_PAUSED)
    trace = TRACES["pseries"]
    recs = records(trace)
    code, doc = validate_json(str(trace), "--variant-file", str(rules))
    assert code == 1 and doc["variant"] == "runs-while-paused"
    rows = [m for m in doc["conformance"]["mismatches"] if m["scenario"] == "stop-cont"]
    after = [m for m in rows if "@after-cont" in m["event"] or "@end" in m["event"]]
    assert len(after) == 2 * recs[0]["reads_per_point"] * recs[0]["vcpus"]
    lo, hi = _pause_ticks(recs, "stop-cont")
    for m in after:
        slop = _read_window_ticks(recs, m["line"]) + 4
        assert lo - slop <= m["expected_tb"] - m["tb"] <= hi + slop, (m, lo, hi)


def tcg_copy(tmp_path: Path, expected: dict[str, str]) -> Path:
    path = tmp_path / "tcg_copy.py"
    path.write_text("from tbcheck.model.rulesets.qemu_tcg import Rules as Tcg\n\n\n"
                    "class Rules(Tcg):\n    name = 'tcg-copy'\n"
                    f"    expected = {expected!r}\n")
    return path


def test_declared_verdicts_decide_the_exit_status(tmp_path: Path) -> None:
    """Only a property declared "proved" that the trace violates fails a run with a variant."""
    trace = str(TRACES["mac99"])
    ok = tcg_copy(tmp_path, {"monotonic": "proved for every depth",
                             "tracks-wall-clock": "violated from depth 1"})
    code, doc = validate_json(trace, "--variant-file", str(ok))
    assert code == 0 and result(doc, "tracks-wall-clock")["expected"] == "violated from depth 1"
    (tmp_path / "bad").mkdir()
    bad = tcg_copy(tmp_path / "bad", {"tracks-wall-clock": "proved for every depth"})
    code, doc = validate_json(trace, "--variant-file", str(bad))
    assert code == 1 and doc["conformance"]["conforming"] == doc["conformance"]["reads"]
    code, out, _ = cli("validate", trace, "--variant-file", str(bad))
    assert "FAILED: tracks-wall-clock violated" in out


def add_after_cont(ticks: int) -> Any:
    def change(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        resumed = False
        for r in recs:
            if r["kind"] == "scenario":
                resumed = False
            elif r["kind"] == "mark" and r["label"] == "cont":
                resumed = True
            elif r["kind"] == "read" and resumed:
                r["tb"] += ticks
        return recs
    return change


@pytest.mark.parametrize("machine", list(TRACES))
def test_tampered_trace_is_not_frozen(machine: str, tmp_path: Path) -> None:
    src = TRACES[machine]
    f = records(src)[0]["tb_freq_hz"]
    bad = edit(src, tmp_path / "tampered.jsonl", add_after_cont(10 * f))
    code, doc = validate_json(str(bad))
    frozen = result(doc, "frozen-when-stopped")
    assert code == 1 and frozen["verdict"] == "violated"
    assert frozen["failed"] == frozen["situations"] == pauses(records(src))
    assert 10 * f - f // 10 < frozen["mismatch"]["miss_ticks"] <= 10 * f
    assert "@after-cont" in frozen["mismatch"]["event"]
    for prop in ("monotonic", "guest-frequency"):  # a constant shift changes no rate
        assert result(doc, prop)["verdict"] == "holds"
    code, doc = validate_json(str(bad), "--variant", "qemu-tcg")
    assert code == 1 and doc["conformance"]["conforming"] < doc["conformance"]["reads"]


def test_truncated_trace_exits_2_with_one_line(tmp_path: Path) -> None:
    lines = TRACES["pseries"].read_text().splitlines(keepends=True)
    cut = tmp_path / "cut.jsonl"
    cut.write_text("".join(lines[: len(lines) // 2]))
    code, out, err = cli("validate", str(cut))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "truncated trace" in err and str(cut) in err


def test_malformed_trace_exits_2_naming_the_line(tmp_path: Path) -> None:
    lines = TRACES["mac99"].read_text().splitlines(keepends=True)
    lines[9] = '{"v":1,"kind":"read",\n'
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(lines))
    code, out, err = cli("validate", str(bad), "--variant", "qemu-tcg")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{bad}:10: malformed JSON" in err


@pytest.mark.parametrize("argv, message", [
    (["--variant", "qemu-ppc-v9"], "unknown rule set 'qemu-ppc-v9'"),
    (["--variant-file", "/nonexistent/rules.py"], "no such"),
    (["--tb-freq", "0"], "--tb-freq must be positive"),
])
def test_bad_options_exit_2(argv: list[str], message: str) -> None:
    code, out, err = cli("validate", str(TRACES["mac99"]), *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_broken_rule_file_exits_2(tmp_path: Path) -> None:
    rules = tmp_path / "broken.py"
    rules.write_text("from tbcheck import RuleSet\nclass Rules(RuleSet:\n    pass\n")
    code, _, err = cli("validate", str(TRACES["mac99"]), "--variant-file", str(rules))
    assert code == 2 and err.count("\n") == 1 and "broken.py" in err


def test_unknown_frequency_needs_tb_freq(tmp_path: Path) -> None:
    def drop(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        recs[0]["tb_freq_hz"] = None
        return recs

    trace = edit(TRACES["mac99"], tmp_path / "nofreq.jsonl", drop)
    code, _, err = cli("validate", str(trace))
    assert code == 2 and "--tb-freq" in err
    code, doc = validate_json(str(trace), "--tb-freq", "100000000", "--variant", "qemu-tcg")
    assert code == 0 and doc["f_g"] == 100_000_000


def test_a_measured_frequency_is_judged_within_its_error(tmp_path: Path) -> None:
    """A header frequency 1000 ppm off the true one fails the rate and the conformance checks;
    with that much error declared (a measured frequency), every comparison allows for it over
    the time it carries a value, and the real bug a rule set has is still caught; --tb-freq
    says the user knows the frequency: no error."""
    def off(error: int | None) -> Callable[[list[dict[str, Any]]], list[dict[str, Any]]]:
        def change(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
            recs[0]["tb_freq_hz"] += 512_000
            recs[0]["tb_freq_error_hz"] = error
            return recs
        return change

    wrong = edit(TRACES["pseries"], tmp_path / "off.jsonl", off(None))
    code, doc = validate_json(str(wrong), "--variant", "qemu-tcg")
    assert code == 1 and doc["f_g_error_hz"] == 0
    assert result(doc, "guest-frequency")["verdict"] == "violated"
    measured = edit(TRACES["pseries"], tmp_path / "measured.jsonl", off(512_000))
    code, doc = validate_json(str(measured), "--variant", "qemu-tcg")
    assert code == 0 and doc["f_g"] == 512_512_000 and doc["f_g_error_hz"] == 512_000
    assert result(doc, "guest-frequency")["verdict"] == "holds"
    assert doc["conformance"]["conforming"] == doc["conformance"]["reads"]
    code, doc = validate_json(str(measured), "--variant", "qemu-ppc-v0")
    assert code == 1 and "stop-cont" in {m["scenario"] for m in doc["conformance"]["mismatches"]}
    code, doc = validate_json(str(measured), "--variant", "qemu-tcg", "--tb-freq", "512512000")
    assert code == 1 and doc["f_g_error_hz"] == 0
    _, out, _ = cli("validate", str(measured), "--variant", "qemu-tcg")
    assert "f_g 512512000 Hz (measured, +-512000 Hz)" in out


def test_unmappable_scenario_is_reported_and_fails(tmp_path: Path) -> None:
    """A cont while the guest runs (its stop mark removed) cannot be the model's events."""
    def drop_stop(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in recs if not (r["kind"] == "mark" and r["label"] == "stop"
                                        and r["scenario"] == "stop-cont")]

    trace = edit(TRACES["pseries"], tmp_path / "nostop.jsonl", drop_stop)
    code, doc = validate_json(str(trace), "--variant", "qemu-tcg")
    assert code == 1
    (skip,) = doc["skipped"]
    # the recorded run state (paused, as the stop left it) contradicts the model's running guest
    assert skip["scenario"] == "stop-cont" and "where the model has it running" in skip["reason"]
    assert "stop-cont" not in {s["scenario"] for s in doc["conformance"]["scenarios"]}


def test_failed_recording_is_skipped(tmp_path: Path) -> None:
    def fail_one(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for r in recs:
            if r["kind"] == "scenario" and r["edge"] == "end" and r["name"] == "two-hops":
                r["ok"], r["error"] = False, "QEMU refused"
        return recs

    trace = edit(TRACES["mac99"], tmp_path / "failed.jsonl", fail_one)
    code, doc = validate_json(str(trace), "--variant", "qemu-tcg")
    assert doc["skipped"] == [{"scenario": "two-hops",
                               "reason": "recording failed: QEMU refused"}]
    assert code == 0 and doc["conformance"]["conforming"] == doc["conformance"]["reads"]


def _drifting_two_hops(tmp_path: Path, drift: int, width_ns: int) -> tuple[Path, list[int]]:
    """The two-hops scenario alone, its guest reads rewritten as a TB that keeps pace with true
    time exactly, each window ``width_ns`` wide, plus ``drift`` ticks more after every running
    migration: what a per-hop check lets through. Returns the trace and the reads' bumps."""
    recs = records(TRACES["pseries"])
    header = {**recs[0], "scenarios": ["two-hops"]}
    f = header["tb_freq_hz"]
    body = [r for r in recs[1:] if r["kind"] == "footer"
            or r.get("scenario", r.get("name")) == "two-hops"]
    base = min(r["mono_before_ns"] for r in body if r["kind"] == "read")
    hops, bumps, out = 0, [], [header]
    for r in body:
        if r["kind"] == "mark" and r["label"] == "migrate-start" and r["source_state"] == (
                "running"):
            hops += 1
        if r["kind"] == "read" and r["runstate"] == "running":
            mono = r["mono_before_ns"]
            r = {**r, "mono_after_ns": mono + width_ns,
                 "rt_after_ns": r["rt_before_ns"] + width_ns,
                 "tb": (mono + width_ns // 2 - base) * f // 10**9 + 10**6 + hops * drift}
            bumps.append(hops * drift)
        out.append(r)
    return write(tmp_path / "two-hops.jsonl", out), bumps


def test_drift_within_each_hop_adds_up_over_the_chain(tmp_path: Path) -> None:
    """tracks-wall-clock per chain: a TB that gains one hop's whole allowance for the reads'
    windows at each of two running migrations passes every single hop and fails the chain."""
    from tbcheck.properties import predicates as P
    from tbcheck.validate.judge import SLACK

    width = 1000
    drift = -(-width * 512_000_000 // 10**9)  # two reads' windows, halved: what err allows
    (tmp_path / "ok").mkdir()
    ok_trace, flat = _drifting_two_hops(tmp_path / "ok", 0, width)
    _, doc = validate_json(str(ok_trace))
    tracks = result(doc, "tracks-wall-clock")
    assert tracks["verdict"] == "holds" and tracks["situations"] == 1 and set(flat) == {0}
    (tmp_path / "bad").mkdir()
    bad_trace, bumps = _drifting_two_hops(tmp_path / "bad", drift, width)
    assert sorted(set(bumps)) == [0, drift, 2 * drift]  # two running hops, one chain
    # hop by hop (the old reading) each step is within the tolerance, with rounding to spare
    for a, b in zip(bumps, bumps[1:], strict=False):
        assert bool(P.inside(P.Int(b + 1), P.within_range(a, drift + SLACK, drift + SLACK)))
    _, doc = validate_json(str(bad_trace))
    tracks = result(doc, "tracks-wall-clock")
    assert tracks["verdict"] == "violated" and tracks["situations"] == 1 and tracks["failed"] == 1
    # the first read outside is after the second hop: ahead by about one hop's drift
    assert drift - SLACK - 1 <= tracks["mismatch"]["miss_ticks"] <= drift - SLACK + 1
