"""Rebuild docs/properties.md's events from a recorded trace (docs/trace-format.md, "Rebuilding
the model's events of a scenario") as the validator's records (``validate.records``).

A real action is known only within a time window: the QMP command's round trip, narrowed where
QEMU's own STOP/RESUME events say more (QEMU stops the virtual clock before it emits STOP and
starts it just after it emits RESUME). Every time here is CLOCK_MONOTONIC in ns; the realtime
clock may be slewed by NTP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tbcheck.errors import UsageError
from tbcheck.validate.records import Instant, Reading, RecordedScenario, Step, TraceInfo, Window
from tbcheck.validate.records import InstantName as At
from tbcheck.validate.records import StepKind as Kind
from tbcheck.validate.written import drop_reads, while_writing, written_at_boot

#: QEMU's event timestamps are whole microseconds of CLOCK_REALTIME; converting them to the
#: monotonic clock (with the offset of the moment the recorder received them) and the few
#: microseconds QEMU spends between timestamp and clock action are allowed this much.
QMP_SLOP_NS = 200_000


@dataclass(frozen=True)
class _QmpEvent:
    """A QMP event a VM emitted (STOP, RESUME, MIGRATION ...), on the monotonic clock."""

    vm: str
    name: str
    status: str | None
    ts: int | None  # QEMU's timestamp, converted to monotonic ns
    recv: int

    @property
    def t(self) -> int:
        return self.ts if self.ts is not None else self.recv


def _window(r: dict[str, Any]) -> Window:
    return Window(r["mono_before_ns"], r["mono_after_ns"])


def _qmp_event(r: dict[str, Any]) -> _QmpEvent:
    ts = None
    if r.get("qemu_rt_us") is not None:
        ts = r["qemu_rt_us"] * 1000 - (r["recv_rt_ns"] - r["recv_mono_ns"])
    data = r.get("data")
    status = data.get("status") if isinstance(data, dict) else None
    return _QmpEvent(r["vm"], r["event"], status, ts, r["recv_mono_ns"])


def _fixed(t: int) -> Instant:
    return Instant(Window(t, t), t, fit=False)


Mark = dict[str, Any]


class Rebuilder:
    """Walks one scenario's records in line order, keeping where the guest lives and runs; each
    mark is handled by the method ``MARK_HANDLERS`` names for its label."""

    def __init__(self, sc: RecordedScenario, records: list[tuple[int, dict[str, Any]]]) -> None:
        self.sc = sc
        self.events = sorted((_qmp_event(r) for _, r in records if r["kind"] == "event"),
                             key=lambda e: e.t)
        self.records = [(n, r) for n, r in records if r["kind"] in ("read", "mark")]
        self.home: str | None = None
        self.running = False
        self.branch = 0
        self.mig: Step | None = None  # migration in progress
        self.mig_marks: dict[str, Mark] = {}
        self.sources: dict[str, int] = {}  # VM -> migration step that left it
        self.snapshots: set[str] = set()

    # ------------------------------------------------------------------ where the clock stops
    def find(self, vm: str, name: str, lo: int, hi: int, status: str | None = None
             ) -> _QmpEvent | None:
        for e in self.events:
            if (e.vm == vm and e.name == name and (status is None or e.status == status)
                    and lo - QMP_SLOP_NS <= e.t <= hi + QMP_SLOP_NS):
                return e
        return None

    def stop_in(self, vm: str, lo: int, hi: int) -> tuple[Instant, _QmpEvent | None]:
        """``vm``'s clock stopped inside ``[lo, hi]``, and before QEMU emitted STOP
        (``do_vm_stop`` stops the clock, pauses the vCPUs, then emits; that can take
        milliseconds); the STOP event, if ``vm`` emitted one then."""
        ev = self.find(vm, "STOP", lo, hi)
        est = hi
        if ev is not None:
            end = ev.ts + QMP_SLOP_NS if ev.ts is not None else ev.recv
            hi = max(lo, min(hi, end))
            est = ev.t
        w = Window(lo, hi)
        return Instant(w, w.clamp(est)), ev

    def resume_in(self, vm: str, lo: int, hi: int, within: Window | None = None
                  ) -> tuple[Instant, _QmpEvent | None]:
        """``vm``'s clock started inside ``within`` (default ``[lo, hi]``, where its RESUME
        event is looked for), and after QEMU emitted RESUME (``vm_prepare_start`` emits, then
        starts the clock: usually microseconds later, but a busy host may preempt QEMU in
        between, so only the window's end bounds it); the RESUME event, if one was found."""
        ev = self.find(vm, "RESUME", lo, hi)
        lo, hi = (within.lo, within.hi) if within is not None else (lo, hi)
        est = (lo + hi) // 2
        if ev is not None:
            if ev.ts is not None:
                lo = min(hi, max(lo, ev.ts - QMP_SLOP_NS))
            est = ev.t
        w = Window(lo, hi)
        return Instant(w, w.clamp(est)), ev

    def add_step(self, kind: Kind, line: int, m: Mark, **kw: Any) -> Step:
        st = Step(len(self.sc.steps), kind, m.get("vm") or "", line, _window(m), self.running,
                  **kw)
        self.sc.steps.append(st)
        self.sc.order.append(("step", st.index))
        return st

    def fail(self, msg: str) -> None:
        if self.sc.problem is None:
            self.sc.problem = msg

    def beyond_model(self, msg: str, since: Step) -> None:
        """What QEMU did from ``since`` on is real but the model has no event for it: say so,
        and judge the scenario up to that step only (the later reads would be compared
        against a run state the model cannot have)."""
        self.sc.outside = msg
        self.sc.steps = self.sc.steps[:since.index]
        self.sc.reads = [r for r in self.sc.reads if r.line < since.line]
        self.sc.order = [(k, i) for k, i in self.sc.order
                         if i < (since.index if k == "step" else len(self.sc.reads))]
        self.mig = None

    # ------------------------------------------------------------------ walk
    def build(self) -> None:
        for line, r in self.records:
            if self.sc.problem or self.sc.outside:
                return
            if r["kind"] == "read":
                self.read(line, r)
            else:  # a label a later format version adds: time passing, nothing else
                MARK_HANDLERS.get(r["label"], Rebuilder.time_passes)(self, line, r)
        if self.mig is not None:
            self.fail(f"line {self.mig.line}: migration never completed or failed")
        if self.home is None:
            self.fail("no VM was started")

    def read(self, line: int, r: dict[str, Any]) -> None:
        vm = r["vm"]
        said = r["runstate"]
        if vm == self.home and self.mig is None and said in ("running", "paused") and \
                (said == "running") != self.running:
            self.fail(f"line {line}: the trace reads the guest as {said} on {vm}, where the "
                      f"model has it {'running' if self.running else 'paused'}")
            return
        guest = (said == "running" and vm == self.home and self.mig is None
                 and self.running)
        src = self.mig.index if self.mig is not None and vm == self.mig.vm else (
            self.sources.get(vm) if vm != self.home else None)
        self.sc.reads.append(Reading(line, vm, r["vcpu"], r["tb"], r["runstate"], r["point"],
                                     _window(r), guest, self.branch,
                                     len(self.sc.steps) - 1, src))
        self.sc.order.append(("read", len(self.sc.reads) - 1))

    # ------------------------------------------------------------------ the marks
    def time_passes(self, line: int, m: Mark) -> None:
        """wait, vm-quit: time passing, nothing else."""

    def vm_start(self, line: int, m: Mark) -> None:
        self.sc.vms.append(m["vm"])
        if self.home is None:
            if m.get("incoming"):
                self.fail(f"line {line}: the first VM starts as a migration destination")
                return
            self.home, self.running = m["vm"], True
            w = _window(m)
            self.add_step(Kind.BOOT, line, m).instants[At.BOOT] = Instant(w, w.hi)

    def need_home(self, line: int, m: Mark, label: str) -> bool:
        if m.get("vm") != self.home or self.mig is not None:
            self.fail(f"line {line}: {label} on {m.get('vm')!r}, but the guest lives on "
                      f"{self.home!r}" + (" (migration in progress)" if self.mig else ""))
            return False
        return True

    def stop(self, line: int, m: Mark) -> None:
        self.explicit(line, m, Kind.STOP)

    def cont(self, line: int, m: Mark) -> None:
        self.explicit(line, m, Kind.CONT)

    def explicit(self, line: int, m: Mark, kind: Kind) -> None:
        """An explicit stop of the running guest, or cont of the paused one, on its home VM."""
        stopping = kind is Kind.STOP
        if not self.need_home(line, m, kind):
            return
        if self.running != stopping:
            self.fail(f"line {line}: {kind} while the guest is "
                      + ("already paused" if stopping else "running"))
            return
        w = _window(m)
        st = self.add_step(kind, line, m)
        if stopping:
            st.instants[At.STOP], _ = self.stop_in(m["vm"], w.lo, w.hi)
        else:
            st.instants[At.RESUME], _ = self.resume_in(m["vm"], w.lo, w.hi)
        self.running = not stopping

    def migrate_start(self, line: int, m: Mark) -> None:
        src = m.get("from") or m.get("vm")
        if not self.need_home(line, {**m, "vm": src}, "migrate-start"):
            return
        self.mig = self.add_step(Kind.MIGRATE, line, {**m, "vm": src}, to=m["to"])
        self.mig_marks = {"migrate-start": m}

    def migration_mark(self, line: int, m: Mark) -> None:
        """A mark inside a migration, kept for its completion or failure to read."""
        if self.mig is None:
            self.fail(f"line {line}: {m['label']} outside a migration")
            return
        self.mig_marks[m["label"]] = m

    def migrate_done(self, line: int, m: Mark) -> None:
        self.migration_mark(line, m)
        st = self.mig
        if st is None:
            return
        if st.to not in self.sc.vms:  # a file migration starts its destination late
            self.fail(f"line {line}: migration to {st.to!r}, a VM that was never started")
            return
        start, done = _window(self.mig_marks["migrate-start"]), _window(m)
        st.win = Window(start.lo, done.hi)
        src, dst = st.vm, st.to or ""
        arrived = m.get("dest_state")  # the destination's run state once the migration ended
        if st.running and arrived is not None and arrived != "running":
            if arrived != "paused":
                self.fail(f"line {line}: a running guest's migration left the destination "
                          f"{arrived!r}; the model has it running, or paused (started with -S)")
                return
            st.paused_dst = True  # -S: the model's migrate(H, paused)
        if not st.running and arrived == "running":
            self.fail(f"line {line}: a paused guest's migration left the destination running; "
                      "the model keeps it paused until cont")
            return
        if st.running and st.paused_dst:  # the destination loads and stays paused
            stop_by = _window(self.mig_marks.get("migrate-held", m)).hi
            stop, _ = self.stop_in(src, start.lo, stop_by)
            saved = self.find(src, "MIGRATION", stop.est, done.hi, "completed")
            loaded = self.find(dst, "MIGRATION", stop.est, done.hi, "completed")
            pre = max(stop.est, saved.t if saved else stop.est)
            post = max(pre, loaded.t if loaded else done.hi)
            st.instants = {At.STOP: stop, At.PRE_SAVE: _fixed(pre), At.POST_LOAD: _fixed(post),
                           At.END: _fixed(post)}
            self.running = False
        elif st.running:
            stop_by = _window(self.mig_marks.get("migrate-held", m)).hi
            stop, _ = self.stop_in(src, start.lo, stop_by)
            # the destination reports "completed" only after it started the guest
            loaded = self.find(dst, "MIGRATION", stop.est, done.hi, "completed")
            end = min(done.hi, loaded.t + QMP_SLOP_NS) if loaded else done.hi
            resume, res_ev = self.resume_in(dst, stop.est, done.hi, Window(stop.win.lo, end))
            saved = self.find(src, "MIGRATION", stop.est, done.hi, "completed")
            pre = saved.t if saved else (stop.est + resume.est) // 2
            post = res_ev.t if res_ev else pre
            st.instants = {At.STOP: stop, At.PRE_SAVE: _fixed(pre), At.POST_LOAD: _fixed(post),
                           At.RESUME: resume}
        else:
            saved = self.find(src, "MIGRATION", start.lo, done.hi, "completed")
            loaded = self.find(dst, "MIGRATION", start.lo, done.hi, "completed")
            pre = saved.t if saved else start.mid
            post = loaded.t if loaded else done.hi
            st.instants = {At.START: _fixed(start.mid), At.PRE_SAVE: _fixed(pre),
                           At.POST_LOAD: _fixed(max(pre, post)),
                           At.END: _fixed(max(pre, post, done.hi))}
        self.sources[src] = st.index
        self.home, self.mig = dst, None

    def migrate_failed(self, line: int, m: Mark) -> None:
        self.migration_mark(line, m)
        st = self.mig
        if st is None:
            return
        start, failed = _window(self.mig_marks["migrate-start"]), _window(m)
        st.kind, st.win = Kind.MIGRATE_FAIL, Window(start.lo, failed.hi)
        self.mig = None
        if st.running:
            cancel = self.mig_marks.get("migrate-cancel")
            stop_by = _window(self.mig_marks.get("migrate-held", cancel or m)).hi
            stop, stop_ev = self.stop_in(st.vm, start.lo, stop_by)
            if stop_ev is None:  # cancelled before the source stopped: the guest saw nothing
                self.sc.steps.pop()
                self.sc.order.remove(("step", st.index))
                return
            lo = _window(cancel).lo if cancel else stop.est
            resume, _ = self.resume_in(st.vm, lo, failed.hi)
            # a held migration is cancelled before the device state is saved: pre_save, which
            # the model always calls, is put at the stop so that it reads no later clock
            st.instants = {At.STOP: stop, At.PRE_SAVE: _fixed(stop.est), At.RESUME: resume}
        else:
            st.instants = {At.START: _fixed(start.mid), At.PRE_SAVE: _fixed(start.mid),
                           At.END: _fixed(failed.hi)}

    def _snapshot(self, line: int, m: Mark, kind: Kind) -> Step | None:
        if not self.need_home(line, m, kind):
            return None
        w = _window(m)
        st = self.add_step(kind, line, m, snapshot=str(m.get("snapshot")))
        if self.running:
            stop, _ = self.stop_in(m["vm"], w.lo, w.hi)
            st.instants = {At.STOP: stop, At.RESUME: self.resume_in(m["vm"], stop.est, w.hi)[0]}
        else:
            st.instants = {At.START: _fixed(w.lo), At.END: _fixed(w.hi)}
        return st

    def savevm(self, line: int, m: Mark) -> None:
        st = self._snapshot(line, m, Kind.SAVEVM)
        if st is not None:
            self.snapshots.add(st.snapshot or "")

    def loadvm(self, line: int, m: Mark) -> None:
        if str(m.get("snapshot")) not in self.snapshots:
            self.fail(f"line {line}: loadvm of snapshot {m.get('snapshot')!r}, which this "
                      "scenario never saved")
            return
        if self._snapshot(line, m, Kind.LOADVM) is not None:
            self.branch += 1


#: Each mark label of the trace format (``tbcheck.trace.MARK_LABELS``) and its handler.
MARK_HANDLERS: dict[str, Callable[[Rebuilder, int, Mark], None]] = {
    "vm-start": Rebuilder.vm_start,
    "vm-quit": Rebuilder.time_passes,
    "wait": Rebuilder.time_passes,
    "stop": Rebuilder.stop,
    "cont": Rebuilder.cont,
    "migrate-start": Rebuilder.migrate_start,
    "migrate-held": Rebuilder.migration_mark,
    "migrate-continue": Rebuilder.migration_mark,
    "migrate-saved": Rebuilder.migration_mark,
    "migrate-load-start": Rebuilder.migration_mark,
    "migrate-cancel": Rebuilder.migration_mark,
    "migrate-done": Rebuilder.migrate_done,
    "migrate-failed": Rebuilder.migrate_failed,
    "savevm": Rebuilder.savevm,
    "loadvm": Rebuilder.loadvm,
}


def scenarios(records: list[dict[str, Any]]) -> list[RecordedScenario]:
    """Split a checked trace (``tbcheck.trace.read_trace``) into scenarios, each rebuilt."""
    out: list[RecordedScenario] = []
    cur: RecordedScenario | None = None
    body: list[tuple[int, dict[str, Any]]] = []
    for line, r in enumerate(records, start=1):  # read_trace: one record a line
        if r["kind"] == "scenario" and r["edge"] == "begin":
            cur, body = RecordedScenario(r["name"], line, True, None, r["mono_ns"]), []
        elif r["kind"] == "scenario":
            assert cur is not None
            cur.ok, cur.error = r["ok"], r.get("error")
            if cur.ok:
                Rebuilder(cur, body).build()
            out.append(cur)
            cur = None
        elif cur is not None:
            body.append((line, r))
    return out


def load(path: str, records: list[dict[str, Any]], tb_freq: int | None = None) -> TraceInfo:
    """The trace's scenarios and the constants the checks need: the nominal TB frequency and,
    for a measured one, its error (none when ``tb_freq`` is given: the user knows it)."""
    head = records[0]
    f_g = tb_freq or head.get("tb_freq_hz")
    if not f_g:
        raise UsageError(f"{path}: the trace does not know the guest's nominal TB frequency "
                         "(header tb_freq_hz is null); give it with --tb-freq HZ")
    f_err = 0 if tb_freq else int(head.get("tb_freq_error_hz") or 0)
    qemu = head.get("qemu") or {}
    machine = head.get("machine") or " ".join(head.get("machine_args") or [])
    info = TraceInfo(path, int(f_g), int(head["vcpus"]), str(qemu.get("version", "?")),
                     str(machine), scenarios(records), f_err)
    for sc in info.scenarios:
        if sc.ok and not sc.problem:
            drop = while_writing(sc, info)
            drop_reads(sc, drop)
            sc.while_writing = len(drop)
            sc.written = written_at_boot(sc, info)
    return info
