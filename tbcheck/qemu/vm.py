"""One QEMU process driven over QMP, with every command, event and TB read written to the trace.

Each TB read is a QMP round trip (``human-monitor-command`` ``info registers``); the guest's TB
was sampled somewhere inside it, so each read keeps its host-clock window rather than a point.
"""

from __future__ import annotations

import asyncio
import ctypes
import json
import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qemu.qmp import EventListener, ExecuteError, QMPClient

from tbcheck.trace import TraceWriter, clocks

if TYPE_CHECKING:
    from qemu.qmp import Message

# "TB <upper32> <tb64> DECR <decr>": both TB fields decimal (zero-padded), the second the full
# 64-bit TB. QEMU computes the two fields from two clock reads, so they need not agree.
_TB_LINE = re.compile(r"^TB\s+(\d+)\s+(\d+)", re.MULTILINE)
_RESULT_LIMIT = 4000  # characters of a command's result kept in its trace record
CONNECT_TIMEOUT_S = 30.0
COMMAND_TIMEOUT_S = 120.0


class RecordError(Exception):
    """QEMU did something the scenario cannot go on from (the scenario is marked failed)."""


def window(before: tuple[int, int], after: tuple[int, int]) -> dict[str, int]:
    """Trace window fields from two ``clocks()`` samples."""
    return {
        "rt_before_ns": before[0],
        "rt_after_ns": after[0],
        "mono_before_ns": before[1],
        "mono_after_ns": after[1],
    }


def _die_with_parent() -> None:
    """Child-side: SIGKILL QEMU if the recorder dies without cleaning up (Linux prctl)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _small(value: Any) -> Any:
    """A command result as kept in the trace: whole if small, else cut as text."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)[:_RESULT_LIMIT]
    return value if len(text) <= _RESULT_LIMIT else text[:_RESULT_LIMIT] + "..."


class _TraceListener(EventListener):
    """Stamps and logs each QMP event the moment the client dispatches it, and wakes waiters."""

    def __init__(self, vm: Vm) -> None:
        super().__init__()
        self.vm = vm

    def accept(self, event: Message) -> bool:
        rt, mono = clocks()
        ts = event.get("timestamp") or {}
        qemu_us = None
        if isinstance(ts.get("seconds"), int) and isinstance(ts.get("microseconds"), int):
            qemu_us = ts["seconds"] * 1_000_000 + ts["microseconds"]
        record = {
            "scenario": self.vm.trace.scenario,
            "vm": self.vm.name,
            "event": str(event.get("event")),
            "data": dict(event.get("data") or {}),
            "qemu_rt_us": qemu_us,
            "recv_rt_ns": rt,
            "recv_mono_ns": mono,
        }
        self.vm.events.append(record)
        try:
            self.vm.trace.write("event", **record)
        except ValueError:
            pass  # never let logging break the QMP reader task
        self.vm.event_arrived.set()
        return False  # nothing is queued: waiters use vm.events


