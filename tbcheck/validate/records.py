"""The validator's picture of a recorded trace: scenarios of model steps and TB reads, each
placed in time only within a window.

``rebuild`` makes these from a trace's records; ``judge`` and ``conformance`` read them. Every
time is CLOCK_MONOTONIC in ns, the clock QEMU's TCG virtual clock follows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


@dataclass(frozen=True)
class Window:
    """A time known to lie in ``[lo, hi]`` (monotonic ns)."""

    lo: int
    hi: int

    @property
    def mid(self) -> int:
        return (self.lo + self.hi) // 2

    @property
    def width(self) -> int:
        return self.hi - self.lo

    def clamp(self, x: int) -> int:
        return min(max(x, self.lo), self.hi)


class StepKind(StrEnum):
    """The model event a step stands for (``boot`` is the scenario's first)."""

    BOOT = "boot"
    STOP = "stop"
    CONT = "cont"
    MIGRATE = "migrate"
    MIGRATE_FAIL = "migrate-fail"
    SAVEVM = "savevm"
    LOADVM = "loadvm"


class InstantName(StrEnum):
    """The moments of a step that the model's event has a time for. A step the guest runs
    through has ``STOP`` ... ``RESUME`` (a running migration: with ``PRE_SAVE`` and
    ``POST_LOAD`` between); one the guest stays paused through has ``START`` ... ``END``; a
    running guest's migration into a destination started paused has ``STOP``, ``PRE_SAVE``,
    ``POST_LOAD`` (the load, where its explicit pause begins) and ``END`` (the same instant)."""

    BOOT = "boot"
    STOP = "stop"
    PRE_SAVE = "pre_save"
    POST_LOAD = "post_load"
    RESUME = "resume"
    START = "start"
    END = "end"


@dataclass(frozen=True)
class Instant:
    """When one model action happened: inside ``win``, ``est`` the best guess from the trace.
    ``fit``: the conformance check may move it within ``win`` to explain the reads."""

    win: Window
    est: int
    fit: bool = True


@dataclass
class Reading:
    """One recorded TB read, placed in its scenario's history."""

    line: int
    vm: str
    vcpu: int
    tb: int
    runstate: str | None
    point: str
    win: Window
    guest: bool  # an observation the guest makes: running, on the VM it lives on
    branch: int  # history branch: each loadvm starts a new one
    step: int  # index of the last step begun before this read
    source_of: int | None = None  # the migration step whose (stopped) source this VM is
    written: int = 0  # ticks the guest wrote to this vCPU, taken out of ``tb`` (written.py)


@dataclass
class Step:
    """One model event rebuilt from the marks. ``instants`` in the order they happened: the first
    is when the model event begins, the last when it ends."""

    index: int
    kind: StepKind
    vm: str
    line: int
    win: Window
    running: bool  # the guest was running when the step began
    to: str | None = None
    snapshot: str | None = None
    paused_dst: bool = False  # a running guest's migration into a destination started paused
    instants: dict[InstantName, Instant] = field(default_factory=dict)

    def label(self) -> str:
        if self.kind in (StepKind.MIGRATE, StepKind.MIGRATE_FAIL):
            return f"{self.kind} {self.vm}->{self.to}" + (" (paused)" if self.paused_dst else "")
        if self.snapshot:
            return f"{self.kind} {self.snapshot}"
        return str(self.kind)


@dataclass
class RecordedScenario:
    """One scenario of a trace as the model's steps and the reads between them (not to be
    confused with ``qemu.scenarios.Scenario``, the recipe ``tbcheck record`` plays)."""

    name: str
    line: int
    ok: bool
    error: str | None
    begin_mono: int
    vms: list[str] = field(default_factory=list)  # in start order: host index = position
    steps: list[Step] = field(default_factory=list)
    reads: list[Reading] = field(default_factory=list)
    order: list[tuple[str, int]] = field(default_factory=list)  # ("step"|"read", index)
    problem: str | None = None  # why the scenario cannot be mapped onto the model's events
    outside: str | None = None  # a case the model does not cover: judged up to it, no error
    #: vCPU -> (ticks, err): how far its TB stood from vCPU 0's at the first reads, within err
    #: (validate/written.py): what the guest or its firmware wrote
    written: dict[int, tuple[int, int]] = field(default_factory=dict)
    while_writing: int = 0  # reads left out: taken before the guest's last write (written.py)

    def rel_ms(self, t: int) -> float:
        """``t`` as milliseconds since the scenario began."""
        return (t - self.begin_mono) / 1e6


@dataclass
class TraceInfo:
    path: str
    f_g: int
    vcpus: int
    qemu: str
    machine: str
    scenarios: list[RecordedScenario]
    #: how far the true TB frequency may lie from ``f_g`` (Hz): the header's measurement error,
    #: 0 when the frequency is known or given with --tb-freq
    f_err: int = 0

    def drift(self, ns: int) -> int:
        """Ticks an error of ``f_err`` in the frequency is worth over ``ns`` (rounded up)."""
        return -(-abs(ns) * self.f_err // 10**9)
