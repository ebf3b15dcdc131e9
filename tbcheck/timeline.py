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
    shown = {(i, c.culprit()) for i, c in bad}  # the vCPU that broke a check is always shown
    out: list[dict[str, Any]] = []
    for o in trace.observations:
        if o.cpu != 0 and (o.step, o.cpu) not in shown:
            first = next((r for r in reversed(out) if r["step"] == o.step and r["t_ns"] ==
                          _v(o.t)), None)
            if first is not None and first["tb"] == _v(o.tb):
                continue
        exp = expected_tb(trace, params, o.guest_ns) + int(_v(o.shift))  # and the guest's write
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
    """The timeline as fixed-width text; a step the rule set refused says why."""
    head = f"{'#':>3} {'true time (s)':>18} {'host':>4} {'state':<14} {'vcpu':>4} " \
           f"{'TB seen':>20} {'TB expected':>20} {'seen-expected':>14}  event"
    all_rows = rows(trace, params, prop)
    seen = {r["step"] for r in all_rows}
    for step in range(1, len(trace.events) + 1):  # events the guest saw nothing of: paused
        if step not in seen:
            all_rows.append({"step": step, "quiet": True})
    all_rows.sort(key=lambda r: r["step"])
    lines = [head]
    for k, r in enumerate(all_rows):
        step = r["step"]
        first = k == 0 or all_rows[k - 1]["step"] != step
        last = k + 1 == len(all_rows) or all_rows[k + 1]["step"] != step
        note = trace.notes[step - 1] if last and 1 <= step <= len(trace.notes) else ""
        tail = f"  (refused: {note})" if note else ""
        if r.get("quiet"):
            ev = describe(trace.events[step - 1], _v)
            lines.append(f"{step:>3} {'':>18} {'':>4} {'(no read)':<14} {'':>4} "
                         f"{'':>20} {'':>20} {'':>14}  {ev}{tail}")
            continue
        ev = r["event"] if first else "  ..."
        mark = "  <-- " + (prop or "violated") if r["violated"] else ""
        lines.append(f"{step:>3} {r['t_ns'] / NS:>18.9f} {'h' + str(r['host']):>4} "
                     f"{r['state']:<14} {r['cpu']:>4} {r['tb']:>20} {r['expected']:>20} "
                     f"{r['delta']:>+14}  {ev}{mark}{tail}")
    return "\n".join(lines)


def params_line(params: Params) -> str:
    hosts = ", ".join(f"h{i}: f={_v(h.freq)} Hz counter0={_v(h.counter0)} "
                      f"realtime0={_v(h.skew)} ns monotonic0={_v(h.mono0)} ns"
                      + (f" scaling ({h.frac_bits} fraction bits)" if _v(h.scaling) else "")
                      for i, h in enumerate(params.hosts))
    return f"{hosts}; guest TB at boot {_v(params.tb0)}; f_g={_v(params.f_g)} Hz"


def _at(xs: list[Any], i: int) -> Any:
    return _v(xs[i]) if i < len(xs) else None


def explain(check: Check, params: Params) -> str:
    """One sentence: which property, where, on which vCPU, what it saw against what was due."""
    cpu = check.culprit()
    on = f" on vCPU {cpu}" if cpu is not None else ""
    if not check.seen:  # about no TB: the arithmetic of a hook
        what = ", ".join(check.overflowed) or "an operation"
        return f"{check.prop}: in the {check.what}{on}, {what}."
    seen = [_v(x) for x in check.seen]
    if not check.due:  # nothing due of any one vCPU: they must agree
        less = check.what.removeprefix("vCPUs read at one instant")  # the guest's writes
        return f"{check.prop}: at one instant the vCPUs read {seen}{less}."
    i = cpu or 0
    due, (lo, hi) = _at(check.due, i), check.allowed[i]
    d = seen[i] - due
    f_g = _v(params.f_g)
    secs = d / f_g if f_g else 0.0
    word = "at least " if hi is None else ""
    allowed = "" if hi is None or _v(lo) == _v(hi) else f", allowed {_v(lo)}..{_v(hi)}"
    return (f"{check.prop}: {check.what}: vCPU {i} read {seen[i]} where {word}{due} was due "
            f"({d:+d} ticks, {secs:+.6g} s at f_g = {f_g} Hz{allowed}).")


def check_json(check: Check) -> dict[str, Any]:
    """What a failed check judged, as plain JSON (``fuzz --json``'s ``violation``)."""
    return {"property": check.prop, "what": check.what,
            "t_ns": None if check.t is None else _v(check.t), "vcpu": check.culprit(),
            "seen": [_v(x) for x in check.seen], "due": [_v(x) for x in check.due],
            "allowed": [[_v(lo), None if hi is None else _v(hi)] for lo, hi in check.allowed],
            "overflowed": list(check.overflowed)}
