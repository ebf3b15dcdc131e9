"""The world of docs/properties.md and what each event does in it: one definition for both engines.

``World.step`` applies one event to a ``Path`` (a world state with the condition under which it
is reached) and returns the paths that follow: one, or two where a rule refuses a migration
under a condition only the solver knows. Every rule hook runs here, between the QEMU steps the
real code has (``vm_stop`` sets the run state and then notifies; migration of a paused guest
notifies nobody; the destination starts by itself only when the source was running and the
destination was not started paused).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tbcheck.model.api import (
    FINISH_MIGRATE,
    INMIGRATE,
    PAUSED,
    RESTORE_VM,
    RUNNING,
    SAVE_VM,
    VM,
    Cpu,
    Host,
    Record,
    Refusal,
    RuleSet,
    ScalingUndeclared,
    counter_ticks,
)
from tbcheck.model.domain import U64, Bool, Int, Num, SymbolicBranch, collect_obligations
from tbcheck.model.events import (
    Cont,
    Event,
    LoadVM,
    Migrate,
    MigrateFail,
    Read,
    Run,
    SaveVM,
    Stop,
    Write,
)
from tbcheck.model.observer import Emit, GhostView, Observer, ScaledRun
from tbcheck.model.structure import clone


@dataclass
class HostParams:
    """One host's constants: counter frequency (Hz), counter at t=0, realtime skew (ns: the
    realtime clock reads ``t + skew``), monotonic clock offset; whether its hardware scales a
    guest's counter, and its ratio's fraction bits."""

    freq: Num
    counter0: Num
    skew: Num
    mono0: Num
    scaling: Bool = field(default_factory=lambda: Bool(False))
    frac_bits: int = 48


@dataclass
class Params:
    hosts: list[HostParams]
    tb0: Num  # the guest's TB at boot
    ncpus: int = 2

    @property
    def f_g(self) -> Num:
        """The guest's nominal TB frequency: the boot host's (host 0), learnt once at boot."""
        return self.hosts[0].freq


@dataclass
class Proc:
    """One QEMU process holding the VM: its host, the rule set's state, the vCPUs, run state."""

    host: int
    rules: RuleSet
    cpus: list[Cpu]
    state: str
    autostart: bool = True  # False: a destination started paused (-S)


@dataclass
class Snap:
    record: Record
    ref: list[Num]  # the TB the snapshot stands for (what the guest resumes at)
    guest_ns: Num
    rounded: bool = False  # ref is a probe's resume value (a paused destination's load)
    shift: list[Num] | None = None  # what the guest had written to each vCPU's TB by then


@dataclass
class WorldState:
    t: Num
    vm: Proc
    ghost: GhostView
    snapshots: dict[str, Snap] = field(default_factory=dict)


@dataclass
class Observation:
    """One read of one vCPU's TB; ``guest_ns`` is the ideal guest time, for display."""

    step: int
    event: str
    t: Num
    host: int
    state: str
    cpu: int
    tb: Num
    guest_ns: Num
    shift: Num = field(default_factory=lambda: Int(0))  # what the guest wrote to it, for display


@dataclass
class Path:
    ws: WorldState
    cond: Bool
    checks: list[tuple[int, Any]] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    step: int = 0
    note: str = ""

    def fork(self, c: Bool) -> Path:
        """Split off the path where ``c`` holds; this one keeps ``not c``."""
        other = Path(clone(self.ws), self.cond & c, list(self.checks), list(self.observations),
                     self.step, self.note)
        self.cond = self.cond & ~c
        return other


class RuleError(Exception):
    """A rule set misbehaved at run time (wrong return type, symbolic branch ...)."""


