"""A counterexample as people and programs read it: a timeline, JSON, a runnable reproduction.

The timeline is recomputed by stepping the world again (the concrete engine's way), and
``confirm`` replays the events through ``model.concrete.run`` itself: a violation the fuzzer
reports that the concrete engine does not reproduce would be a bug of the tool, and is said so.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import Int, Num, value
from tbcheck.model.events import EVENT_TYPES, Event, describe
from tbcheck.model.world import Observation, World
from tbcheck.proofs.concrete import run as concrete_run
from tbcheck.proofs.draws import ParamDraw
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.properties.monitor import Monitor


@dataclass
class Row:
    """One line of the timeline: an instant the guest read its TB, or an event without reads."""

    step: int
    event: str
    t: int
    host: int
    state: str
    tbs: list[int] | None  # one per vCPU, None where the guest did not read
    expected: int | None  # the default policy's ideal TB at that instant
    note: str = ""


def event_to_json(ev: Event) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": ev.kind}
    for f in fields(ev):  # type: ignore[arg-type]
        x = getattr(ev, f.name)
        out[f.name] = int(value(x)) if isinstance(x, Num) else x
    return out


def event_from_json(d: dict[str, Any]) -> Event:
    cls = EVENT_TYPES[d["kind"]]
    args = {}
    for f in fields(cls):
        x = d[f.name]
        args[f.name] = x if f.name in ("dst", "cpu", "name") else Int(int(x))
    return cls(**args)  # type: ignore[no-any-return]


def _ideal(anchor: int, guest_ns: Num, f_g: int) -> int:
    return anchor + int(value(guest_ns)) * f_g // 10**9


def timeline(rules: type[RuleSet], env: Envelope, draw: ParamDraw,
             events: list[Event]) -> list[Row]:
    """Every instant of the run: true time, host, run state, the event, the TB seen and the TB
    the default policy says the guest should have seen (boot TB + ideal guest time * f_g)."""
    world = World(rules, draw.params(), Monitor(tolerances(rules, env, draw.params())))
    path = world.boot()
    f_g = draw.hosts[0].freq
    anchor = int(value(path.observations[0].tb))
    rows = _reads(path.observations, "boot", anchor, f_g)
    for ev in events:
        n = len(path.observations)
        path.note = ""
        (path,) = [p for p in world.step(path, ev) if value(p.cond)]
        what = describe(ev, value)
        new = _reads(path.observations[n:], what, anchor, f_g)
        if not new:
            ws = path.ws
            new = [Row(path.step, what, int(value(ws.t)), ws.vm.host, ws.vm.state, None, None)]
        if path.note:
            new[-1].note = f"refused: {path.note}"
        rows += new
    return rows


def _reads(obs: list[Observation], what: str, anchor: int, f_g: int) -> list[Row]:
    """Group the reads of one instant (all vCPUs, cpu 0 first) into one row."""
    rows: list[Row] = []
    for o in obs:
        if o.cpu == 0 or not rows:
            label = what if not rows else f"  ... {o.event}: a later read"
            rows.append(Row(o.step, label, int(value(o.t)), o.host, o.state, [],
                            _ideal(anchor, o.guest_ns, f_g)))
        assert rows[-1].tbs is not None
        rows[-1].tbs.append(int(value(o.tb)))
    return rows


def observations_json(rows: list[Row]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        if r.tbs is None:
            continue
        for cpu, tb in enumerate(r.tbs):
            out.append({"step": r.step, "event": r.event, "t": r.t, "host": r.host,
                        "state": r.state, "cpu": cpu, "tb": tb, "expected": r.expected})
    return out


def render(rows: list[Row], violated_step: int) -> list[str]:
    """The timeline as text; the rows of the violating event are marked."""
    head = ("#", "true time (s)", "host", "state", "event", "TB seen", "TB expected",
            "seen-expected")
    body = []
    for r in rows:
        if r.tbs is None:
            seen = exp = diff = "-"
        else:
            seen = str(r.tbs[0]) if len(set(r.tbs)) == 1 else " / ".join(map(str, r.tbs))
            exp = str(r.expected)
            diff = f"{r.tbs[0] - (r.expected or 0):+d}"
        last = r is rows[-1] or rows[rows.index(r) + 1].step != r.step
        mark = "  <-- violated" if r.step == violated_step and last else ""
        note = f"  ({r.note})" if r.note else ""
        body.append((str(r.step), f"{r.t / 1e9:.9f}", f"h{r.host}", r.state, r.event, seen,
                     exp, diff + mark + note))
    widths = [max(len(row[i]) for row in [head, *body]) for i in range(len(head) - 1)]
    out = []
    for row in [head, *body]:
        cells = [c.rjust(w) if i in (0, 1, 5, 6) else c.ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=False))]
        out.append("  ".join([*cells, row[-1]]).rstrip())
    return out


def confirm(rules: type[RuleSet], env: Envelope, draw: ParamDraw, events: list[Event],
            prop: str) -> bool:
    """Whether the concrete engine, run on its own, shows the violation too."""
    params = draw.params()
    trace = concrete_run(rules, params, events, tolerances(rules, env, params), strict=True)
    return bool(trace.violations(prop))


def _event_src(ev: Event) -> str:
    args = []
    for f in fields(ev):  # type: ignore[arg-type]
        x = getattr(ev, f.name)
        args.append(f"Int({int(value(x))})" if isinstance(x, Num) else repr(x))
    return f"{type(ev).__name__}({', '.join(args)})"


def reproduction(rules_ref: str, env: Envelope, draw: ParamDraw, events: list[Event],
                 prop: str) -> str:
    """A self-contained Python script replaying the counterexample on the concrete engine.

    ``rules_ref`` is a built-in name, or ``file:PATH`` for a rule file."""
    if rules_ref.startswith("file:"):
        get = (f"from tbcheck.loader import load_rules_file\n"
               f"rules = load_rules_file({rules_ref[5:]!r})")
    else:
        get = f"from tbcheck.model.registry import builtin\nrules = builtin({rules_ref!r})"
    kinds = sorted({type(e).__name__ for e in events})
    hosts = ",\n".join(
        f"    HostParams(freq=Int({h.freq}), counter0=U64({h.counter0}), "
        f"skew=Int({draw.realtime0 + h.e_skew}), mono0=Int({h.mono0}))" for h in draw.hosts)
    evs = ",\n".join(f"    {_event_src(e)}" for e in events)
    return "\n".join([
        "from tbcheck.proofs.concrete import run",
        "from tbcheck.model.domain import Int, U64",
        f"from tbcheck.model.events import {', '.join(kinds)}" if kinds else "",
        "from tbcheck.model.world import HostParams, Params",
        "from tbcheck.properties.monitor import Tolerances",
        get,
        f"params = Params(hosts=[\n{hosts},\n], tb0=U64({draw.tb0}), ncpus={draw.ncpus})",
        f"events = [\n{evs},\n]",
        f"tol = Tolerances(params.f_g, eps_ns={env.eps_ns}, slack={env.slack_ticks}, "
        "granularity=rules.offset_granularity)",
        "trace = run(rules, params, events, tol)",
        f"for step, check in trace.violations({prop!r}):",
        "    print(f'event {step}: {check.prop} violated: {check.what} {check.values}')",
    ]).replace("\n\n", "\n")
