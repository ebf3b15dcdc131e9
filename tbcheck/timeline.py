"""A counterexample for people: the event sequence as a timeline, and one sentence on what broke.

Shared by ``prove`` (the solver's counterexample after its concrete replay), ``fuzz`` (the shrunk
sequence) and ``run``: all three hold a concrete ``Trace`` of the one model.
"""

from __future__ import annotations

from typing import Any

from tbcheck.model.domain import Num, value
from tbcheck.model.events import Event, describe
from tbcheck.model.world import Params
from tbcheck.proofs.concrete import Trace
from tbcheck.properties.monitor import Check
from tbcheck.properties.predicates import ticks

NS = 10**9


def _v(x: Any) -> Any:
    return value(x) if isinstance(x, Num) else x


def expected_tb(trace: Trace, params: Params, guest_ns: Num) -> int:
    """The default policy's TB: the boot read plus the ideal guest time times f_g."""
    boot = next((o for o in trace.observations if o.event == "boot"), None)
    base = _v(boot.tb) if boot is not None else _v(params.tb0)
    return base + int(_v(ticks(guest_ns, params.f_g)))


def rows(trace: Trace, params: Params, prop: str | None = None) -> list[dict[str, Any]]:
    """One row a read (vCPU 0, and any vCPU that disagrees), marking the violated checks."""
    bad = trace.violations(prop)
    shown = {(i, culprit(c)) for i, c in bad}  # the vCPU that broke a check is always shown
    out: list[dict[str, Any]] = []
    for o in trace.observations:
        if o.cpu != 0 and (o.step, o.cpu) not in shown:
            first = next((r for r in reversed(out) if r["step"] == o.step and r["t_ns"] ==
                          _v(o.t)), None)
            if first is not None and first["tb"] == _v(o.tb):
                continue
        exp = expected_tb(trace, params, o.guest_ns)
        out.append({"step": o.step, "event": _event_name(trace.events, o.step, o.event),
                    "t_ns": _v(o.t), "host": o.host, "state": o.state, "cpu": o.cpu,
                    "tb": _v(o.tb), "expected": exp, "delta": _v(o.tb) - exp,
                    "violated": (o.step, o.cpu) in shown or (o.step, None) in shown})
    return out


def _event_name(events: list[Event], step: int, fallback: str) -> str:
    if 1 <= step <= len(events):
        return describe(events[step - 1], _v)
    return fallback


def render(trace: Trace, params: Params, prop: str | None = None) -> str:
    """The timeline as fixed-width text."""
    head = f"{'#':>3} {'true time (s)':>18} {'host':>4} {'state':<14} {'vcpu':>4} " \
           f"{'TB seen':>20} {'TB expected':>20} {'seen-expected':>14}  event"
    lines = [head]
    last_step = None
    all_rows = rows(trace, params, prop)
    seen = {r["step"] for r in all_rows}
    for step in range(1, len(trace.events) + 1):  # events the guest saw nothing of: paused
        if step not in seen:
            all_rows.append({"step": step, "quiet": True})
    all_rows.sort(key=lambda r: r["step"])
    for r in all_rows:
        if r.get("quiet"):
            ev = describe(trace.events[r["step"] - 1], _v)
            lines.append(f"{r['step']:>3} {'':>18} {'':>4} {'(no read)':<14} {'':>4} "
                         f"{'':>20} {'':>20} {'':>14}  {ev}")
            last_step = r["step"]
            continue
        ev = r["event"] if r["step"] != last_step else "  ..."
        last_step = r["step"]
        mark = "  <-- " + (prop or "violated") if r["violated"] else ""
        lines.append(f"{r['step']:>3} {r['t_ns'] / NS:>18.9f} {'h' + str(r['host']):>4} "
                     f"{r['state']:<14} {r['cpu']:>4} {r['tb']:>20} {r['expected']:>20} "
                     f"{r['delta']:>+14}  {ev}{mark}")
    return "\n".join(lines)