class World:
    def __init__(self, rules_cls: type[RuleSet], params: Params, monitor: Observer,
                 record_observations: bool = True) -> None:
        self.rules_cls, self.params, self.monitor = rules_cls, params, monitor
        self.record_observations = record_observations

    # ------------------------------------------------------------------ plumbing
    def _vm(self, path: Path, proc: Proc) -> VM:
        hp = self.params.hosts[proc.host]
        host = Host(proc.host, hp.freq, hp.counter0, hp.skew, hp.mono0, lambda: path.ws.t,
                    hp.scaling, hp.frac_bits, self.rules_cls.scales)
        return VM(host, proc.cpus, proc.state, proc.autostart)

    def _hook(self, path: Path, proc: Proc, name: str, *args: Any) -> Any:
        vm = self._vm(path, proc)
        with collect_obligations() as obs:
            try:
                result = getattr(proc.rules, name)(vm, *args)
            except (SymbolicBranch, ScalingUndeclared) as exc:
                raise RuleError(f"{name}: {exc}") from None
        self.monitor.on_obligations(obs, name, self._emit(path))
        if name == "pre_save" and not isinstance(result, Record):
            raise RuleError(f"pre_save returned {type(result).__name__}, expected a Record")
        if name == "post_load" and result is not None and not isinstance(result, Refusal):
            raise RuleError(f"post_load returned {type(result).__name__}, expected None or "
                            "refuse(...)")
        if name not in ("pre_save", "post_load") and result is not None:
            raise RuleError(f"{name} returned {type(result).__name__}, expected None")
        return result

    def _emit(self, path: Path) -> Emit:
        return lambda c: path.checks.append((path.step, c))

    def _read(self, path: Path, event: str) -> list[Num]:
        """The guest reads every vCPU at this instant."""
        ws = path.ws
        vm = self._vm(path, ws.vm)
        tbs = []
        for i, cpu in enumerate(ws.vm.cpus):
            with collect_obligations() as obs:
                try:
                    tb = ws.vm.rules.read_tb(vm, cpu)
                except (SymbolicBranch, ScalingUndeclared) as exc:
                    raise RuleError(f"read_tb: {exc}") from None
            # the TB's own arithmetic is the rule set's too, on every vCPU: each vCPU's read has
            # its own offset, so its own operations (one check a vCPU, naming it)
            self.monitor.on_obligations(obs, f"read_tb of vCPU {i}", self._emit(path), vcpu=i)
            if not isinstance(tb, Num):
                raise RuleError(f"read_tb returned {type(tb).__name__}, expected U64")
            tb = tb.convert(U64)
            tbs.append(tb)
            if self.record_observations:
                shift = ws.ghost.shift[i] if ws.ghost.shift is not None else Int(0)
                path.observations.append(Observation(path.step, event, ws.t, ws.vm.host,
                                                     ws.vm.state, i, tb, ws.ghost.guest_ns,
                                                     shift))
        self.monitor.on_reads(ws.ghost, ws.t, tbs, self._emit(path))
        return tbs

    def _pass(self, path: Path, d: Num, guest_sees: bool) -> None:
        """``d`` ns of true time pass; the ideal guest clock runs if ``guest_sees``."""
        path.ws.t = path.ws.t + d.convert(Int)
        if guest_sees and self.record_observations:  # for display only
            path.ws.ghost.guest_ns = path.ws.ghost.guest_ns + d.convert(Int)

    def _new_proc(self, path: Path, host: int, state: str, autostart: bool = True) -> Proc:
        with collect_obligations() as obs:  # a rule set's constructor computes too
            rules = self.rules_cls()
        if obs:  # (it sees no symbol: the same on both engines)
            self.monitor.on_obligations(obs, "the rule set's constructor", self._emit(path))
        proc = Proc(host, rules, [Cpu() for _ in range(self.params.ncpus)], state, autostart)
        self._hook(path, proc, "setup")
        return proc

    # ------------------------------------------------------------------ boot
    def boot(self) -> Path:
        ws = WorldState(Int(0), None, self.monitor.ghost())  # type: ignore[arg-type]
        path = Path(ws, Bool(True))
        ws.vm = self._new_proc(path, 0, RUNNING)
        self._hook(path, ws.vm, "boot", self.params.tb0.convert(U64))
        self.monitor.on_chain_start(ws.ghost, ws.t, self._read(path, "boot"))
        return path

    # ------------------------------------------------------------------ events
    def enabled(self, ws: WorldState, ev: Event) -> bool:
        """Whether ``ev`` can happen now (a concrete question: it depends on control only)."""
        st = ws.vm.state
        if isinstance(ev, Stop):
            return st == RUNNING
        if isinstance(ev, Cont):
            return st == PAUSED
        if isinstance(ev, Read):
            return st == RUNNING and 0 <= ev.cpu < self.params.ncpus
        if isinstance(ev, Write):  # where the machine lets the guest write its TB
            return st == RUNNING and self.rules_cls.guest_writes_tb \
                and 0 <= ev.cpu < self.params.ncpus
        if isinstance(ev, Migrate):  # into a destination started paused: of a running guest
            return (st == RUNNING if ev.paused else st in (RUNNING, PAUSED)) \
                and 0 <= ev.dst < len(self.params.hosts)
        if isinstance(ev, LoadVM):
            return st in (RUNNING, PAUSED) and ev.name in ws.snapshots
        return st in (RUNNING, PAUSED)

    def step(self, path: Path, ev: Event) -> list[Path]:
        path.step += 1
        return _HANDLERS[type(ev)](self, path, ev) or [path]  # type: ignore[operator]

    def _run(self, path: Path, ev: Run) -> None:
        ws = path.ws
        if ws.vm.state != RUNNING:
            self._pass(path, ev.d, False)
            return
        # every event that leaves the guest running ends with a read at this instant: reuse it
        t0, before = ws.t, ws.ghost.last if ws.ghost.last is not None else self._read(path, "run")
        self._pass(path, ev.d, True)
        after = self._read(path, "run")
        away = Bool(ws.vm.host != 0) & (ev.d.convert(Int) > 0)
        self.monitor.on_run(t0, before, ws.t, after, away, self._emit(path),
                            self._scaled(ws.vm, t0, ws.t))

    def _scaled(self, proc: Proc, t_a: Num, t_b: Num) -> ScaledRun | None:
        """The scaling facts of a run on ``proc``'s host (None when no vCPU is scaled)."""
        if all(c.tsc_ratio is None for c in proc.cpus):
            return None
        hp = self.params.hosts[proc.host]
        f = hp.freq.convert(Int)
        advanced = counter_ticks(f, t_b.convert(Int)) - counter_ticks(f, t_a.convert(Int))
        return ScaledRun(hp.freq, advanced, [None if c.tsc_ratio is None else hp.frac_bits
                                             for c in proc.cpus])

    def _read_event(self, path: Path, ev: Read) -> None:
        self._read(path, "read")

    def _write(self, path: Path, ev: Write) -> None:
        """The guest writes one vCPU's TB: the rule set's ``write_tb``; the properties move that
        vCPU's references by what the guest wrote (never the hypervisor's doing)."""
        ws = path.ws
        before = ws.ghost.last if ws.ghost.last is not None else self._read(path, "write")
        value = ev.tb.convert(U64)
        self._hook(path, ws.vm, "write_tb", ws.vm.cpus[ev.cpu], value)
        self.monitor.on_guest_write(ws.ghost, ev.cpu, before, value)
        self._read(path, "write")

    def _stop(self, path: Path, ev: Stop) -> None:
        tbs = self._read(path, "stop")
        path.ws.vm.state = PAUSED
        self._hook(path, path.ws.vm, "stop", PAUSED)
        self.monitor.on_explicit_stop(path.ws.ghost, tbs)

    def _cont(self, path: Path, ev: Cont) -> None:
        path.ws.vm.state = RUNNING
        self._hook(path, path.ws.vm, "cont")
        tbs = self._read(path, "cont")
        self.monitor.on_explicit_cont(path.ws.ghost, tbs, self._emit(path))
        self.monitor.on_chain_start(path.ws.ghost, path.ws.t, tbs)

    def _implicit_stop(self, path: Path, state: str, event: str) -> tuple[Num, list[Num]] | None:
        """QEMU's ``vm_stop(state)``: notifies the rule only if the guest was running."""
        ws = path.ws
        if ws.vm.state != RUNNING:
            if state != SAVE_VM and state != RESTORE_VM:
                ws.vm.state = state  # paused source: runstate_set only, nobody is notified
            return None
        t0, tbs = ws.t, self._read(path, event)
        self.monitor.on_implicit_stop(ws.ghost, state == FINISH_MIGRATE)
        ws.vm.state = state
        self._hook(path, ws.vm, "stop", state)
        return t0, tbs

    def _resume(self, path: Path, event: str) -> list[Num]:
        path.ws.vm.state = RUNNING
        self._hook(path, path.ws.vm, "cont")
        tbs = self._read(path, event)
        self.monitor.on_implicit_resume(path.ws.ghost, path.ws.t, tbs)
        return tbs

    def _migrate(self, path: Path, ev: Migrate) -> list[Path]:
        ws = path.ws
        stopped = self._implicit_stop(path, FINISH_MIGRATE, "migrate")
        self._pass(path, ev.p_save, stopped is not None)
        record = self._hook(path, ws.vm, "pre_save")
        self._pass(path, ev.p_transfer, stopped is not None)
        dst = self._new_proc(path, ev.dst, INMIGRATE, autostart=not ev.paused)
        refusal = self._hook(path, dst, "post_load", record)
        paths = [path]
        if refusal is not None:
            refused = path.fork(refusal.when) if refusal.when.symbolic else (
                path if refusal.when else None)
            if refused is not None:  # the switchover fails; the source resumes
                refused.note = refusal.reason
                self._pass(refused, ev.p_resume, stopped is not None)
                self._cancel(refused, stopped)
                if refused is path:
                    return paths
                paths.append(refused)
        ws = path.ws
        if stopped is not None and ev.paused:  # -S: the destination waits for a cont
            ws.vm, dst.state = dst, PAUSED
            self.monitor.on_paused_arrival(ws.ghost, ws.t, self._resume_tb(path, dst),
                                           self._emit(path))
            self._pass(path, ev.p_resume, False)
            return paths
        self._pass(path, ev.p_resume, stopped is not None)
        ws.vm = dst
        if stopped is None:
            ws.vm.state = PAUSED
            return paths
        self._resume(path, "migrate")  # its read checks tracks-wall-clock over the chain
        return paths

    def _resume_tb(self, path: Path, proc: Proc) -> list[Num]:
        """The TB each vCPU would show were the paused ``proc`` continued at this instant: its
        continue hook and reads, on a copy. Their arithmetic is not judged here (no guest runs
        it now; a ``cont`` at this instant is a history of its own, judged there)."""
        probe = clone(proc)
        probe.state = RUNNING
        vm = self._vm(path, probe)
        with collect_obligations():
            try:
                probe.rules.cont(vm)
                tbs = [probe.rules.read_tb(vm, cpu) for cpu in probe.cpus]
            except SymbolicBranch as exc:
                raise RuleError(f"cont at a paused destination's load: {exc}") from None
        for tb in tbs:
            if not isinstance(tb, Num):
                raise RuleError(f"read_tb returned {type(tb).__name__}, expected U64")
        return [tb.convert(U64) for tb in tbs]

    def _cancel(self, path: Path, stopped: tuple[Num, list[Num]] | None) -> None:
        """The migration fails after the source stopped: the source resumes if it was running."""
        if stopped is None:
            path.ws.vm.state = PAUSED
            return
        self._resume(path, "migrate-fail")  # its read checks tracks-wall-clock

    def _migrate_fail(self, path: Path, ev: MigrateFail) -> None:
        stopped = self._implicit_stop(path, FINISH_MIGRATE, "migrate-fail")
        self._pass(path, ev.p_save, stopped is not None)
        self._hook(path, path.ws.vm, "pre_save")
        self._pass(path, ev.p_cancel, stopped is not None)
        self._cancel(path, stopped)

    def _savevm(self, path: Path, ev: SaveVM) -> None:
        ws = path.ws
        stopped = self._implicit_stop(path, SAVE_VM, "savevm")
        self._pass(path, ev.p_ram, False)
        record = self._hook(path, ws.vm, "pre_save")
        ref = stopped[1] if stopped is not None else ws.ghost.pause_ref
        if ref is None:  # a guest paused with no TB to stand for: the snapshot would be unchecked
            raise AssertionError("savevm of a paused guest whose pause recorded no TB")
        shift = None if ws.ghost.shift is None else list(ws.ghost.shift)
        ws.snapshots[ev.name] = Snap(record, list(ref), ws.ghost.guest_ns,
                                     stopped is None and ws.ghost.pause_rounded, shift)
        if stopped is not None:
            after = self._resume(path, "savevm")
            self.monitor.on_snapshot_resume(stopped[1], after, "resume after savevm",
                                 self._emit(path))

    def _loadvm(self, path: Path, ev: LoadVM) -> list[Path]:
        ws = path.ws
        snap = ws.snapshots[ev.name]
        was_running = self._implicit_stop(path, RESTORE_VM, "loadvm") is not None
        self._pass(path, ev.p_load, False)
        refusal = self._hook(path, ws.vm, "post_load", snap.record)
        paths = [path]
        if refusal is not None and (refusal.when.symbolic or refusal.when):
            refused = path.fork(refusal.when) if refusal.when.symbolic else path
            refused.note = refusal.reason
            if was_running:  # loadvm failed: the guest goes on from where it was
                self._resume(refused, "loadvm")
            if refused is path:
                return paths
            paths.append(refused)
        ws = path.ws
        self.monitor.on_branch_restart(ws.ghost)
        ws.ghost.guest_ns = snap.guest_ns
        ws.ghost.shift = None if snap.shift is None else list(snap.shift)  # the guest's, then
        if not was_running:
            ws.ghost.pause_ref, ws.ghost.pause_kind = list(snap.ref), "snapshot-frozen"
            ws.ghost.pause_rounded = snap.rounded
            return paths
        after = self._resume(path, "loadvm")
        self.monitor.on_snapshot_resume(snap.ref, after, "resume after loadvm", self._emit(path),
                                        snap.rounded)
        return paths


#: what each event does (``World.step``), looked up once rather than built at every event
_HANDLERS: dict[type[Event], Any] = {
    Run: World._run, Read: World._read_event, Stop: World._stop, Cont: World._cont,
    Migrate: World._migrate, MigrateFail: World._migrate_fail, SaveVM: World._savevm,
    LoadVM: World._loadvm, Write: World._write}
