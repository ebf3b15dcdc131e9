"""``tbcheck record``: run real QEMU guests through the scenarios and write a trace (JSON Lines).

The trace format is docs/trace-format.md; ``tbcheck validate`` checks a trace against the model.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tbcheck.errors import UsageError

# Kept here (not imported from tbcheck.qemu) so that --help works without qemu.qmp installed;
# run() checks it against the registry.
SCENARIO_NAMES = (
    "running",
    "stop-cont",
    "migrate-running",
    "migrate-held",
    "held-switchover",
    "held-switchover-cancel",
    "migrate-paused",
    "migrate-to-paused",
    "migrate-file",
    "migrate-file-paused",
    "migrate-cancel",
    "savevm-loadvm",
    "two-hops",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, metavar="TRACE", help="trace file to write")
    parser.add_argument(
        "--qemu", default="qemu-system-ppc64", metavar="BINARY",
        help="QEMU system emulator (default: qemu-system-ppc64)",
    )
    parser.add_argument(
        "--machine", default="-M pseries", metavar="ARGS",
        help="machine arguments, free text split like a shell (default: '-M pseries'); "
        "e.g. --qemu qemu-system-ppc --machine '-M mac99'",
    )
    parser.add_argument(
        "--scenario", action="append", metavar="NAME", dest="scenarios",
        help=f"scenario to record, repeatable (default: all): {', '.join(SCENARIO_NAMES)}",
    )
    parser.add_argument(
        "--reads", type=int, default=5, metavar="N",
        help="rounds of TB reads (every vCPU) at each point (default: 5)",
    )
    parser.add_argument(
        "--delay", type=float, default=1.0, metavar="SECONDS",
        help="length of each run or paused wait (default: 1.0)",
    )
    parser.add_argument(
        "--file-gap", type=float, default=2.0, metavar="SECONDS",
        help="time between saving and loading a file migration (default: 2.0)",
    )
    parser.add_argument(
        "--settle", type=float, default=None, metavar="SECONDS",
        help="wait this long after a guest boots, before its first reads: a firmware that "
             "writes the TB at boot finishes first, so the validator sees its writes as the "
             "guest's (default: 0, or 1 with --firmware)",
    )
    parser.add_argument(
        "--firmware", default=None, metavar="NAME", choices=["tb-writer"],
        help="run a firmware of tbcheck's in place of the machine's: tb-writer (powernv: "
             "every vCPU but 0 writes its TB at boot, docs/validate.md)",
    )
    parser.add_argument(
        "--tb-freq", type=int, default=None, metavar="HZ",
        help="nominal guest TB frequency for the header (default: known for pseries, powernv "
             "and mac99; measured otherwise)",
    )
    parser.add_argument(
        "--quiet", action="store_true",
        help="no progress and no line a scenario on stderr, only the summary (the progress "
        "line is drawn only when stderr is a terminal)",
    )


def _check(args: argparse.Namespace) -> list[str]:
    names = args.scenarios or list(SCENARIO_NAMES)
    unknown = [n for n in names if n not in SCENARIO_NAMES]
    if unknown:
        raise UsageError(
            f"unknown scenario {unknown[0]!r}; choose from: {', '.join(SCENARIO_NAMES)}"
        )
    if len(set(names)) != len(names):
        raise UsageError("a scenario is named twice")
    if args.reads < 1 or args.reads > 10_000:
        raise UsageError("--reads must be between 1 and 10000")
    if not 0 < args.delay <= 3600 or not 0 <= args.file_gap <= 3600:
        raise UsageError("--delay must be in (0, 3600] s and --file-gap in [0, 3600] s")
    if args.settle is None:
        args.settle = 1.0 if args.firmware else 0.0
    if not 0 <= args.settle <= 3600:
        raise UsageError("--settle must be in [0, 3600] s")
    if args.tb_freq is not None and args.tb_freq <= 0:
        raise UsageError("--tb-freq must be positive")
    out = Path(args.out)
    if not out.parent.is_dir():
        raise UsageError(f"--out: directory {str(out.parent)!r} does not exist")
    return names


def run(args: argparse.Namespace) -> int:
    names = _check(args)
    import asyncio

    from tbcheck.qemu import machine
    from tbcheck.qemu.recorder import record
    from tbcheck.qemu.scenarios import SCENARIOS
    from tbcheck.qemu.session import Options

    assert set(SCENARIO_NAMES) == set(SCENARIOS), "record_cmd.SCENARIO_NAMES is out of date"
    cfg = machine.resolve(args.qemu, args.machine, args.tb_freq)
    if args.firmware:  # written next to the trace: the header's command line names it
        from tbcheck.qemu import firmware

        blob = Path(args.out).with_name(Path(args.out).name + f".{args.firmware}.bin")
        blob.write_bytes(firmware.image(args.firmware, cfg.machine_name))
        cfg.machine_args += ["-bios", str(blob.resolve())]
    if cfg.tb_freq_hz is None:  # a machine nobody told us about: measure its TB's rate
        from tbcheck.qemu import calibrate

        print(f"record: measuring the TB frequency of {cfg.machine_name or 'the machine'} "
              f"({calibrate.SECONDS:g} s)", file=sys.stderr)
        m = calibrate.measure(cfg)
        cfg.tb_freq_hz, cfg.tb_freq_source, cfg.tb_freq_error_hz = m.hz, m.source, m.error_hz
    if "savevm-loadvm" in names:
        import shutil

        if shutil.which("qemu-img") is None:
            raise UsageError("scenario savevm-loadvm needs qemu-img (install qemu-utils)")
    opts = Options(reads=args.reads, delay_s=args.delay, file_gap_s=args.file_gap,
                   settle_s=args.settle)
    from tbcheck.progress import Progress

    bar = Progress(len(names), quiet=args.quiet)
    bar.say(f"record: {cfg.binary} {' '.join(cfg.machine_args)}, {cfg.smp} vCPU(s), QEMU "
            f"{cfg.version} -> {args.out}")

    def progress(msg: str) -> None:
        """The recorder's lines: a scenario begins (``...``) or ends (``ok``, ``FAILED``)."""
        if msg.endswith(" ..."):
            bar.begin(msg.removeprefix("record: ").removesuffix(" ..."))
            if bar.drawing:  # the status line says it
                return
        if msg.startswith("record: ") and (": ok in " in msg or ": FAILED in " in msg):
            bar.done(label="")
        bar.say(msg)

    async def recording() -> dict[str, tuple[bool, float, str | None]]:
        ticker = asyncio.ensure_future(_tick(bar))
        try:
            return await record(cfg, names, opts, Path(args.out), progress)
        finally:
            ticker.cancel()

    try:
        results = asyncio.run(recording())
    except asyncio.CancelledError:  # SIGTERM: the recorder cancelled itself after cleaning up
        bar.close()
        print(f"tbcheck: terminated; partial trace in {args.out}", file=sys.stderr)
        return 143
    finally:
        bar.close()
    failed = [n for n, (ok, _, _) in results.items() if not ok]
    total = sum(w for _, w, _ in results.values())
    print(f"record: {len(results) - len(failed)}/{len(results)} scenarios ok, "
          f"{total:.1f} s in scenarios; trace {args.out}", file=sys.stderr)
    return 1 if failed else 0


async def _tick(bar: Any) -> None:
    """The progress line's clock, redrawn while a scenario runs."""
    import asyncio

    while True:
        await asyncio.sleep(1.0)
        bar.tick()
