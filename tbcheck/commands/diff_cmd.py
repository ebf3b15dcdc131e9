"""``tbcheck diff A B``: are two rule sets guest-visibly equal (the same reads for every event
sequence) over the envelope to a depth?

Exit status 0 when proved equal, 1 when a distinguishing sequence was found (the shortest one,
replayed on both rule sets and shown side by side), 2 for bad input, 3 when the solver could
not decide within its budget (no difference found either) or the engines disagree.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from tbcheck.errors import UsageError

NS = 10**9
EXIT = {"equal": 0, "different": 1, "unknown": 3, "tool-error": 3}


def add_arguments(p: argparse.ArgumentParser) -> None:
    from tbcheck.commands.prove_cmd import add_envelope_arguments, units
    from tbcheck.proofs.equivalence import EXCLUSIONS, UNITS

    p.add_argument("a", metavar="A", help="a built-in rule set's name, or a rule file")
    p.add_argument("b", metavar="B", help="the other, likewise")
    p.add_argument("--depth", type=int, default=8, help="events per sequence (default 8)")
    p.add_argument("--rlimit", type=units, default=UNITS, metavar="UNITS",
                   help="z3 resource units the whole comparison may spend (suffixes k, M, G; "
                        f"default {UNITS // 10**6}M)")
    p.add_argument("--excluding", choices=sorted(EXCLUSIONS), metavar="CLASS",
                   help="leave a class of sequences out of the comparison: "
                        + "; ".join(f"{k}: {v[1]}" for k, v in EXCLUSIONS.items()))
    p.add_argument("--json", nargs="?", const="-", metavar="FILE",
                   help="print JSON instead of text (or, with FILE, also write it there)")
    add_envelope_arguments(p)


def load(ref: str) -> Any:
    """A built-in rule set by name, or a user's rule file (checked as ``prove`` checks it)."""
    from tbcheck.loader import load_builtin, load_rules_file
    from tbcheck.model.registry import BUILTIN_MODULES

    if ref in BUILTIN_MODULES:
        return load_builtin(ref)
    if Path(ref).is_file() or ref.endswith(".py"):
        return load_rules_file(ref)
    raise UsageError(f"{ref!r} is neither a built-in rule set (`tbcheck list` shows them) nor "
                     "a rule file")


def run(args: argparse.Namespace) -> int:
    from tbcheck.commands.prove_cmd import envelope_of
    from tbcheck.proofs.equivalence import compare

    env = envelope_of(args)
    if args.json not in (None, "-"):
        folder = Path(args.json).resolve().parent
        if not folder.is_dir():
            raise UsageError(f"--json {args.json}: no folder {folder}")
    a, b = load(args.a), load(args.b)
    c = compare(a, b, env, args.rlimit, args.excluding)
    doc = record(c, env, args.a, args.b)
    if args.json == "-":
        print(json.dumps(doc, indent=2))
    else:
        print(render(c, doc, env))
        if args.json:
            Path(args.json).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    return EXIT[c.verdict]


def _cmd(params: dict[str, Any], events: list[Any], ref: str, env: Any) -> str:
    from tbcheck.eventspec import run_command
    from tbcheck.model.registry import BUILTIN_MODULES

    builtin = ref in BUILTIN_MODULES
    return run_command(params, events, variant=ref if builtin else None,
                       variant_file=None if builtin else ref, eps_ns=env.eps_ns,
                       slack=env.slack_ticks)


def record(c: Any, env: Any, ref_a: str, ref_b: str) -> dict[str, Any]:
    """The comparison as JSON-ready data."""
    from tbcheck.model.codec import events_json
    from tbcheck.verdicts import params_json

    doc: dict[str, Any] = {"a": c.a, "b": c.b, "verdict": c.verdict, "asked_depth": c.asked,
                           "equal_to_depth": c.depth, "envelope": env.describe(),
                           "excluding": c.excluded, "seconds": round(c.seconds, 3),
                           "resources": c.resources, "queries": c.queries, "reason": c.reason,
                           "difference": None}
    d = c.difference
    if d is None:
        return doc
    params, events = params_json(d.params), events_json(d.events)
    doc["difference"] = {"depth": d.step, "shortest": c.shortest, "params": params,
                         "events": events, "reads": side_by_side(d),
                         "first": _first(d),
                         "commands": {"a": _cmd(params, events, ref_a, env),
                                      "b": _cmd(params, events, ref_b, env)}}
    return doc


def _v(x: Any) -> Any:
    from tbcheck.model.domain import Num, value

    return value(x) if isinstance(x, Num) else x


