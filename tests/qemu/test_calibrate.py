"""The TB frequency of a machine nobody told us about, measured: the bounds' arithmetic, the
choice of the roundest value inside them, and live measurements of machines whose board code
sets a known frequency (QEMU 7.2 under TCG)."""

from __future__ import annotations

import pytest

from tbcheck.errors import UsageError
from tbcheck.qemu import calibrate, machine
from tests.qemu.test_recorder import need_binary


def test_bounds_bracket_the_rate_by_the_read_windows() -> None:
    # 512 ticks a microsecond, 2 s apart, each read inside a 1 ms window
    lo, hi = calibrate.bounds(0, (0, 1_000_000), 1_024_000_000, (2_000_000_000, 2_001_000_000))
    assert lo == pytest.approx(1_024_000_000 * 1e9 / 2_001_000_000)
    assert hi == pytest.approx(1_024_000_000 * 1e9 / 1_999_000_000)
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