class Vm:
    """A QEMU process (source or destination), named in the trace by ``name``."""

    def __init__(self, trace: TraceWriter, name: str, argv: list[str], workdir: Path) -> None:
        self.trace = trace
        self.name = name
        self.argv = argv
        self.workdir = workdir
        self.sock = workdir / f"{name}.qmp"
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: QMPClient | None = None
        self.events: list[dict[str, Any]] = []
        self.event_arrived = asyncio.Event()
        self.exit_code: int | None = None

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> dict[str, int]:
        """Start QEMU and connect QMP; returns the window from spawn to connected."""
        before = clocks()
        full = [*self.argv, "-qmp", f"unix:{self.sock},server=on,wait=off"]
        self.argv = full
        self.proc = subprocess.Popen(
            full,
            stdin=subprocess.DEVNULL,
            stdout=(self.workdir / f"{self.name}.out").open("wb"),
            stderr=(self.workdir / f"{self.name}.err").open("wb"),
            cwd=self.workdir,
            start_new_session=True,  # Ctrl-C reaches the recorder only; it stops QEMU itself
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - single-threaded at spawn time
        )
        client = QMPClient(self.name)
        deadline = asyncio.get_running_loop().time() + CONNECT_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise RecordError(f"{self.name}: QEMU exited ({self.proc.returncode}) "
                                  f"before QMP was up: {self.stderr_tail()}")
            if self.sock.exists():
                try:
                    await client.connect(str(self.sock))
                    break
                except Exception:  # noqa: BLE001 - the socket is not listening yet
                    pass
            if asyncio.get_running_loop().time() > deadline:
                raise RecordError(f"{self.name}: QMP socket did not come up in time")
            await asyncio.sleep(0.01)
        self.client = client
        client.register_listener(_TraceListener(self))
        return window(before, clocks())

    def stderr_tail(self, lines: int = 3) -> str:
        try:
            text = (self.workdir / f"{self.name}.err").read_text(errors="replace")
        except OSError:
            return ""
        useful = [ln for ln in text.splitlines() if ln.strip()]
        return " | ".join(useful[-lines:])

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def quit(self) -> int | None:
        """Ask QEMU to quit over QMP, then make sure the process is gone."""
        if self.client is not None and self.alive:
            try:
                await self.command("quit", timeout=10)
            except (RecordError, OSError, EOFError):
                pass
        await self.disconnect()
        return self.reap(grace_s=10)

    async def disconnect(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            await asyncio.wait_for(client.disconnect(), 5)
        except Exception:  # noqa: BLE001 - QEMU closing the socket first is normal here
            pass

    def reap(self, grace_s: float = 0.0) -> int | None:
        """Wait up to ``grace_s`` for the process, then SIGKILL it; returns its exit status."""
        if self.proc is None:
            return None
        try:
            self.exit_code = self.proc.wait(grace_s) if grace_s else self.proc.poll()
        except subprocess.TimeoutExpired:
            self.exit_code = None
        if self.exit_code is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.exit_code = self.proc.wait()
        return self.exit_code

    # -- commands ---------------------------------------------------------------------------

    async def command(
        self, cmd: str, args: dict[str, Any] | None = None, *, timeout: float = COMMAND_TIMEOUT_S
    ) -> tuple[Any, dict[str, int]]:
        """Execute one QMP command, log it as a ``command`` record; returns (result, window)."""
        if self.client is None:
            raise RecordError(f"{self.name}: not connected")
        before = clocks()
        error: str | None = None
        result: Any = None
        try:
            result = await asyncio.wait_for(self.client.execute(cmd, args), timeout)
        except ExecuteError as exc:
            error = f"{exc.error_class}: {exc}"
        except TimeoutError:
            error = f"no reply within {timeout:g} s"
        except Exception as exc:  # noqa: BLE001 - connection loss etc. become a scenario failure
            error = f"{type(exc).__name__}: {exc}"
        after = clocks()
        if cmd == "human-monitor-command" and error is None and isinstance(result, str):
            hmp_err = [ln for ln in result.splitlines() if ln.startswith("Error")]
            if hmp_err:
                error = hmp_err[0]
        self.trace.write(
            "command",
            scenario=self.trace.scenario,
            vm=self.name,
            cmd=cmd,
            args=args or {},
            ok=error is None,
            error=error,
            result=_small(result),
            **window(before, after),
        )
        if error is not None:
            raise RecordError(f"{self.name}: {cmd} failed: {error}")
        return result, window(before, after)

    async def hmp(self, line: str, *, timeout: float = COMMAND_TIMEOUT_S) -> tuple[str, dict]:
        result, win = await self.command(
            "human-monitor-command", {"command-line": line}, timeout=timeout
        )
        return str(result), win

    async def runstate(self) -> str:
        result, _ = await self.command("query-status")
        return str(result["status"])

    async def read_tb(self, vcpu: int, point: str) -> int:
        """One TB read of ``vcpu``, written as a ``read`` record with its round-trip window.

        The run state comes from a query-status sent just before (not part of the window); both
        commands are folded into the read record instead of two ``command`` records.
        """
        assert self.client is not None
        try:
            status = await asyncio.wait_for(self.client.execute("query-status"), 10)
            runstate: str | None = str(status["status"])
            args = {"command-line": "info registers", "cpu-index": vcpu}
            before = clocks()
            text = await asyncio.wait_for(self.client.execute("human-monitor-command", args), 10)
            after = clocks()
        except ExecuteError as exc:
            raise RecordError(f"{self.name}: TB read of vCPU {vcpu} failed: {exc}") from None
        except (TimeoutError, OSError, EOFError) as exc:
            raise RecordError(f"{self.name}: TB read of vCPU {vcpu}: {exc!r}") from None
        m = _TB_LINE.search(str(text))
        if not m:
            raise RecordError(f"{self.name}: no TB line in info registers of vCPU {vcpu}")
        tb = int(m.group(2), 10)
        self.trace.write(
            "read",
            scenario=self.trace.scenario,
            vm=self.name,
            vcpu=vcpu,
            tb=tb,
            tbu=int(m.group(1), 10),
            runstate=runstate,
            point=point,
            **window(before, after),
        )
        return tb

    # -- events -----------------------------------------------------------------------------

    async def wait_event(
        self, match: Callable[[dict[str, Any]], bool], *, since: int = 0, timeout: float = 60.0
    ) -> dict[str, Any]:
        """The first event at index >= ``since`` of ``self.events`` that matches, waiting for it.

        Indexes instead of a queue so that an event that arrived before the wait began (a
        destination's RESUME can beat the source's reply) is still found.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for ev in self.events[since:]:
                if match(ev):
                    return ev
            since = len(self.events)
            self.event_arrived.clear()
            left = deadline - loop.time()
            if left <= 0:
                raise RecordError(f"{self.name}: expected event did not arrive in {timeout:g} s")
            if not self.alive:
                raise RecordError(f"{self.name}: QEMU exited: {self.stderr_tail()}")
            try:
                await asyncio.wait_for(self.event_arrived.wait(), min(left, 0.5))
            except TimeoutError:
                pass

    async def wait_migration(self, statuses: set[str], *, since: int = 0,
                             timeout: float = 120.0) -> str:
        """Wait for a MIGRATION event whose status is in ``statuses`` (or failed/cancelled)."""
        final = statuses | {"failed", "cancelled"}
        ev = await self.wait_event(
            lambda e: e["event"] == "MIGRATION" and e["data"].get("status") in final,
            since=since,
            timeout=timeout,
        )
        return str(ev["data"]["status"])
