"""The recorded scenarios: each boots a fresh guest and drives it through one model sequence.

Every scenario reads the TB (all vCPUs, ``--reads`` rounds) before and after each event, reads a
paused guest right after a stop and right before a cont, and ends with a run and a last batch, so
the rate after the last event can be measured too. Read ``point`` names say where a batch is.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from tbcheck.qemu import migration
from tbcheck.qemu.session import Session
from tbcheck.qemu.vm import Vm


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    run: Callable[[Session], Awaitable[None]]


SCENARIOS: dict[str, Scenario] = {}


def scenario(name: str, summary: str) -> Callable[[Callable[[Session], Awaitable[None]]], None]:
    def register(fn: Callable[[Session], Awaitable[None]]) -> None:
        SCENARIOS[name] = Scenario(name, summary, fn)

    return register


async def _run_and_read(s: Session, vm: Vm, point: str = "end") -> None:
    await s.wait(s.opts.delay_s, vm, "guest runs")
    await s.reads(vm, point)


async def _resume_after_pause(s: Session, vm: Vm, why: str) -> None:
    """The paused guest waits, is read, resumed with ``cont``, read, and runs to the end."""
    await s.wait(s.opts.delay_s, vm, why)
    await s.reads(vm, "paused-before-cont")
    await s.cont(vm)
    await s.reads(vm, "after-cont")
    await _run_and_read(s, vm)


async def _snapshot(s: Session, vm: Vm, verb: str) -> None:
    """``savevm`` or ``loadvm`` of the one snapshot, over HMP, marked in the trace."""
    _, win = await vm.hmp(f"{verb} snap1")
    s.mark(verb, vm, win, snapshot="snap1")


@scenario("running", "the guest runs: TB rate against both host clocks, vCPUs agree")
async def running(s: Session) -> None:
    vm = await s.start_vm("src")
    await s.reads(vm, "start")
    await _run_and_read(s, vm, "after-run")
    await _run_and_read(s, vm)


@scenario("stop-cont", "explicit stop, wait, cont: the TB should be frozen while paused")
async def stop_cont(s: Session) -> None:
    vm = await s.start_vm("src")
    await s.reads(vm, "before-stop")
    await s.stop(vm)
    await s.reads(vm, "paused-after-stop")
    await _resume_after_pause(s, vm, "paused")


@scenario("migrate-running", "live migration of a running guest over loopback TCP")
async def migrate_running(s: Session) -> None:
    await _live_and_read(s, None)


async def _live_and_read(s: Session, hold_s: float | None) -> None:
    """A running guest's live migration (its switchover held ``hold_s`` if given), read on
    both sides, then the destination runs on."""
    src = await s.start_vm("src")
    await s.reads(src, "before-migrate")
    dst = await (migration.live(s, src, "dst") if hold_s is None else
                 migration.live(s, src, "dst", hold_s=hold_s))
    await s.reads(dst, "after-migrate")
    await s.reads(src, "source-postmigrate")
    await s.quit(src)
    await _run_and_read(s, dst)


@scenario("migrate-held", "live migration with the switchover held (pause-before-switchover)")
async def migrate_held(s: Session) -> None:
    src = await s.start_vm("src")
    await s.reads(src, "before-migrate")
    dst = await migration.live(s, src, "dst", hold_s=s.opts.delay_s)
    await s.reads(dst, "after-migrate")
    await s.quit(src)
    await _run_and_read(s, dst)


def _hold_s(s: Session) -> float:
    """How long a held-switchover scenario holds: half the delay, at most half a second (the
    scenario stays a few seconds long)."""
    return min(s.opts.delay_s / 2, 0.5)


@scenario("held-switchover", "live migration held briefly at pre-switchover, then continued")
async def held_switchover(s: Session) -> None:
    """The model's migrate with a longer save phase: the source stops, the switchover waits,
    migrate-continue saves the device state and the destination resumes."""
    await _live_and_read(s, _hold_s(s))


@scenario("held-switchover-cancel", "live migration held at pre-switchover, then cancelled")
async def held_switchover_cancel(s: Session) -> None:
    """The model's migrate-fail whose cancel phase is the hold: the source, stopped at
    pre-switchover, waits and resumes when the migration is cancelled."""
    src = await s.start_vm("src")
    await s.reads(src, "before-migrate")
    await migration.cancelled(s, src, "dst", hold_s=_hold_s(s))
    await s.reads(src, "after-cancel")
    await _run_and_read(s, src)


@scenario("migrate-to-paused", "a running guest migrated to a destination started with -S, cont")
async def migrate_to_paused(s: Session) -> None:
    src = await s.start_vm("src")
    await s.reads(src, "before-migrate")
    dst = await migration.live(s, src, "dst", dest_paused=True)
    await s.reads(dst, "paused-after-migrate")
    await s.quit(src)
    await _resume_after_pause(s, dst, "paused on destination")


@scenario("migrate-paused", "stop, migrate the paused guest, wait, cont on the destination")
async def migrate_paused(s: Session) -> None:
    src = await s.start_vm("src")
    await s.reads(src, "before-stop")
    await s.stop(src)
    await s.reads(src, "paused-after-stop")
    dst = await migration.live(s, src, "dst")
    await s.reads(dst, "paused-after-migrate")
    await s.quit(src)
    await _resume_after_pause(s, dst, "paused on destination")


@scenario("migrate-file", "running guest saved to a file, gap, loaded by a new process")
async def migrate_file(s: Session) -> None:
    src = await s.start_vm("src")
    await s.reads(src, "before-migrate")
    dst = await migration.via_file(s, src, "dst", s.opts.file_gap_s)
    await s.reads(dst, "after-migrate")
    await _run_and_read(s, dst)


@scenario("migrate-file-paused", "paused guest saved to a file, gap, loaded, cont")
async def migrate_file_paused(s: Session) -> None:
    src = await s.start_vm("src")
    await s.reads(src, "before-stop")
    await s.stop(src)
    await s.reads(src, "paused-after-stop")
    dst = await migration.via_file(s, src, "dst", s.opts.file_gap_s)
    await s.reads(dst, "paused-after-migrate")
    await _resume_after_pause(s, dst, "paused on destination")


@scenario("migrate-cancel", "live migration cancelled at pre-switchover: the source resumes")
async def migrate_cancel(s: Session) -> None:
    src = await s.start_vm("src")
    await s.reads(src, "before-migrate")
    await migration.cancelled(s, src, "dst")
    await s.reads(src, "after-cancel")
    await _run_and_read(s, src)


@scenario("savevm-loadvm", "savevm while running, run on, loadvm while running and paused")
async def savevm_loadvm(s: Session) -> None:
    disk = s.new_disk()
    vm = await s.start_vm("src", disk=disk)
    await s.reads(vm, "before-savevm")
    await _snapshot(s, vm, "savevm")
    await s.reads(vm, "after-savevm")
    await _run_and_read(s, vm, "before-loadvm")
    await _snapshot(s, vm, "loadvm")
    await s.reads(vm, "after-loadvm")
    await _run_and_read(s, vm, "before-stop")
    await s.stop(vm)
    await s.reads(vm, "paused-after-stop")
    await _snapshot(s, vm, "loadvm")
    await s.reads(vm, "paused-after-loadvm")
    await _resume_after_pause(s, vm, "paused after loadvm")


@scenario("two-hops", "a running guest migrated live twice (src -> dst1 -> dst2)")
async def two_hops(s: Session) -> None:
    src = await s.start_vm("src")
    await s.reads(src, "before-migrate")
    dst1 = await migration.live(s, src, "dst1")
    await s.reads(dst1, "after-migrate")
    await s.quit(src)
    await _run_and_read(s, dst1, "before-migrate")
    dst2 = await migration.live(s, dst1, "dst2")
    await s.reads(dst2, "after-migrate")
    await s.quit(dst1)
    await _run_and_read(s, dst2)
