"""``tbcheck run``: one event sequence through the concrete engine, printed as a timeline."""

from __future__ import annotations

import argparse
import json

from tbcheck.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("events", help='e.g. "run(1s) stop run(10s) migrate(1) cont run(1s)"')
    p.add_argument("--variant", metavar="NAME", help="a built-in rule set")
    p.add_argument("--variant-file", metavar="PATH", help="your own rule file")
    p.add_argument("--freq", default="512000000,512000000,512000000", metavar="HZ,...",
                   help="each host's TB frequency (the first is the boot host's)")
    p.add_argument("--skew", default=None, metavar="NS,...",
                   help="each host's realtime clock offset against true time")
    p.add_argument("--tb0", type=int, default=0, help="the guest's TB at boot")
    p.add_argument("--eps", type=int, default=10**6, metavar="NS",
                   help="clock agreement bound the properties allow for")
    p.add_argument("--json", action="store_true", help="print JSON")


def _ints(text: str | None, what: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [int(float(x)) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"--{what}: expected comma-separated integers, got {text!r}") from None


def run(args: argparse.Namespace) -> int:
    from model.concrete import NotEnabled
    from model.concrete import run as run_events
    from tbcheck.defaults import concrete_params, tolerances_for
    from tbcheck.eventspec import parse
    from tbcheck.loader import load_builtin, load_rules_file
    from tbcheck.timeline import events_json, explain, params_line, render, rows

    if bool(args.variant) == bool(args.variant_file):
        raise UsageError("give exactly one of --variant NAME or --variant-file PATH")
    rules = load_builtin(args.variant) if args.variant else load_rules_file(args.variant_file)
    freqs = _ints(args.freq, "freq") or []
    skews = _ints(args.skew, "skew")
    if len(freqs) < 1 or any(not 1 <= f < 2**63 for f in freqs):
        raise UsageError("--freq: frequencies must be between 1 Hz and 2**63 Hz")
    if skews is not None and len(skews) != len(freqs):
        raise UsageError("--skew needs one value per host (as many as --freq)")
    if not 0 <= args.tb0 < 2**64:
        raise UsageError("--tb0 must fit in 64 bits")
    params = concrete_params(freqs, skews, tb0=args.tb0)
    events = parse(args.events)
    for ev in events:
        if getattr(ev, "dst", 0) >= len(freqs):
            raise UsageError(f"migrate to host {ev.dst}: there are {len(freqs)} hosts")
    try:
        trace = run_events(rules, params, events, tolerances_for(rules, params, args.eps))
    except NotEnabled as exc:
        raise UsageError(str(exc)) from None
    bad = trace.violations()
    if args.json:
        print(json.dumps({"variant": rules.name, "events": events_json(trace.events),
                          "observations": rows(trace, params),
                          "violations": [{"step": i, "property": c.prop,
                                          "explanation": explain(c, params)} for i, c in bad]},
                         indent=2))
    else:
        print(f"{rules.name}: {params_line(params)}")
        print(render(trace, params))
        for i, c in bad:
            print(f"step {i}: {explain(c, params)}")
        if not bad:
            print("no property violated on this sequence")
    return 1 if bad else 0
