"""What a scenario works with: VM start/quit, stop/cont, batches of TB reads, waits and marks.

A ``Session`` lives for one scenario and owns its VMs and working directory, so that whatever
happens inside the scenario, ``close`` leaves no QEMU process behind.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tbcheck.qemu.machine import MachineConfig
from tbcheck.qemu.vm import RecordError, Vm, window
from tbcheck.trace import TraceWriter, clocks


@dataclass
class Options:
    """How much to record: reads per point (per vCPU) and the length of each wait."""

    reads: int = 5
    delay_s: float = 1.0
    file_gap_s: float = 2.0
    settle_s: float = 0.0  # after a guest boots, before its first reads (firmware that writes)


class Session:
    """One scenario's VMs, working directory and trace-writing helpers."""

    def __init__(
        self, trace: TraceWriter, cfg: MachineConfig, opts: Options, workdir: Path
    ) -> None:
        self.trace = trace
        self.cfg = cfg
        self.opts = opts
        self.workdir = workdir
        self.vms: list[Vm] = []

    # -- marks and time -----------------------------------------------------------------------

    def mark(self, label: str, vm: Vm | None, win: dict[str, int], **fields: Any) -> None:
        """A labelled moment: the action took place entirely inside ``win``."""
        self.trace.write(
            "mark",
            scenario=self.trace.scenario,
            label=label,
            vm=vm.name if vm else None,
            **win,
            **fields,
        )

    def since(self, start: dict[str, int]) -> dict[str, int]:
        """Window from the start of ``start`` to now: for moments detected after the fact."""
        now = clocks()
        return window((start["rt_before_ns"], start["mono_before_ns"]), now)

    async def wait(self, seconds: float, vm: Vm | None = None, why: str = "") -> None:
        """Let ``seconds`` of host time pass (the guest's run(d), or time spent paused)."""
        before = clocks()
        await asyncio.sleep(seconds)
        self.mark("wait", vm, window(before, clocks()), seconds=seconds, why=why)

    # -- VMs ----------------------------------------------------------------------------------

    async def start_vm(
        self, name: str, *, incoming: str | None = None, disk: Path | None = None,
        paused: bool = False,
    ) -> Vm:
        """Start a QEMU process; ``paused`` starts it with ``-S`` (it stays paused, even after
        an incoming migration of a running guest, until ``cont``)."""
        argv = self.cfg.argv()
        if paused:
            argv += ["-S"]
        if disk is not None:
            argv += ["-drive", f"file={disk},if=none,format=qcow2,id=disk0"]
        if incoming is not None:
            argv += ["-incoming", incoming]
        vm = Vm(self.trace, name, argv, self.workdir)
        self.vms.append(vm)
        win = await vm.start()
        kvm, _ = await vm.command("query-kvm")
        assert vm.proc is not None
        self.mark(
            "vm-start", vm, win, pid=vm.proc.pid, argv=vm.argv, incoming=incoming,
            kvm=bool(kvm.get("enabled")), started_paused=paused,
        )
        if incoming is None and not paused and self.opts.settle_s > 0:
            await self.wait(self.opts.settle_s, vm, "the guest's firmware settles")
        return vm

    async def quit(self, vm: Vm) -> None:
        before = clocks()
        code = await vm.quit()
        self.mark("vm-quit", vm, window(before, clocks()), exit_code=code)

    async def close(self) -> None:
        """Quit every VM still running (orderly), then make sure each process is gone."""
        for vm in self.vms:
            if vm.alive:
                try:
                    await self.quit(vm)
                except RecordError:
                    pass
            vm.reap()
            await vm.disconnect()

    def kill_all(self) -> None:
        """Immediate SIGKILL of every VM: the interrupt path, where nothing may be awaited."""
        for vm in self.vms:
            vm.reap()

    def new_disk(self, name: str = "disk.qcow2", size: str = "64M") -> Path:
        """A fresh qcow2 image (savevm needs a snapshot-capable disk to hold the VM state)."""
        qemu_img = shutil.which("qemu-img")
        if qemu_img is None:
            raise RecordError("qemu-img not found (install qemu-utils)")
        path = self.workdir / name
        proc = subprocess.run(
            [qemu_img, "create", "-q", "-f", "qcow2", str(path), size],
            capture_output=True, text=True, check=False,
        )
        if proc.returncode != 0:
            raise RecordError(f"qemu-img create failed: {proc.stderr.strip()}")
        return path

    # -- guest actions ------------------------------------------------------------------------

    async def reads(self, vm: Vm, point: str, n: int | None = None) -> None:
        """``n`` rounds of reads (default --reads), each round every vCPU in turn."""
        for _ in range(self.opts.reads if n is None else n):
            for vcpu in range(self.cfg.smp):
                await vm.read_tb(vcpu, point)

    async def stop(self, vm: Vm) -> None:
        _, win = await vm.command("stop")
        self.mark("stop", vm, win)

    async def cont(self, vm: Vm) -> None:
        _, win = await vm.command("cont")
        self.mark("cont", vm, win)
