"""Rebuild docs/properties.md's events from a recorded trace (docs/trace-format.md, "Rebuilding the
events of a scenario").

A real action is known only within a time window: the QMP command's round trip, narrowed where
QEMU's own STOP/RESUME events say more (QEMU stops the virtual clock before it emits STOP and
starts it just after it emits RESUME). Every time here is CLOCK_MONOTONIC in ns, the clock QEMU's
TCG virtual clock follows; the realtime clock may be slewed by NTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tbcheck.errors import UsageError

#: QEMU's event timestamps are whole microseconds of CLOCK_REALTIME; converting them to the
#: monotonic clock (with the offset of the moment the recorder received them) and the few
#: microseconds QEMU spends between timestamp and clock action are allowed this much.
QMP_SLOP_NS = 200_000


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


@dataclass
class Step:
    """One model event rebuilt from the marks. ``instants`` in the order they happened: the first
    is when the model event begins, the last when it ends (``stop``/``resume`` where the guest
    stops and runs again; ``start``/``end`` where it stays paused throughout)."""

    index: int
    kind: str
    vm: str
    line: int
    win: Window
    running: bool  # the guest was running when the step began
    to: str | None = None
    snapshot: str | None = None
    instants: dict[str, Instant] = field(default_factory=dict)

    def label(self) -> str:
        if self.kind in ("migrate", "migrate-fail"):
            return f"{self.kind} {self.vm}->{self.to}"
        if self.snapshot:
            return f"{self.kind} {self.snapshot}"
        return self.kind


@dataclass
class Scenario:
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

    def rel_ms(self, t: int) -> float:
        """``t`` as milliseconds since the scenario began."""
        return (t - self.begin_mono) / 1e6


@dataclass(frozen=True)
class _Event:
    vm: str
    name: str
    status: str | None
    ts: int | None  # QEMU's timestamp, converted to monotonic ns
    recv: int

    @property
    def t(self) -> int:
        return self.ts if self.ts is not None else self.recv


@dataclass
class TraceInfo:
    path: str
    f_g: int
    vcpus: int
    qemu: str
    machine: str
    scenarios: list[Scenario]


def _window(r: dict[str, Any]) -> Window:
    return Window(r["mono_before_ns"], r["mono_after_ns"])


def _event(r: dict[str, Any]) -> _Event:
    ts = None
    if r.get("qemu_rt_us") is not None:
        ts = r["qemu_rt_us"] * 1000 - (r["recv_rt_ns"] - r["recv_mono_ns"])
    data = r.get("data")
    status = data.get("status") if isinstance(data, dict) else None
    return _Event(r["vm"], r["event"], status, ts, r["recv_mono_ns"])


class _Builder:
    """Walks one scenario's records in line order, keeping where the guest lives and runs."""

    def __init__(self, sc: Scenario, records: list[tuple[int, dict[str, Any]]]) -> None:
        self.sc = sc
        self.events = sorted((_event(r) for _, r in records if r["kind"] == "event"),
                             key=lambda e: e.t)
        self.records = [(n, r) for n, r in records if r["kind"] in ("read", "mark")]
        self.home: str | None = None
        self.running = False
        self.branch = 0
        self.mig: Step | None = None  # migration in progress
        self.mig_marks: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, int] = {}  # VM -> migration step that left it
        self.snapshots: set[str] = set()

    # ------------------------------------------------------------------ helpers
    def find(self, vm: str, name: str, lo: int, hi: int, status: str | None = None
             ) -> _Event | None:
        for e in self.events:
            if (e.vm == vm and e.name == name and (status is None or e.status == status)
                    and lo - QMP_SLOP_NS <= e.t <= hi + QMP_SLOP_NS):
                return e
        return None

    @staticmethod
    def stopped(lo: int, hi: int, ev: _Event | None) -> Instant:
        """The clock stopped inside ``[lo, hi]``, and before QEMU emitted STOP (``do_vm_stop``
        stops the clock, pauses the vCPUs, then emits; that can take milliseconds)."""
        est = hi
        if ev is not None:
            end = ev.ts + QMP_SLOP_NS if ev.ts is not None else ev.recv
            hi = max(lo, min(hi, end))
            est = ev.t
        w = Window(lo, hi)
        return Instant(w, w.clamp(est))

    @staticmethod
    def resumed(lo: int, hi: int, ev: _Event | None) -> Instant:
        """The clock started inside ``[lo, hi]``, and after QEMU emitted RESUME
        (``vm_prepare_start`` emits, then starts the clock: usually microseconds later, but a
        busy host may preempt QEMU in between, so only the caller's ``hi`` bounds it)."""
        est = (lo + hi) // 2
        if ev is not None:
            if ev.ts is not None:
                lo = min(hi, max(lo, ev.ts - QMP_SLOP_NS))
            est = ev.t
        w = Window(lo, hi)
        return Instant(w, w.clamp(est))

    @staticmethod
    def fixed(t: int) -> Instant:
        return Instant(Window(t, t), t, fit=False)

    def add_step(self, kind: str, line: int, m: dict[str, Any], **kw: Any) -> Step:
        st = Step(len(self.sc.steps), kind, m.get("vm") or "", line, _window(m), self.running,
                  **kw)
        self.sc.steps.append(st)
        self.sc.order.append(("step", st.index))
        return st

    def fail(self, msg: str) -> None:
        if self.sc.problem is None:
            self.sc.problem = msg

    # ------------------------------------------------------------------ walk
    def build(self) -> None:
        for line, r in self.records:
            if self.sc.problem:
                return
            if r["kind"] == "read":
                self.read(line, r)
            else:
                getattr(self, "mark_" + r["label"].replace("-", "_"), self.mark_other)(line, r)
        if self.mig is not None:
            self.fail(f"line {self.mig.line}: migration never completed or failed")
        if self.home is None:
            self.fail("no VM was started")

    def read(self, line: int, r: dict[str, Any]) -> None:
        vm = r["vm"]
        guest = (r["runstate"] == "running" and vm == self.home and self.mig is None
                 and self.running)
        src = self.mig.index if self.mig is not None and vm == self.mig.vm else (
            self.sources.get(vm) if vm != self.home else None)
        self.sc.reads.append(Reading(line, vm, r["vcpu"], r["tb"], r["runstate"], r["point"],
                                     _window(r), guest, self.branch,
                                     len(self.sc.steps) - 1, src))
        self.sc.order.append(("read", len(self.sc.reads) - 1))

    def mark_other(self, line: int, m: dict[str, Any]) -> None:
        """wait, vm-quit and labels of later format versions: time passing, nothing else."""

    def mark_vm_start(self, line: int, m: dict[str, Any]) -> None:
        self.sc.vms.append(m["vm"])
        if self.home is None:
            if m.get("incoming"):
                self.fail(f"line {line}: the first VM starts as a migration destination")
                return
            self.home, self.running = m["vm"], True
            w = _window(m)
            self.add_step("boot", line, m).instants["boot"] = Instant(w, w.hi)

    def need_home(self, line: int, m: dict[str, Any], label: str) -> bool:
        if m.get("vm") != self.home or self.mig is not None:
            self.fail(f"line {line}: {label} on {m.get('vm')!r}, but the guest lives on "
                      f"{self.home!r}" + (" (migration in progress)" if self.mig else ""))
            return False
        return True

    def mark_stop(self, line: int, m: dict[str, Any]) -> None:
        if not self.need_home(line, m, "stop"):
            return
        if not self.running:
            self.fail(f"line {line}: stop while the guest is already paused")
            return
        w = _window(m)
        st = self.add_step("stop", line, m)
        st.instants["stop"] = self.stopped(w.lo, w.hi, self.find(m["vm"], "STOP", w.lo, w.hi))
        self.running = False

    def mark_cont(self, line: int, m: dict[str, Any]) -> None:
        if not self.need_home(line, m, "cont"):
            return
        if self.running:
            self.fail(f"line {line}: cont while the guest is running")
            return
        w = _window(m)
        st = self.add_step("cont", line, m)
        st.instants["resume"] = self.resumed(w.lo, w.hi,
                                             self.find(m["vm"], "RESUME", w.lo, w.hi))
        self.running = True

    def mark_migrate_start(self, line: int, m: dict[str, Any]) -> None:
        src = m.get("from") or m.get("vm")
        if not self.need_home(line, {**m, "vm": src}, "migrate-start"):
            return
        self.mig = self.add_step("migrate", line, {**m, "vm": src}, to=m["to"])
        self.mig_marks = {"migrate-start": m}

    def _mig_mark(self, line: int, m: dict[str, Any]) -> None:
        if self.mig is None:
            self.fail(f"line {line}: {m['label']} outside a migration")
            return
        self.mig_marks[m["label"]] = m

    mark_migrate_held = mark_migrate_continue = mark_migrate_saved = _mig_mark
    mark_migrate_load_start = mark_migrate_cancel = _mig_mark

    def mark_migrate_done(self, line: int, m: dict[str, Any]) -> None:
        self._mig_mark(line, m)
        st = self.mig
        if st is None:
            return
        if st.to not in self.sc.vms:  # a file migration starts its destination late
            self.fail(f"line {line}: migration to {st.to!r}, a VM that was never started")
            return
        start, done = _window(self.mig_marks["migrate-start"]), _window(m)
        st.win = Window(start.lo, done.hi)
        src, dst = st.vm, st.to or ""
        if st.running:
            stop_by = _window(self.mig_marks.get("migrate-held", m)).hi
            stop_ev = self.find(src, "STOP", start.lo, stop_by)
            stop = self.stopped(start.lo, stop_by, stop_ev)
            res_ev = self.find(dst, "RESUME", stop.est, done.hi)
            # the destination reports "completed" only after it started the guest
            loaded = self.find(dst, "MIGRATION", stop.est, done.hi, "completed")
            end = min(done.hi, loaded.t + QMP_SLOP_NS) if loaded else done.hi
            resume = self.resumed(stop.win.lo, end, res_ev)
            saved = self.find(src, "MIGRATION", stop.est, done.hi, "completed")
            pre = saved.t if saved else (stop.est + resume.est) // 2
            post = res_ev.t if res_ev else pre
            st.instants = {"stop": stop, "pre_save": self.fixed(pre),
                           "post_load": self.fixed(post), "resume": resume}
        else:
            saved = self.find(src, "MIGRATION", start.lo, done.hi, "completed")
            loaded = self.find(dst, "MIGRATION", start.lo, done.hi, "completed")
            pre = saved.t if saved else start.mid
            post = loaded.t if loaded else done.hi
            st.instants = {"start": self.fixed(start.mid), "pre_save": self.fixed(pre),
                           "post_load": self.fixed(max(pre, post)),
                           "end": self.fixed(max(pre, post, done.hi))}
        self.sources[src] = st.index
        self.home, self.mig = dst, None

    def mark_migrate_failed(self, line: int, m: dict[str, Any]) -> None:
        self._mig_mark(line, m)
        st = self.mig
        if st is None:
            return
        start, failed = _window(self.mig_marks["migrate-start"]), _window(m)
        st.kind, st.win = "migrate-fail", Window(start.lo, failed.hi)
        self.mig = None
        if st.running:
            cancel = self.mig_marks.get("migrate-cancel")
            stop_by = _window(self.mig_marks.get("migrate-held", cancel or m)).hi
            stop_ev = self.find(st.vm, "STOP", start.lo, stop_by)
            if stop_ev is None:  # cancelled before the source stopped: the guest saw nothing
                self.sc.steps.pop()
                self.sc.order.remove(("step", st.index))
                return
            stop = self.stopped(start.lo, stop_by, stop_ev)
            lo = _window(cancel).lo if cancel else stop.est
            resume = self.resumed(lo, failed.hi, self.find(st.vm, "RESUME", lo, failed.hi))
            # a held migration is cancelled before the device state is saved: pre_save, which
            # the model always calls, is put at the stop so that it reads no later clock
            st.instants = {"stop": stop, "pre_save": self.fixed(stop.est), "resume": resume}
        else:
            st.instants = {"start": self.fixed(start.mid), "pre_save": self.fixed(start.mid),
                           "end": self.fixed(failed.hi)}

    def _snapshot(self, line: int, m: dict[str, Any], kind: str) -> Step | None:
        if not self.need_home(line, m, kind):
            return None
        w = _window(m)
        st = self.add_step(kind, line, m, snapshot=str(m.get("snapshot")))
        if self.running:
            stop_ev = self.find(m["vm"], "STOP", w.lo, w.hi)
            stop = self.stopped(w.lo, w.hi, stop_ev)
            resume = self.resumed(stop.est, w.hi, self.find(m["vm"], "RESUME", stop.est, w.hi))
            st.instants = {"stop": stop, "resume": resume}
        else:
            st.instants = {"start": self.fixed(w.lo), "end": self.fixed(w.hi)}
        return st

    def mark_savevm(self, line: int, m: dict[str, Any]) -> None:
        st = self._snapshot(line, m, "savevm")
        if st is not None:
            self.snapshots.add(st.snapshot or "")

    def mark_loadvm(self, line: int, m: dict[str, Any]) -> None:
        if str(m.get("snapshot")) not in self.snapshots:
            self.fail(f"line {line}: loadvm of snapshot {m.get('snapshot')!r}, which this "
                      "scenario never saved")
            return
        if self._snapshot(line, m, "loadvm") is not None:
            self.branch += 1


