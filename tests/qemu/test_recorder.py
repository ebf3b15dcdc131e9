"""Live tests: record real QEMU guests (pseries on qemu-system-ppc64, mac99 on qemu-system-ppc)
and check what the trace shows against the host clocks, plus the recorder's cleanup.

Without the QEMU binaries these skip, unless CI is set, where a missing binary is a failure
(.ci/install-qemu installs them).
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tbcheck.commands import record_cmd
from tbcheck.errors import UsageError
from tbcheck.trace import read_trace

SCENARIOS = ["running", "stop-cont", "migrate-running", "migrate-paused"]
MACHINES = {
    "pseries": ("qemu-system-ppc64", "-M pseries", 512_000_000, 2),
    "mac99": ("qemu-system-ppc", "-M mac99", 100_000_000, 1),
}
SLACK_TICKS = 2  # TB = floor(virtual clock * f / 1e9): rounding on each of two reads


def need_binary(binary: str) -> None:
    if shutil.which(binary) is None:
        msg = f"{binary} not installed (run .ci/install-qemu)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    record_cmd.add_arguments(parser)
    return parser.parse_args(argv)


@pytest.fixture(scope="module", params=list(MACHINES))
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[str, list[dict[str, Any]]]:
    name = request.param
    binary, machine, _, _ = MACHINES[name]
    need_binary(binary)
    out = tmp_path_factory.mktemp(name) / "trace.jsonl"
    argv = ["--out", str(out), "--qemu", binary, "--machine", machine, "--reads", "2",
            "--delay", "0.5"]
    for s in SCENARIOS:
        argv += ["--scenario", s]
    assert record_cmd.run(parse(argv)) == 0
    return name, read_trace(out)


def reads(recs: list[dict[str, Any]], scenario: str, point: str | None = None,
          vm: str | None = None) -> list[dict[str, Any]]:
    return [r for r in recs if r["kind"] == "read" and r["scenario"] == scenario
            and (point is None or r["point"] == point) and (vm is None or r["vm"] == vm)]


def marks(recs: list[dict[str, Any]], scenario: str, label: str) -> list[dict[str, Any]]:
    return [r for r in recs if r["kind"] == "mark" and r["scenario"] == scenario
            and r["label"] == label]


def ticks(ns: int, freq: int) -> float:
    return ns * freq / 1e9


def test_header_and_all_vcpus_read(recorded: tuple[str, list[dict[str, Any]]]) -> None:
    name, recs = recorded
    _, _, freq, vcpus = MACHINES[name]
    head = recs[0]
    assert head["machine"] == name and head["vcpus"] == vcpus and head["tb_freq_hz"] == freq
    assert recs[-1]["status"] == "complete"
    for s in SCENARIOS:
        seen = {(r["vm"], r["vcpu"]) for r in reads(recs, s)}
        for vm in {vm for vm, _ in seen}:
            assert {c for v, c in seen if v == vm} == set(range(vcpus)), (s, vm)


def test_tb_advances_at_nominal_rate_within_windows(
    recorded: tuple[str, list[dict[str, Any]]],
) -> None:
    """Across the run in 'running', each vCPU's TB advance lies between the smallest and the
    largest host-monotonic interval the two read windows allow, times the nominal frequency."""
    name, recs = recorded
    freq = MACHINES[name][2]
    checked = 0
    for vcpu in range(recs[0]["vcpus"]):
        first = [r for r in reads(recs, "running", "start") if r["vcpu"] == vcpu][-1]
        later = [r for r in reads(recs, "running", "end") if r["vcpu"] == vcpu][0]
        assert first["runstate"] == later["runstate"] == "running"
        d_tb = later["tb"] - first["tb"]
        lo = ticks(later["mono_before_ns"] - first["mono_after_ns"], freq) - SLACK_TICKS
        hi = ticks(later["mono_after_ns"] - first["mono_before_ns"], freq) + SLACK_TICKS
        assert lo <= d_tb <= hi, (vcpu, d_tb, lo, hi)
        assert d_tb > ticks(900_000_000, freq)  # two 0.5 s waits: the guest really ran
        # the realtime clock agrees too, within its windows and 500 ppm of NTP slewing
        lo_rt = ticks(later["rt_before_ns"] - first["rt_after_ns"], freq) * (1 - 5e-4)
        hi_rt = ticks(later["rt_after_ns"] - first["rt_before_ns"], freq) * (1 + 5e-4)
        assert lo_rt - SLACK_TICKS <= d_tb <= hi_rt + SLACK_TICKS, (vcpu, d_tb, lo_rt, hi_rt)
        checked += 1
    assert checked == recs[0]["vcpus"]


def test_frozen_across_stop_cont(recorded: tuple[str, list[dict[str, Any]]]) -> None:
    """Every paused read is the same value, and after cont the TB carries on from it: the
    advance is at most what the time since cont allows, so the paused 0.5 s was not added."""
    name, recs = recorded
    freq = MACHINES[name][2]
    paused = reads(recs, "stop-cont", "paused-after-stop") + reads(
        recs, "stop-cont", "paused-before-cont")
    assert paused and {r["runstate"] for r in paused} == {"paused"}
    frozen = {r["tb"] for r in paused}
    assert len(frozen) == 1
    (tb_stop,) = frozen
    before = reads(recs, "stop-cont", "before-stop")
    assert max(r["tb"] for r in before) <= tb_stop
    (cont,) = marks(recs, "stop-cont", "cont")
    (wait,) = [m for m in marks(recs, "stop-cont", "wait") if m["why"] == "paused"]
    assert wait["mono_after_ns"] - wait["mono_before_ns"] >= 500_000_000
    for r in reads(recs, "stop-cont", "after-cont"):
        assert r["runstate"] == "running"
        allowed = ticks(r["mono_after_ns"] - cont["mono_before_ns"], freq) + SLACK_TICKS
        assert 0 <= r["tb"] - tb_stop <= allowed


def test_migration_of_paused_guest_carries_exact_tb(
    recorded: tuple[str, list[dict[str, Any]]],
) -> None:
    _, recs = recorded
    src = {r["tb"] for r in reads(recs, "migrate-paused", "paused-after-stop")}
    dst = reads(recs, "migrate-paused", "paused-after-migrate") + reads(
        recs, "migrate-paused", "paused-before-cont")
    assert len(src) == 1 and {r["tb"] for r in dst} == src
    assert {r["vm"] for r in dst} == {"dst"} and {r["runstate"] for r in dst} == {"paused"}
    (done,) = marks(recs, "migrate-paused", "migrate-done")
    assert done["source_state"] == done["dest_state"] == "paused"


def test_live_migration_continues_on_destination(
    recorded: tuple[str, list[dict[str, Any]]],
) -> None:
    """The destination resumed by itself and its TB goes on from the source's frozen value."""
    _, recs = recorded
    s = "migrate-running"
    frozen = {r["tb"] for r in reads(recs, s, "source-postmigrate")}
    assert len(frozen) == 1
    after = reads(recs, s, "after-migrate")
    assert {r["runstate"] for r in after} == {"running"} and {r["vm"] for r in after} == {"dst"}
    assert min(r["tb"] for r in after) >= max(frozen) >= max(
        r["tb"] for r in reads(recs, s, "before-migrate"))
    events = [(r["vm"], r["event"]) for r in recs if r["kind"] == "event" and r["scenario"] == s]
    assert ("src", "STOP") in events and ("dst", "RESUME") in events


