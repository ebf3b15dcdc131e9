"""``tbcheck run``: one event sequence through the concrete engine, printed as a timeline.

Exit status: 1 when the sequence breaks any property, declared or not; 0 when it breaks none;
2 for bad input. ``run`` judges one sequence, not a rule set: a declaration (``violated from
depth 4``) says that some sequence breaks a property, and ``prove`` and ``fuzz`` hold a rule
set to it; a replayed counterexample must break it, so ``run`` fails on it, as a test
reproducing a known bug fails.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from tbcheck.errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("events", help='e.g. "run(1s) stop run(10s) migrate(1) cont run(1s)"; '
                   '"" for the boot alone')
    p.add_argument("--variant", metavar="NAME", help="a built-in rule set")
    p.add_argument("--variant-file", metavar="PATH", help="your own rule file")
    p.add_argument("--freq", default="512000000,512000000,512000000", metavar="HZ,...",
                   help="each host's TB frequency (the first is the boot host's)")
    p.add_argument("--skew", default=None, metavar="NS,...",
                   help="each host's realtime clock offset against a common late-2025 clock")
    p.add_argument("--realtime0", default=None, metavar="NS,...",
                   help="each host's realtime clock at true time 0 (instead of --skew)")
    p.add_argument("--counter0", default=None, metavar="TICKS,...",
                   help="each host's TB counter at true time 0 (default 10**12 * (h + 1))")
    p.add_argument("--mono0", default=None, metavar="NS,...",
                   help="each host's monotonic clock at true time 0 (default 10**13 * (h + 1))")
    p.add_argument("--scaling", default=None, metavar="0|1,...",
                   help="whether each host's hardware scales a guest's counter (default: none)")
    p.add_argument("--frac-bits", type=int, default=48, choices=(32, 48),
                   help="the scaling ratio's fraction bits: 48 (Intel, default) or 32 (AMD)")
    p.add_argument("--tb0", type=int, default=0, help="the guest's TB at boot")
    p.add_argument("--vcpus", type=int, default=2, help="vCPUs (default 2)")
    p.add_argument("--eps", type=int, default=10**6, metavar="NS",
                   help="clock agreement bound the properties allow for")
    p.add_argument("--slack", type=int, default=2, metavar="TICKS",
                   help="rounding allowed where a frequency conversion rounds (default 2)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="FILE",
                   help="draw the run: the guest's TB minus the expected TB against true time "
                        "(FILE.svg or FILE.png; needs the plot extra, pip install "
                        "'tbcheck[plot]')")
    p.epilog = ("exit status: 1 when the sequence breaks any property, even one the rule set "
                "declares violated (run judges this one sequence); 0 when it breaks none; 2 "
                "for bad input")


def _ints(text: str | None, what: str) -> list[int] | None:
    if text is None:
        return None
    try:
        return [_int(x) for x in text.split(",")]
    except ValueError:
        raise UsageError(f"--{what}: expected comma-separated integers, got {text!r}") from None


def _int(text: str) -> int:
    """An exact integer (a counter near 2**64 must not pass through a float), or 1e9 forms."""
    try:
        return int(text)
    except ValueError:
        return int(float(text))


def _per_host(args: argparse.Namespace, name: str, n: int, lo: int, hi: int
              ) -> list[int] | None:
    """The option ``--name``'s values, one per host, each in ``lo <= x < hi`` (None: not given)."""
    xs = _ints(getattr(args, name.replace("-", "_")), name)
    if xs is None:
        return None
    if len(xs) != n:
        raise UsageError(f"--{name} needs one value per host (as many as --freq: {n})")
    if any(not lo <= x < hi for x in xs):
        raise UsageError(f"--{name}: each value must be in [{lo}, {hi})")
    return xs


def _params(args: argparse.Namespace, freqs: list[int], skews: list[int] | None,
            defaults: Any) -> Any:
    """The world's constants from the options, the defaults where none is given."""
    from tbcheck.model.domain import U64, Bool, Int
    from tbcheck.model.world import HostParams, Params

    n = len(freqs)
    if skews is not None and len(skews) != n:
        raise UsageError("--skew needs one value per host (as many as --freq)")
    if skews is not None and args.realtime0 is not None:
        raise UsageError("give --skew or --realtime0, not both")
    if not 0 <= args.tb0 < 2**64:
        raise UsageError("--tb0 must fit in 64 bits")
    if not 1 <= args.vcpus <= 8 or not 0 <= args.slack < 2**32 or not 0 <= args.eps < 2**40:
        raise UsageError("--vcpus: between 1 and 8; --slack: below 2**32; --eps: below 2**40")
    counters = _per_host(args, "counter0", n, 0, 2**64)
    base = defaults(freqs, skews, counters, tb0=args.tb0, ncpus=args.vcpus)
    realtime = _per_host(args, "realtime0", n, -2**63, 2**63)
    mono = _per_host(args, "mono0", n, -2**63, 2**63)
    scaling = _per_host(args, "scaling", n, 0, 2) or [0] * n
    hosts = [HostParams(h.freq, h.counter0, Int(realtime[i]) if realtime else h.skew,
                        Int(mono[i]) if mono else h.mono0, Bool(bool(scaling[i])),
                        args.frac_bits)
             for i, h in enumerate(base.hosts)]
    return Params(hosts, U64(args.tb0), args.vcpus)



def run(args: argparse.Namespace) -> int:
    from tbcheck.model.codec import events_json
    from tbcheck.timeline import explain, params_line, render, rows

    if args.plot:
        from tbcheck.plot import check_target

        check_target(args.plot)
    rules, params, trace, tol = _trace(args)
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
    if args.plot:
        from tbcheck.plot import plot_trace

        plot_trace(args.plot, rules, params, trace, tol)
    return 1 if bad else 0


def replay(command: str) -> tuple[Any, Any, Any, Any]:
    """What a ``tbcheck run ...`` line (a counterexample's ``replay:``) plays: the rule set,
    the world's constants, the trace and the tolerances."""
    import shlex

    words = shlex.split(command)
    p = argparse.ArgumentParser(prog="tbcheck run")
    add_arguments(p)
    return _trace(p.parse_args(words[2:]))


def _trace(args: argparse.Namespace) -> tuple[Any, Any, Any, Any]:
    from tbcheck.defaults import concrete_params, tolerances_for
    from tbcheck.eventspec import parse
    from tbcheck.loader import load_builtin, load_rules_file
    from tbcheck.proofs.concrete import NotEnabled
    from tbcheck.proofs.concrete import run as run_events

    if bool(args.variant) == bool(args.variant_file):
        raise UsageError("give exactly one of --variant NAME or --variant-file PATH")
    rules = load_builtin(args.variant) if args.variant else load_rules_file(args.variant_file)
    freqs = _ints(args.freq, "freq") or []
    skews = _ints(args.skew, "skew")
    if len(freqs) < 1 or any(not 1 <= f < 2**63 for f in freqs):
        raise UsageError("--freq: frequencies must be between 1 Hz and 2**63 Hz")
    params = _params(args, freqs, skews, concrete_params)
    events = parse(args.events) if args.events.strip() else []  # "": the boot alone
    for ev in events:
        if getattr(ev, "dst", 0) >= len(freqs):
            raise UsageError(f"migrate to host {ev.dst}: there are {len(freqs)} hosts")
    tol = tolerances_for(rules, params, args.eps, args.slack)
    try:
        trace = run_events(rules, params, events, tol)
    except NotEnabled as exc:
        raise UsageError(str(exc)) from None
    return rules, params, trace, tol
