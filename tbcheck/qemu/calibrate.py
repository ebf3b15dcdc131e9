"""The guest's TB frequency, measured, for a machine whose nominal frequency nobody told us.

Under TCG the TB runs from QEMU's virtual clock, which follows the host's CLOCK_MONOTONIC, so
two reads of vCPU 0 some seconds apart, each bracketed by monotonic clock reads, bound the
frequency: ``(dTB - 1) / (after2 - before1) <= f <= (dTB + 1) / (before2 - after1)`` (the TB
is a floor of the clock's ticks: a tick either way); of several reads at
each end the one with the narrowest window is used, and while the bounds hold no round value
the measurement goes on (up to ``ROUNDS`` times as long: the width shrinks as the time grows,
which a busy host's slow replies need). Board code sets round frequencies (512 MHz
on sPAPR and PowerNV, 100 MHz on Mac99, 16.6 MHz on the G3 Beige), so the roundest value inside
the bounds is taken (the one multiple of 1 MHz, else of 100 kHz, else of 10 kHz, else of
1 kHz); failing all four, the midpoint. The header says which, with the bounds, and gives
the error as the farthest the true frequency may lie from the value taken (``error_hz``).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import time
from dataclasses import dataclass
from typing import IO, Any

from tbcheck.errors import UsageError
from tbcheck.qemu.machine import MachineConfig

_TB_LINE = re.compile(r"^TB\s+(\d+)\s+(\d+)", re.MULTILINE)
STEPS = (1_000_000, 100_000, 10_000, 1_000)  # Hz: the roundness a board's frequency has
READS = 5  # reads at each end; the narrowest window counts
SECONDS = 3.0  # between the two ends: the bounds' width shrinks as 1/SECONDS
ROUNDS = 4


@dataclass(frozen=True)
class Measured:
    """Bounds of the frequency (Hz) and the value taken, with how it was chosen."""

    lo: float
    hi: float
    seconds: float

    @property
    def round_value(self) -> tuple[int, int] | None:
        """(value, step): the only multiple of the coarsest step that lies within the bounds."""
        for step in STEPS:
            first, last = -(-int(self.lo) // step), int(self.hi) // step
            if first == last:
                return first * step, step
            if first < last:  # several: a finer step has more
                return None
        return None

    @property
    def hz(self) -> int:
        rv = self.round_value
        return rv[0] if rv else round((self.lo + self.hi) / 2)

    @property
    def error_hz(self) -> int:
        """How far the true frequency may lie from ``hz`` (rounded up): half the bounds' width
        for the midpoint, the larger distance to a bound for a round value."""
        return math.ceil(max(self.hz - self.lo, self.hi - self.hz))

    @property
    def source(self) -> str:
        rv = self.round_value
        how = (f"the only multiple of {rv[1]} Hz inside" if rv
               else "their midpoint (no single round value inside)")
        return (f"measured: TB rate against CLOCK_MONOTONIC over {self.seconds:g} s gave "
                f"{self.lo:.0f} to {self.hi:.0f} Hz; taken: {how}")


def bounds(tb1: int, win1: tuple[int, int], tb2: int, win2: tuple[int, int]) -> tuple[float, float]:
    """Frequency bounds (Hz) from two reads, each within its (before, after) window in ns: the
    ticks between them (give or take the one a floor may lose) over the longest and the
    shortest time the windows allow."""
    ticks = tb2 - tb1
    longest, shortest = win2[1] - win1[0], win2[0] - win1[1]
    if ticks <= 0 or shortest <= 0:
        raise UsageError("cannot measure the TB frequency: the TB did not advance between reads")
    return (ticks - 1) * 1e9 / longest, (ticks + 1) * 1e9 / shortest


def _send(stdin: IO[str], stdout: IO[str], cmd: str, args: dict[str, Any] | None = None) -> Any:
    stdin.write(json.dumps({"execute": cmd, **({"arguments": args} if args else {})}) + "\n")
    stdin.flush()
    while True:
        line = stdout.readline()
        if not line:
            raise UsageError(f"QEMU exited during the frequency measurement ({cmd})")
        msg = json.loads(line)
        if "return" in msg:
            return msg["return"]
        if "error" in msg:
            raise UsageError(f"QEMU refused {cmd}: {msg['error'].get('desc', msg['error'])}")


def _read(stdin: IO[str], stdout: IO[str]) -> tuple[int, tuple[int, int]]:
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    text = _send(stdin, stdout, "human-monitor-command",
                 {"command-line": "info registers", "cpu-index": 0})
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
    m = _TB_LINE.search(str(text))
    if not m:
        raise UsageError("cannot measure the TB frequency: no TB line in 'info registers'")
    return int(m.group(2)), (before, after)


def _narrowest(reads: list[tuple[int, tuple[int, int]]]) -> tuple[int, tuple[int, int]]:
    return min(reads, key=lambda r: r[1][1] - r[1][0])


def measure(cfg: MachineConfig, seconds: float = SECONDS) -> Measured:
    """Start the machine (running, no disk), read vCPU 0's TB twice ``seconds`` apart, quit."""
    argv = [*cfg.argv(), "-qmp", "stdio"]
    with subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, text=True) as proc:
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdout.readline()  # the greeting
            _send(proc.stdin, proc.stdout, "qmp_capabilities")
            tb1, win1 = _narrowest([_read(proc.stdin, proc.stdout) for _ in range(READS)])
            for _ in range(ROUNDS):
                time.sleep(seconds)
                tb2, win2 = _narrowest([_read(proc.stdin, proc.stdout) for _ in range(READS)])
                m = Measured(*bounds(tb1, win1, tb2, win2), round((win2[0] - win1[0]) / 1e9, 1))
                if m.round_value is not None:
                    break
            _send(proc.stdin, proc.stdout, "quit")
        finally:
            if proc.poll() is None:
                proc.kill()
    return m