def scenarios(records: list[dict[str, Any]]) -> list[Scenario]:
    """Split a checked trace (``tbcheck.trace.read_trace``) into scenarios, each rebuilt."""
    out: list[Scenario] = []
    cur: Scenario | None = None
    body: list[tuple[int, dict[str, Any]]] = []
    for line, r in enumerate(records, start=1):  # read_trace: one record a line
        if r["kind"] == "scenario" and r["edge"] == "begin":
            cur, body = Scenario(r["name"], line, True, None, r["mono_ns"]), []
        elif r["kind"] == "scenario":
            assert cur is not None
            cur.ok, cur.error = r["ok"], r.get("error")
            if cur.ok:
                _Builder(cur, body).build()
            out.append(cur)
            cur = None
        elif cur is not None:
            body.append((line, r))
    return out


def load(path: str, records: list[dict[str, Any]], tb_freq: int | None = None) -> TraceInfo:
    """The trace's scenarios and the constants the checks need (the nominal TB frequency)."""
    head = records[0]
    f_g = tb_freq or head.get("tb_freq_hz")
    if not f_g:
        raise UsageError(f"{path}: the trace does not know the guest's nominal TB frequency "
                         "(header tb_freq_hz is null); give it with --tb-freq HZ")
    qemu = head.get("qemu") or {}
    machine = head.get("machine") or " ".join(head.get("machine_args") or [])
    return TraceInfo(path, int(f_g), int(head["vcpus"]), str(qemu.get("version", "?")),
                     str(machine), scenarios(records))