def params_line(params: Params) -> str:
    hosts = ", ".join(f"h{i}: f={_v(h.freq)} Hz counter0={_v(h.counter0)} "
                      f"realtime0={_v(h.skew)} ns monotonic0={_v(h.mono0)} ns"
                      for i, h in enumerate(params.hosts))
    return f"{hosts}; guest TB at boot {_v(params.tb0)}; f_g={_v(params.f_g)} Hz"


def _per_cpu(vals: dict[str, Any], key: str) -> list[Any] | None:
    """A value of every vCPU: a list under ``key``, or keys ``key[0]``, ``key[1]`` ... (a
    value for vCPU 0 alone, under ``key``, is a list of one)."""
    x = vals.get(key)
    if isinstance(x, list):
        return x
    indexed = [vals[f"{key}[{i}]"] for i in range(len(vals)) if f"{key}[{i}]" in vals]
    if indexed:
        return indexed
    return None if x is None else [x]


def _first(vals: dict[str, Any], keys: tuple[str, ...]) -> list[Any] | None:
    return next((xs for k in keys if (xs := _per_cpu(vals, k)) is not None), None)


SEEN_KEYS = ("tb_resume", "tb_b", "now")
DUE_KEYS = ("expected", "expected_b", "before")


def culprit(check: Check) -> int | None:
    """The vCPU whose values broke ``check``: the one the check names (``cpu``), for monotonic
    the first whose read went back, otherwise the one furthest from what was due (None when
    the check is not about one vCPU's TB)."""
    vals = {k: _plain(x) for k, x in check.values.items()}
    if isinstance(vals.get("cpu"), int):
        return int(vals["cpu"])
    if check.prop == "vcpus-agree":
        return None
    seen, due = _first(vals, SEEN_KEYS), _first(vals, DUE_KEYS)
    if not seen or not due or len(seen) != len(due):
        return None
    if check.prop == "monotonic":
        return next((i for i, (a, b) in enumerate(zip(due, seen, strict=True)) if b < a), 0)
    devs = [abs(b - a) for a, b in zip(due, seen, strict=True)]
    return devs.index(max(devs))


def _plain(x: Any) -> Any:
    return [_v(y) for y in x] if isinstance(x, list) else _v(x)


def explain(check: Check, params: Params) -> str:
    """One sentence: which property, where, on which vCPU, what it saw against what was due."""
    vals = {k: _plain(x) for k, x in check.values.items()}
    f_g = _v(params.f_g)
    cpu = culprit(check)
    on = f" on vCPU {cpu}" if cpu is not None else ""
    if check.prop == "no-overflow":
        what = ", ".join(vals.get("overflowed", [])) or "an operation"
        return f"no-overflow: in the {check.what}{on}, {what}."
    if check.prop == "vcpus-agree":
        tbs = [v for k, v in vals.items() if k.startswith("tb[")]
        return f"vcpus-agree: at one instant the vCPUs read {tbs}."
    seen_all, due_all = _first(vals, SEEN_KEYS), _first(vals, DUE_KEYS)
    i = cpu or 0
    seen = seen_all[i] if seen_all and i < len(seen_all) else None
    due = due_all[i] if due_all and i < len(due_all) else None
    if isinstance(seen, int) and isinstance(due, int):
        d = seen - due
        secs = d / f_g if f_g else 0.0
        word = "at least " if check.prop == "monotonic" else ""
        return (f"{check.prop}: {check.what}: vCPU {i} read {seen} where {word}{due} was due "
                f"({d:+d} ticks, {secs:+.6g} s at f_g = {f_g} Hz).")
    return f"{check.prop}: {check.what}: {vals}"


def events_json(events: list[Event]) -> list[dict[str, Any]]:
    out = []
    for ev in events:
        d: dict[str, Any] = {"event": ev.kind}
        for k, x in vars(ev).items():
            d[k] = _v(x)
        out.append(d)
    return out
