"""Runs the chosen scenarios into one trace file, with cleanup that survives errors and Ctrl-C.

A scenario that fails is recorded as failed (its end record says why) and the next one runs; an
interrupt kills every QEMU process, closes the open scenario and writes an ``interrupted``
footer, so even a partial trace reads back cleanly.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from tbcheck.qemu.machine import MachineConfig
from tbcheck.qemu.scenarios import SCENARIOS
from tbcheck.qemu.session import Options, Session
from tbcheck.qemu.vm import RecordError
from tbcheck.trace import TraceWriter


def tool_version() -> str:
    try:
        return metadata.version("tbcheck")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def header(cfg: MachineConfig, names: list[str], opts: Options) -> dict[str, Any]:
    """The first record: everything needed to interpret (or repeat) the recording."""
    return {
        "tool": "tbcheck",
        "tool_version": tool_version(),
        "created_rt_ns": time.clock_gettime_ns(time.CLOCK_REALTIME),
        "qemu": {
            "binary": cfg.binary,
            "path": cfg.binary_path,
            "version": cfg.version,
            "version_line": cfg.extra.get("version_line", ""),
        },
        "machine_args": cfg.machine_args,
        "machine": cfg.machine_name,
        "vcpus": cfg.smp,
        "tb_freq_hz": cfg.tb_freq_hz,
        "tb_freq_source": cfg.tb_freq_source,
        "tb_freq_error_hz": cfg.tb_freq_error_hz,
        "scenarios": names,
        "reads_per_point": opts.reads,
        "delay_s": opts.delay_s,
        "file_gap_s": opts.file_gap_s,
        "settle_s": opts.settle_s,
        "tb_read": "QMP human-monitor-command 'info registers' (cpu-index), TB line 2nd field",
        "host": {
            "hostname": platform.node(),
            "platform": platform.platform(),
            "arch": platform.machine(),
            "cpus": os.cpu_count(),
            "python": sys.version.split()[0],
            "clock_res_ns": {
                "realtime": int(time.clock_getres(time.CLOCK_REALTIME) * 1e9),
                "monotonic": int(time.clock_getres(time.CLOCK_MONOTONIC) * 1e9),
            },
        },
    }


async def _run_one(trace: TraceWriter, cfg: MachineConfig, opts: Options, name: str,
                   tmp: Path) -> tuple[bool, float, str | None]:
    workdir = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp))
    session = Session(trace, cfg, opts, workdir)
    trace.begin(name)
    t0 = time.monotonic()
    ok, error = True, None
    try:
        await SCENARIOS[name].run(session)
    except RecordError as exc:
        ok, error = False, str(exc)
    except BaseException as exc:  # a bug or an interrupt: kill first, then say so and re-raise
        session.kill_all()
        trace.interrupted = True  # type: ignore[attr-defined]  # the SIGTERM handler may stop
        why = "interrupted" if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt) else (
            f"internal error: {type(exc).__name__}: {exc}")
        trace.end(False, round(time.monotonic() - t0, 3), why)
        await session.close()
        raise
    try:
        await session.close()
    finally:
        session.kill_all()
    wall = round(time.monotonic() - t0, 3)
    trace.end(ok, wall, error)
    return ok, wall, error


async def record(cfg: MachineConfig, names: list[str], opts: Options, out: Path,
                 progress: Callable[[str], None]) -> dict[str, tuple[bool, float, str | None]]:
    """Record ``names`` into ``out``; returns each scenario's (ok, wall seconds, error)."""
    logging.getLogger("qemu.qmp").setLevel(logging.CRITICAL)  # our records say what failed
    trace = TraceWriter(out)
    loop = asyncio.get_running_loop()
    me = asyncio.current_task()
    def terminate(attempt: int = 0) -> None:
        """SIGTERM cleans up like Ctrl-C. A cancellation can be lost in Python 3.11's
        ``asyncio.wait_for`` when the awaited reply lands at the same moment, so it is
        repeated until a scenario has seen it (at most 20 times, 0.5 s apart)."""
        if me is None or me.done() or getattr(trace, "interrupted", False) or attempt >= 20:
            return
        me.cancel()
        loop.call_later(0.5, terminate, attempt + 1)

    if me is not None:
        loop.add_signal_handler(signal.SIGTERM, terminate)
    results: dict[str, tuple[bool, float, str | None]] = {}
    status = "failed"
    t0 = time.monotonic()
    try:
        trace.write("header", **header(cfg, names, opts))
        with tempfile.TemporaryDirectory(prefix="tbcheck-record-") as tmp:
            for name in names:
                progress(f"record: {name} ...")
                results[name] = await _run_one(trace, cfg, opts, name, Path(tmp))
                ok, wall, error = results[name]
                progress(f"record: {name}: {'ok' if ok else 'FAILED'} in {wall:.2f} s"
                         + (f" ({error})" if error else ""))
        status = "complete"
    except asyncio.CancelledError:
        status = "interrupted"
        raise
    finally:
        if me is not None:
            loop.remove_signal_handler(signal.SIGTERM)
        trace.close(
            status,
            wall_s=round(time.monotonic() - t0, 3),
            scenario_wall_s={n: r[1] for n, r in results.items()},
            failed=[n for n, r in results.items() if not r[0]],
        )
    return results