def side_by_side(d: Any) -> list[dict[str, Any]]:
    """Both rule sets' reads, aligned (the same world, so the same instants)."""
    from tbcheck.model.events import describe

    rows = []
    oa, ob = d.a.observations, d.b.observations
    for i in range(max(len(oa), len(ob))):
        x = oa[i] if i < len(oa) else None
        y = ob[i] if i < len(ob) else None
        o = x or y
        ev = describe(d.a.events[o.step - 1], _v) if o.step else "boot"
        ta, tb = (_v(x.tb) if x else None), (_v(y.tb) if y else None)
        rows.append({"step": o.step, "event": ev, "t_ns": _v(o.t), "host": o.host,
                     "state": o.state, "cpu": o.cpu, "a": ta, "b": tb,
                     "delta": tb - ta if ta is not None and tb is not None else None,
                     "first": i == d.first})
    return rows


def _first(d: Any) -> dict[str, Any] | None:
    rows = side_by_side(d)
    return next((r for r in rows if r["first"]), None)


def render(c: Any, doc: dict[str, Any], env: Any) -> str:
    from tbcheck.model.events import describe
    from tbcheck.timeline import params_line

    lines = [f"envelope: {', '.join(env.describe()['assumptions'])}; depth {env.depth} asked; "
             f"{env.nhosts} hosts; {env.ncpus} vCPUs"]
    if c.excluded:
        from tbcheck.proofs.equivalence import EXCLUSIONS

        lines.append(f"excluding the sequences in which {EXCLUSIONS[c.excluded][1]}")
    cost = (f"({c.seconds:.1f} s, {c.resources:,} resource units, {c.queries} question(s) "
            "to the solver)")
    if c.verdict == "equal":
        lines.append(f"{c.a} and {c.b} are guest-visibly equal to depth {c.depth}: the same "
                     f"reads for every event sequence in the envelope {cost}")
        return "\n".join(lines)
    if c.verdict == "unknown":
        lines.append(f"{c.a} vs {c.b}: unknown: {c.reason} {cost}")
        return "\n".join(lines)
    d, diff = c.difference, doc["difference"]
    short = ("they read differently at boot" if d.step == 0 else
             "the shortest: equal to depth " + str(c.depth) if c.shortest else
             "not known to be the shortest: a shorter depth was undecided")
    word = "differ" if c.verdict == "different" else "TOOL ERROR"
    lines.append(f"{c.a} and {c.b} {word} at depth {d.step} ({short}) {cost}")
    if c.reason:
        lines.append(c.reason)
    lines.append(params_line(d.params))
    wa, wb = max(len(c.a), 20), max(len(c.b), 20)
    lines.append(f"{'#':>3} {'true time (s)':>18} {'host':>4} {'state':<9} {'vcpu':>4} "
                 f"{c.a:>{wa}} {c.b:>{wb}} {'B-A':>14}  event")
    last, pair = None, None
    rows = list(diff["reads"])  # the JSON keeps the reads alone
    shown_steps = {r["step"] for r in rows}
    for k in range(1, len(d.a.events) + 1):  # steps the guest saw nothing of: paused
        if k not in shown_steps:
            rows.append({"step": k, "quiet": True})
    rows.sort(key=lambda r: r["step"])
    for r in rows:
        if r.get("quiet"):
            lines.append(f"{r['step']:>3} {'':>18} {'':>4} {'(no read)':<9} {'':>4} "
                         f"{'':>{wa}} {'':>{wb}} {'':>14}  "
                         f"{describe(d.a.events[r['step'] - 1], _v)}")
            continue
        if r["cpu"] == 0:
            pair = (r["a"], r["b"])
        elif (r["a"], r["b"]) == pair and not r["first"]:
            continue  # another vCPU reading what vCPU 0 read
        ev = r["event"] if r["step"] != last else "  ..."
        last = r["step"]
        a = "" if r["a"] is None else str(r["a"])
        b = "" if r["b"] is None else str(r["b"])
        delta = "" if r["delta"] is None else f"{r['delta']:+d}"
        mark = "  <-- first difference" if r["first"] else ""
        lines.append(f"{r['step']:>3} {r['t_ns'] / NS:>18.9f} {'h' + str(r['host']):>4} "
                     f"{r['state']:<9} {r['cpu']:>4} {a:>{wa}} {b:>{wb}} {delta:>14}  "
                     f"{ev}{mark}")
    f = diff["first"]
    if f is not None and f["delta"] is not None:
        f_g = diff["params"]["hosts"][0]["freq_hz"]
        lines.append(f"first difference: step {f['step']}, {f['event']}, vCPU {f['cpu']}: "
                     f"{c.a} reads {f['a']}, {c.b} reads {f['b']} ({f['delta']:+d} ticks, "
                     f"{f['delta'] / f_g:+.6g} s at f_g = {f_g} Hz)")
    elif f is not None:
        lines.append(f"first difference: step {f['step']}: one rule set reads where the "
                     "other does not")
    lines.append("replay each:")
    lines.append("  " + diff["commands"]["a"])
    lines.append("  " + diff["commands"]["b"])
    return "\n".join(lines)


