"""The TB frequency of a machine nobody told us about, measured: the bounds' arithmetic, the
choice of the roundest value inside them, and live measurements of machines whose board code
sets a known frequency (QEMU 7.2 under TCG)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tbcheck.cli import main
from tbcheck.commands import record_cmd
from tbcheck.errors import UsageError
from tbcheck.qemu import calibrate, machine
from tbcheck.trace import read_trace
from tests.qemu.test_recorder import need_binary


def test_bounds_bracket_the_rate_by_the_read_windows() -> None:
    # 512 ticks a microsecond, 2 s apart, each read inside a 1 ms window
    lo, hi = calibrate.bounds(0, (0, 1_000_000), 1_024_000_000, (2_000_000_000, 2_001_000_000))
    assert lo == pytest.approx(1_023_999_999 * 1e9 / 2_001_000_000)
    assert hi == pytest.approx(1_024_000_001 * 1e9 / 1_999_000_000)
    assert lo < 512_000_000 < hi


def test_a_tb_that_does_not_advance_cannot_be_measured() -> None:
    with pytest.raises(UsageError, match="did not advance"):
        calibrate.bounds(5, (0, 10), 5, (1_000, 1_010))


@pytest.mark.parametrize(("lo", "hi", "hz", "step"), [
    (511_832_144, 512_160_979, 512_000_000, 1_000_000),  # pseries
    (16_594_119, 16_654_097, 16_600_000, 100_000),  # g3beige: no whole MHz inside
    (33_332_900, 33_333_400, 33_333_000, 1_000),  # only a kHz is round enough
])
def test_the_roundest_value_inside_is_taken(lo: int, hi: int, hz: int, step: int) -> None:
    m = calibrate.Measured(lo, hi, 2.0)
    assert m.round_value == (hz, step)
    assert m.hz == hz
    assert f"multiple of {step} Hz" in m.source


def test_the_error_is_the_farthest_bound_from_the_value_taken() -> None:
    # a round value off the bounds' middle: the error reaches the farther bound, rounded up
    m = calibrate.Measured(16_597_220.5, 16_602_954.25, 3.0)
    assert m.hz == 16_600_000
    assert m.error_hz == 2_955
    assert m.hz - m.error_hz <= m.lo and m.hi <= m.hz + m.error_hz


def test_estimate_from_synthetic_windows_brackets_the_true_frequency() -> None:
    """Reads of a 16.6 MHz TB whose reply came anywhere inside a window of up to 2 ms: the
    bounds hold the true rate, the value taken is it, and the error covers the bounds."""
    f = 16_600_000
    for t1, w1, t2, w2, at1, at2 in [(0, 2_000_000, 2_000_000_000, 300_000, 0.0, 1.0),
                                     (7, 50_000, 1_500_000_000, 1_900_000, 1.0, 0.0),
                                     (10**12, 900_000, 10**12 + 3 * 10**9, 900_000, 0.5, 0.5)]:
        tb1 = (t1 + int(w1 * at1)) * f // 10**9
        tb2 = (t2 + int(w2 * at2)) * f // 10**9
        lo, hi = calibrate.bounds(tb1, (t1, t1 + w1), tb2, (t2, t2 + w2))
        assert lo <= f <= hi
        m = calibrate.Measured(lo, hi, (t2 - t1) / 1e9)
        assert m.hz == f and abs(m.hz - f) <= m.error_hz


def test_bounds_too_wide_for_one_round_value_give_the_midpoint() -> None:
    m = calibrate.Measured(509_000_000, 521_000_000, 2.0)  # eleven whole MHz inside
    assert m.round_value is None
    assert m.hz == 515_000_000
    assert m.error_hz == 6_000_000
    assert "midpoint" in m.source


@pytest.mark.parametrize(("binary", "args", "expected"), [
    ("qemu-system-ppc64", "-M pseries", 512_000_000),
    ("qemu-system-ppc", "-M g3beige", 16_600_000),  # in no table of ours
])
def test_measured_on_real_qemu(binary: str, args: str, expected: int) -> None:
    need_binary(binary)
    m = calibrate.measure(machine.resolve(binary, args), seconds=2.0)
    assert m.lo <= expected <= m.hi
    assert m.hz == expected


def test_record_measures_an_unknown_machine(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    """End to end on the G3 Beige (16.6 MHz in its board code, in no table of ours): record
    writes the measured frequency, its error and source in the header, and validate judges
    the trace within that error."""
    need_binary("qemu-system-ppc")
    assert machine.machine_name(["-M", "g3beige"]) not in machine.KNOWN_TB_FREQ_HZ
    out = tmp_path / "g3beige.jsonl"
    parser = argparse.ArgumentParser()
    record_cmd.add_arguments(parser)
    assert record_cmd.run(parser.parse_args(
        ["--out", str(out), "--qemu", "qemu-system-ppc", "--machine", "-M g3beige",
         "--reads", "2", "--delay", "0.5", "--scenario", "running", "--scenario", "stop-cont",
         "--scenario", "migrate-running"])) == 0
    head = read_trace(out)[0]
    assert head["tb_freq_hz"] == 16_600_000
    assert head["tb_freq_source"].startswith("measured: ")
    assert 0 < head["tb_freq_error_hz"] < 16_600_000 // 1000  # better than 1000 ppm
    capsys.readouterr()
    code = main(["validate", str(out), "--variant", "qemu-tcg", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["f_g_error_hz"] == head["tb_freq_error_hz"]
    assert doc["conformance"]["conforming"] == doc["conformance"]["reads"] > 0
    assert code == 0
