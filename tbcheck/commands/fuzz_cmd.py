"""``tbcheck fuzz``: search for violations with Hypothesis state machines over the one model.

Per rule set and property: ``violated`` with the shrunk event sequence as a timeline and a
runnable reproduction, or ``not found in N examples``. Fuzzing never proves anything: a property
not found violated is only that. Exit status as ``prove``: 0 when every finding matches what the
rule set declares (``expected``: a violation as deep as the declaration allows one; with no
declaration any violation fails), 1 otherwise, 2 for
bad input.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

from tbcheck.errors import UsageError

PROFILES = ("ci", "dev")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--variant", action="append", default=[], metavar="NAME",
                        help="built-in rule set, repeatable (default: all built-ins)")
    parser.add_argument("--variant-file", action="append", default=[], metavar="PATH",
                        help="rule file defining one RuleSet subclass, repeatable")
    parser.add_argument("--property", action="append", default=[], metavar="NAME",
                        dest="properties", help="property to fuzz, repeatable (default: all)")
    parser.add_argument("--examples", type=int, default=None, metavar="N",
                        help="examples per rule set and property (default: the profile's)")
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help="random seed; same seed, same result (default: drawn, and printed)")
    parser.add_argument("--profile", choices=PROFILES, default="dev",
                        help="ci: 200 examples, derandomized, no database; dev: 2000 examples, "
                        "failures kept in .hypothesis/ and replayed first (default: dev)")
    parser.add_argument("--steps", type=int, default=None, metavar="N",
                        help="events per example at most (default: the profile's, 20 or 30)")
    parser.add_argument("--same-frequency", action="store_true",
                        help="all hosts' counters run at one frequency")
    parser.add_argument("--eps", type=int, default=None, metavar="NS",
                        help="bound on the hosts' realtime clock disagreement (default 1 ms)")
    parser.add_argument("--eps-ns", type=int, dest="eps", help=argparse.SUPPRESS)  # before 0.2
    parser.add_argument("--scaling", default="any", metavar="any|all|none",
                        help="which hosts can scale a guest's counter (default: each may)")
    parser.add_argument("--frac-bits", type=int, default=48, metavar="48|32",
                        help="the scaling ratio's fraction bits: 48 (Intel, default) or 32 (AMD)")
    parser.add_argument("--no-shrink", action="store_true",
                        help="report the first violation found without Hypothesis's shrinking "
                        "(events it does not need are still dropped)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress line on stderr (it is drawn only when stderr is a "
                        "terminal)")


def _check(args: argparse.Namespace) -> None:
    from tbcheck.properties.registry import PROPERTIES

    for p in args.properties:
        if p not in PROPERTIES:
            raise UsageError(f"unknown property {p!r}; choose from: {', '.join(PROPERTIES)}")
    if args.examples is not None and not 1 <= args.examples <= 10**7:
        raise UsageError("--examples must be between 1 and 10000000")
    if args.steps is not None and not 1 <= args.steps <= 1000:
        raise UsageError("--steps must be between 1 and 1000")
    if args.seed is not None and not 0 <= args.seed < 2**64:
        raise UsageError("--seed must be between 0 and 2**64 - 1")


def run(args: argparse.Namespace) -> int:
    _check(args)
    from tbcheck.loader import load_builtin, load_rules_file
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.proofs.fuzz import fuzz
    from tbcheck.properties.registry import PROPERTIES

    chosen: list[tuple[str, Any]] = [(n, load_builtin(n)) for n in args.variant]
    chosen += [(f"file:{Path(p).resolve()}", load_rules_file(p)) for p in args.variant_file]
    if not chosen:
        from tbcheck.model.registry import BUILTIN_MODULES

        chosen = [(n, load_builtin(n)) for n in BUILTIN_MODULES]
    env = Envelope(slots=("s1", "s2"), same_frequency=args.same_frequency,
                   scaling=args.scaling, frac_bits=args.frac_bits,
                   **({"eps_ns": args.eps} if args.eps is not None else {}))
    env.validate()
    seed = args.seed
    if seed is None and args.profile == "dev":
        seed = random.SystemRandom().randrange(2**32)
    props = args.properties or list(PROPERTIES)
    if not args.json:
        how = f"seed {seed} (rerun with --seed {seed})" if seed is not None else "derandomized"
        print(f"fuzz: profile {args.profile}, {how}; {', '.join(env.default_assumptions())}",
              flush=True)
    from tbcheck.progress import Progress
    from tbcheck.proofs.fuzz.runner import PROFILES as SETTINGS

    results = []
    asked = args.examples or SETTINGS[args.profile]["max_examples"]
    progress = Progress(len(chosen) * len(props), quiet=args.quiet)
    try:
        for ref, rules in chosen:
            for prop in props:
                progress.begin(f"{getattr(rules, 'name', ref)} / {prop}")
                out = fuzz(rules, prop, env, profile=args.profile, examples=args.examples,
                           seed_value=seed, steps=args.steps, shrink=not args.no_shrink)
                res, timeline = _result(ref, rules, prop, env, out, asked)
                results.append(res)
                progress.close()
                if not args.json:
                    _print(res, timeline)
                progress.done()
    finally:
        progress.close()
    failed = [r for r in results if not r["matches"]]
    if args.json:
        doc = {"profile": args.profile, "seed": seed, "envelope": env.describe(),
               "results": results}
        json.dump(doc, sys.stdout, indent=2)
        print()
    else:
        nv = sum(r["verdict"] == "violated" for r in results)
        print(f"fuzz: {len(results)} runs: {nv} violated, "
              f"{sum(r['verdict'] == 'not found' for r in results)} not found, "
              f"{sum(r['verdict'] == 'error' for r in results)} errors; "
              f"{len(failed)} not as "
              + ("declared" if all(r["declared"] for r in results) else "declared or required"))
    return 1 if failed else 0


def _result(ref: str, rules: Any, prop: str, env: Any, out: Any, asked: int = 0
            ) -> tuple[dict[str, Any], str]:
    """One JSON result and its timeline (``tbcheck.timeline``, as ``prove`` and ``run`` show a
    counterexample); a counterexample is replayed by the concrete engine on its own to confirm
    it.

    ``examples``: the examples Hypothesis counts against the number asked (``--examples``),
    as it reports them, when it does; it also draws examples it discards (a draw rejected,
    or too large for its buffer), counted in ``examples_drawn`` with those, and replays and
    shrinks, counted in ``total_examples``."""
    from tbcheck.model.codec import events_json
    from tbcheck.proofs.fuzz import replay
    from tbcheck.timeline import check_json, explain, params_line, render, rows

    declared = getattr(rules, "expected", {}).get(prop)
    counted = out.valid_examples if out.valid_examples is not None else out.examples
    res: dict[str, Any] = {
        "variant": out.variant, "property": prop, "verdict": out.verdict,
        "examples": counted, "examples_asked": asked, "examples_drawn": out.examples,
        "examples_per_s": round(out.examples_per_s, 1),
        "seconds": round(out.seconds, 3),
        "seconds_to_find": None if out.seconds_to_find is None
        else round(out.seconds_to_find, 3),
        "total_examples": out.total_examples, "shrunk_events": out.shrunk_events,
        "seed": out.seed, "declared": declared,
        "counterexample": None,
    }
    if out.verdict == "error":
        res["error"] = out.error
    v = out.violation
    timeline = ""
    if v is not None:
        if not replay.confirm(rules, env, v.draw, v.events, prop):
            res["verdict"] = "error"
            res["error"] = "the concrete engine does not reproduce the fuzzer's violation " \
                "(a bug of tbcheck)"
        params = v.draw.params()
        trace = replay.replayed(rules, env, v.draw, v.events)
        timeline = params_line(params) + "\n" + render(trace, params, prop)
        res["counterexample"] = {
            "params": v.draw.to_json(),
            "events": events_json(v.events),
            "observations": rows(trace, params, prop),
            "violation": {"step": v.step, **check_json(v.check),
                          "explanation": explain(v.check, params)},
            "reproduction": replay.reproduction(ref, env, v.draw, v.events, prop),
            "command": _command(ref, env, v.draw, v.events),
        }
    if res["verdict"] == "violated":
        from tbcheck.gate import depth_needed, parse

        res["matches"] = declared is not None and parse(declared).admits_violation(
            depth_needed(events_json(v.events)))
    else:
        res["matches"] = res["verdict"] == "not found"
    return res, timeline


def _command(ref: str, env: Any, draw: Any, events: list[Any]) -> str:
    """The ``tbcheck run`` line that replays the violation (the fuzzer's envelope's eps)."""
    from tbcheck.eventspec import run_command
    from tbcheck.verdicts import params_json

    file = ref[len("file:"):] if ref.startswith("file:") else None
    return run_command(params_json(draw.params()), events, variant=None if file else ref,
                       variant_file=file, eps_ns=env.eps_ns, slack=env.slack_ticks)


def _print(res: dict[str, Any], timeline: str) -> None:
    head = f"{res['variant']} / {res['property']}: "
    rate = f"{res['examples_per_s']:.0f} examples/s"
    declared = f"; declared {res['declared']}" if res["declared"] else ""
    if res["verdict"] == "not found":
        extra = res["examples_drawn"] - res["examples"]
        drawn = f"; {extra} more drawn and discarded by Hypothesis" if extra > 0 else ""
        print(f"{head}not found in {res['examples']} examples ({res['examples_asked']} asked"
              f"{drawn}; {rate}{declared})", flush=True)
        return
    if res["verdict"] == "error" and res["counterexample"] is None:
        print(f"{head}error: {res['error']}", flush=True)
        return
    cx = res["counterexample"]
    print(f"{head}{res['verdict']} (found after {res['examples']} examples, "
          f"{res['seconds_to_find'] or 0:.2f} s; {res['seconds']:.2f} s with shrinking, "
          f"{res['shrunk_events']} events shrunk to {len(cx['events'])}; {rate}{declared})")
    if res["verdict"] == "error":
        print(f"  error: {res['error']}")
    for line in timeline.splitlines():
        print(f"    {line}")
    print(f"  violated at event {cx['violation']['step']}: {cx['violation']['explanation']}")
    print(f"  replay: {cx['command']}")
    print("  reproduce (from the repository root): python3 - <<'EOF'")
    for line in cx["reproduction"].splitlines():
        print(f"  {line}")
    print("  EOF", flush=True)
