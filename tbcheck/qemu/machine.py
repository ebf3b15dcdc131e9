"""Which QEMU binary and machine to run, and what is known about its nominal TB frequency."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from tbcheck.errors import UsageError

DEFAULT_BINARY = "qemu-system-ppc64"
DEFAULT_MACHINE = "-M pseries"

#: Nominal guest TB frequency under TCG, by machine type, from QEMU's board code (the guest
#: learns it from the device tree). Used for the header only; a validator can also measure it.
KNOWN_TB_FREQ_HZ: dict[str, int] = {
    "pseries": 512_000_000,
    "powernv": 512_000_000,
    "powernv8": 512_000_000,
    "powernv9": 512_000_000,
    "powernv10": 512_000_000,
    "mac99": 100_000_000,
}

#: Options the recorder adds itself; a user's machine arguments must not carry them.
_RESERVED = ("-qmp", "-incoming", "-monitor", "-serial", "-chardev", "-daemonize")


@dataclass
class MachineConfig:
    """The resolved command line shared by every VM of a recording (source and destinations
    must match, or migration fails)."""

    binary: str
    binary_path: str
    machine_args: list[str]
    machine_name: str | None
    version: str = ""
    smp: int = 1
    smp_given: bool = False
    tb_freq_hz: int | None = None
    tb_freq_source: str | None = None
    tb_freq_error_hz: int | None = None  # set when measured (tbcheck.qemu.calibrate)
    extra: dict[str, str] = field(default_factory=dict)

    def argv(self) -> list[str]:
        """Binary, machine arguments and the vCPU count; callers add QMP, incoming and disks."""
        smp = [] if self.smp_given else ["-smp", str(self.smp)]
        return [self.binary_path, *self.machine_args, *smp, "-nographic", "-nodefaults"]


def machine_name(args: list[str]) -> str | None:
    """The machine type named by ``-M``/``-machine`` (``type=`` or the first bare word)."""
    for i, arg in enumerate(args):
        if arg in ("-M", "-machine", "--machine") and i + 1 < len(args):
            for part in args[i + 1].split(","):
                if part.startswith("type="):
                    return part[len("type="):]
                if "=" not in part and part:
                    return part
    return None


def parse_machine_args(text: str) -> list[str]:
    """Split the free-text machine arguments and refuse the options the recorder owns."""
    try:
        args = shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot parse --machine {text!r}: {exc}") from None
    for arg in args:
        if arg in _RESERVED or arg.lstrip("-") in {r.lstrip("-") for r in _RESERVED}:
            raise UsageError(f"--machine must not contain {arg}: the recorder sets it")
    return args


def resolve(binary: str, machine_text: str, tb_freq_hz: int | None = None) -> MachineConfig:
    """Find the binary, read its version and settle the vCPU count; UsageError if unusable."""
    path = shutil.which(binary) if "/" not in binary else binary
    if not path or not Path(path).is_file():
        raise UsageError(
            f"QEMU binary {binary!r} not found (install qemu-system-ppc, e.g. .ci/install-qemu)"
        )
    args = parse_machine_args(machine_text)
    try:
        out = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except OSError as exc:
        raise UsageError(f"cannot run {path}: {exc.strerror}") from None
    m = re.search(r"version (\S+)", out)
    name = machine_name(args)
    cfg = MachineConfig(
        binary=binary,
        binary_path=str(path),
        machine_args=args,
        machine_name=name,
        version=m.group(1) if m else out.strip().splitlines()[0] if out.strip() else "unknown",
        smp_given="-smp" in args,
    )
    cfg.extra["version_line"] = out.strip().splitlines()[0] if out.strip() else ""
    if tb_freq_hz is not None:
        cfg.tb_freq_hz, cfg.tb_freq_source = tb_freq_hz, "command line"
    elif name in KNOWN_TB_FREQ_HZ:
        cfg.tb_freq_hz, cfg.tb_freq_source = KNOWN_TB_FREQ_HZ[name], "known machine table (TCG)"
    if cfg.smp_given:
        cfg.smp = _smp_from_args(args)
    else:
        cfg.smp = _probe_smp(cfg)
    return cfg


def _smp_from_args(args: list[str]) -> int:
    spec = args[args.index("-smp") + 1] if args.index("-smp") + 1 < len(args) else "1"
    for part in spec.split(","):
        if part.isdigit():
            return int(part)
        if part.startswith("cpus="):
            return int(part[5:])
    return 1


def _probe_smp(cfg: MachineConfig) -> int:
    """2 vCPUs where the machine allows it (the model wants n >= 2), else 1 (mac99 has one).

    Probed with ``-S`` so nothing runs; also proves the machine arguments start at all.
    """
    base = [cfg.binary_path, *cfg.machine_args, "-nographic", "-nodefaults", "-S"]
    for smp in (2, 1):
        argv = [*base, "-smp", str(smp), "-qmp", "stdio"]
        try:
            proc = subprocess.run(
                argv,
                input='{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n',
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise UsageError(f"{cfg.binary} did not answer a probe within 60 s") from None
        if proc.returncode == 0:
            return smp
        err = proc.stderr.strip().splitlines()
        if smp == 2 and any("CPUs" in line or "cpus" in line for line in err):
            continue
        msg = err[-1] if err else f"exit status {proc.returncode}"
        raise UsageError(f"{cfg.binary} {shlex.join(cfg.machine_args)} does not start: {msg}")
    raise UsageError(f"{cfg.binary} {shlex.join(cfg.machine_args)} does not start")
