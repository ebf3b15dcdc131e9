"""Parse an event sequence written on the command line, e.g.
``run(1s) stop run(10s) migrate(1, save=100ms, transfer=1s, resume=10ms) cont``; a running
guest's migration into a destination started paused is ``migrate(1, paused)``."""

from __future__ import annotations

import re
from dataclasses import fields
from typing import Any

from tbcheck.errors import UsageError
from tbcheck.model.codec import event_from_json
from tbcheck.model.domain import Int, Num, value
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

UNITS = {"ns": 1, "us": 10**3, "ms": 10**6, "s": 10**9, "min": 60 * 10**9, "h": 3600 * 10**9,
         "d": 86400 * 10**9}
_TOKEN = re.compile(r"\s*([a-z][a-z-]*)(\([^)]*\))?\s*")
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ns|us|ms|s|min|h|d)?$")


def duration(text: str) -> Int:
    m = _DURATION.match(text.strip())
    if not m:
        raise UsageError(f"bad duration {text!r} (write e.g. 10s, 250ms, 1500ns)")
    number, unit = m.group(1), m.group(2) or "ns"
    ns = round(float(number) * UNITS[unit]) if "." in number else int(number) * UNITS[unit]
    return Int(ns)


def parse(text: str) -> list[Event]:
    events: list[Event] = []
    pos = 0
    text = text.replace(";", " ")
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise UsageError(f"cannot read the events from {text[pos:pos + 20]!r}")
        pos = m.end()
        name, argtext = m.group(1), (m.group(2) or "()")[1:-1]
        args = [a.strip() for a in argtext.split(",") if a.strip()]
        pos_args = [a for a in args if "=" not in a]
        kw = dict(a.split("=", 1) for a in args if "=" in a)
        events.append(_event(name, pos_args, {k.strip(): v.strip() for k, v in kw.items()}))
    if not events:
        raise UsageError("no events given")
    return events


def _event(name: str, args: list[str], kw: dict[str, str]) -> Event:
    def d(key: str, index: int, default: str = "0") -> Int:
        if key in kw:
            return duration(kw.pop(key))
        return duration(args[index]) if len(args) > index else duration(default)

    try:
        if name == "run":
            ev: Event = Run(d("d", 0, "missing"))
        elif name == "stop":
            ev = Stop()
        elif name == "cont":
            ev = Cont()
        elif name == "read":
            ev = Read(int(args[0]) if args else 0)
        elif name == "migrate":
            if not args:
                raise UsageError("migrate needs a destination host: migrate(1)")
            paused = "paused" in args[1:]  # into a destination started paused (-S)
            args = [args[0], *(a for a in args[1:] if a != "paused")]
            ev = Migrate(int(args[0]), d("save", 1), d("transfer", 2), d("resume", 3), paused)
        elif name == "migrate-fail":
            ev = MigrateFail(d("save", 0), d("cancel", 1))
        elif name == "write":  # the guest writes a vCPU's TB: write(I, TB), TB in ticks
            if not args:
                raise UsageError("write needs a vCPU and a TB: write(0, 123456)")
            tb = kw.pop("tb", None) or (args[1] if len(args) > 1 else None)
            if tb is None:
                raise UsageError("write needs the TB it writes: write(0, 123456)")
            ev = Write(int(args[0]), Int(int(tb)))
        elif name == "savevm":
            ev = SaveVM(args[0] if args else "s1", d("ram", 1))
        elif name == "loadvm":
            ev = LoadVM(args[0] if args else "s1", d("load", 1))
        else:
            raise UsageError(f"unknown event {name!r} (run, stop, cont, read, write, migrate, "
                             "migrate-fail, savevm, loadvm)")
    except ValueError as exc:
        raise UsageError(f"bad argument to {name}: {exc}") from None
    if kw:
        raise UsageError(f"{name}: unknown parameter(s) {', '.join(kw)}")
    return ev


def unparse(events: list[Any]) -> str:
    """The events as ``parse`` reads them (durations in ns): ``parse(unparse(evs)) == evs``.
    An event is an ``Event`` or its JSON form (``tbcheck.model.codec``)."""
    return " ".join(_unparse_one(ev if not isinstance(ev, dict) else event_from_json(ev))
                    for ev in events)


def _unparse_one(ev: Event) -> str:
    fs = [(f.name, value(x) if isinstance(x, Num) else x, isinstance(x, Num))
          for f in fields(ev) for x in [getattr(ev, f.name)]  # type: ignore[arg-type]
          if not isinstance(x, bool)]
    flags = [f.name for f in fields(ev) if getattr(ev, f.name) is True]  # type: ignore[arg-type]
    if not fs:
        return ev.kind
    if len(fs) == 1:
        return f"{ev.kind}({fs[0][1]})"
    args = [str(x) for _, x, num in fs if not num] + flags
    args += [f"{name.removeprefix('p_')}={x}" for name, x, num in fs if num]
    return f"{ev.kind}({', '.join(args)})"


def run_command(params: dict[str, Any], events: list[Any], variant: str | None = None,
                variant_file: str | None = None, eps_ns: int = 10**6, slack: int = 2) -> str:
    """The ``tbcheck run`` command line (shell-quoted) that replays ``events`` from ``params``
    (both in their JSON form, ``tbcheck.verdicts.params_json``) on the concrete engine, with
    the tolerances the verdict used."""
    import shlex

    def ints(key: str) -> str:
        return ",".join(str(h[key]) for h in params["hosts"])

    cmd = ["tbcheck", "run"]
    cmd += ["--variant", variant] if variant else ["--variant-file", str(variant_file)]
    cmd += ["--freq", ints("freq_hz"), "--counter0", ints("counter0"),
            "--realtime0", ints("realtime0_ns"), "--mono0", ints("monotonic0_ns")]
    hosts = params["hosts"]
    if any(h.get("scaling") for h in hosts):  # as the hosts had it (absent: none scales)
        cmd += ["--scaling", ",".join(str(int(bool(h.get("scaling")))) for h in hosts),
                "--frac-bits", str(hosts[0].get("frac_bits", 48))]
    cmd += ["--tb0", str(params["tb0"]), "--vcpus", str(params["ncpus"]),
            "--eps", str(eps_ns), "--slack", str(slack), unparse(events)]
    return shlex.join(cmd)