def test_processes_and_temp_dirs_cleaned_up(recorded: tuple[str, list[dict[str, Any]]]) -> None:
    _, recs = recorded
    starts = [r for r in recs if r["kind"] == "mark" and r["label"] == "vm-start"]
    quits = [r for r in recs if r["kind"] == "mark" and r["label"] == "vm-quit"]
    assert len(starts) == len(quits) == 2 * len(SCENARIOS) - 2  # running, stop-cont: one VM
    for r in starts:
        assert not Path(f"/proc/{r['pid']}").exists(), f"QEMU pid {r['pid']} still there"
        qmp = r["argv"][r["argv"].index("-qmp") + 1]
        sock = Path(qmp.removeprefix("unix:").split(",")[0])
        assert not sock.parent.exists(), f"{sock.parent} left behind"


def test_unknown_scenario_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="unknown scenario 'warp'"):
        record_cmd.run(parse(["--out", str(tmp_path / "t"), "--scenario", "warp"]))


def test_missing_binary_is_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not found"):
        record_cmd.run(parse(["--out", str(tmp_path / "t"), "--qemu", "qemu-system-nonesuch"]))


def test_failed_scenario_is_recorded_and_cleaned_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scenario that QEMU refuses ends with ok false and its error; the VM is still quit and
    the recording goes on to the next scenario."""
    import asyncio

    from tbcheck.qemu import machine, recorder, scenarios
    from tbcheck.qemu.session import Options, Session

    need_binary("qemu-system-ppc64")

    async def broken(s: Session) -> None:
        vm = await s.start_vm("src")
        await s.reads(vm, "start", n=1)
        await vm.command("no-such-command")

    monkeypatch.setitem(scenarios.SCENARIOS, "broken",
                        scenarios.Scenario("broken", "fails on purpose", broken))
    cfg = machine.resolve("qemu-system-ppc64", "-M pseries")
    out = tmp_path / "t.jsonl"
    results = asyncio.run(recorder.record(cfg, ["broken", "running"],
                                          Options(reads=1, delay_s=0.1), out, lambda m: None))
    assert results["broken"][0] is False and "no-such-command" in str(results["broken"][2])
    assert results["running"][0] is True
    recs = read_trace(out)
    (end,) = [r for r in recs if r["kind"] == "scenario" and r["edge"] == "end"
              and r["name"] == "broken"]
    assert end["ok"] is False and "CommandNotFound" in end["error"]
    (cmd,) = [r for r in recs if r["kind"] == "command" and r["cmd"] == "no-such-command"]
    assert cmd["ok"] is False
    assert recs[-1]["status"] == "complete" and recs[-1]["failed"] == ["broken"]
    for r in recs:
        if r["kind"] == "mark" and r["label"] == "vm-start":
            assert not Path(f"/proc/{r['pid']}").exists()
    assert len(marks(recs, "broken", "vm-quit")) == 1


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_interrupt_kills_qemu_and_leaves_a_readable_trace(tmp_path: Path, sig: str) -> None:
    import signal
    import subprocess
    import sys
    import time

    need_binary("qemu-system-ppc64")
    out = tmp_path / "t.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tbcheck.cli", "record", "--out", str(out),
         "--scenario", "stop-cont", "--scenario", "running", "--delay", "5"],
        stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while '"label":"stop"' not in (out.read_text() if out.exists() else ""):
        assert proc.poll() is None and time.monotonic() < deadline, "recorder did not start"
        time.sleep(0.05)
    proc.send_signal(getattr(signal, sig))
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == (130 if sig == "SIGINT" else 143), err
    recs = read_trace(out)
    assert recs[-1]["status"] == "interrupted"
    (end,) = [r for r in recs if r["kind"] == "scenario" and r["edge"] == "end"]
    assert end["name"] == "stop-cont" and end["ok"] is False and end["error"] == "interrupted"
    for r in recs:
        if r["kind"] == "mark" and r["label"] == "vm-start":
            assert not Path(f"/proc/{r['pid']}").exists()
            qmp = r["argv"][r["argv"].index("-qmp") + 1]
            assert not Path(qmp.removeprefix("unix:").split(",")[0]).parent.exists()


def test_machine_arguments() -> None:
    from tbcheck.qemu import machine

    assert machine.machine_name(["-M", "pseries,cap-htm=off"]) == "pseries"
    assert machine.machine_name(["-machine", "accel=tcg,type=mac99"]) == "mac99"
    assert machine.machine_name(["-m", "512"]) is None
    assert machine.parse_machine_args("-M pseries -m '1G'") == ["-M", "pseries", "-m", "1G"]
    for bad in ("-M pseries -qmp stdio", "-incoming defer", "-M 'unclosed"):
        with pytest.raises(UsageError):
            machine.parse_machine_args(bad)


def test_bad_machine_is_usage_error(tmp_path: Path) -> None:
    need_binary("qemu-system-ppc64")
    with pytest.raises(UsageError, match="does not start"):
        record_cmd.run(parse(["--out", str(tmp_path / "t"), "--machine", "-M nosuchboard"]))
