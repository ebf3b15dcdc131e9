"""``tbcheck prove``: every rule set against every property, with honest verdicts.

Exit status 0 when every cell passes the gate (``tbcheck.gate``): a built-in's cell says what its
declaration makes due at the depth asked; a user's file declares nothing, so each of its cells
must be proved to the depth asked or for every depth (``--accept-partial``: or to a smaller
depth), the CI gate for a proposed patch. 1 otherwise, 2 for bad input.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Any

from proofs.searches import Searches
from tbcheck.errors import UsageError
from tbcheck.workers import Death, run_cells

INDUCTION_S = 20.0  # the invariant search's default budget (seed-corrected's: 7 s alone)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--variant", action="append", default=[], metavar="NAME",
                   help="a built-in rule set (repeatable; default: all built-in ones)")
    p.add_argument("--variant-file", action="append", default=[], metavar="PATH",
                   help="your own rule file (repeatable)")
    p.add_argument("--property", action="append", default=[], metavar="NAME",
                   help="a property (repeatable; default: all seven)")
    p.add_argument("--depth", type=int, default=8, help="events per sequence (default 8)")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help="solver time per verdict before it is unknown (default 60 s)")
    p.add_argument("--same-frequency", action="store_true",
                   help="assume every host's TB runs at the same frequency")
    p.add_argument("--eps", type=int, default=10**6, metavar="NS",
                   help="bound on the hosts' realtime clock disagreement (default 1 ms)")
    p.add_argument("--hosts", type=int, default=3, help="number of hosts (default 3)")
    p.add_argument("--vcpus", type=int, default=2, help="vCPUs (default 2)")
    p.add_argument("--fmin", type=int, default=10**6, metavar="HZ",
                   help="lowest host TB frequency (default 1 MHz)")
    p.add_argument("--fmax", type=int, default=10**10, metavar="HZ",
                   help="highest host TB frequency (default 10 GHz)")
    p.add_argument("--max-run", type=int, default=86_400 * 10**9, metavar="NS",
                   help="longest run(d) (default one day)")
    p.add_argument("--max-phase", type=int, default=3_600 * 10**9, metavar="NS",
                   help="longest migration or snapshot phase (default one hour)")
    p.add_argument("--slack", type=int, default=2, metavar="TICKS",
                   help="rounding allowed where a frequency conversion rounds (default 2)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--random-runs", type=int, default=200, metavar="N",
                   help="before the solver, N random concrete runs look for a counterexample "
                        "(replayed like the solver's; 0: off; default 200)")
    p.add_argument("--fuzz-examples", type=int, default=300, metavar="N",
                   help="when the solver cannot decide, fuzz N examples for a counterexample "
                        "(replayed like the solver's; 0: off; default 300)")
    p.add_argument("--no-deepen", action="store_true",
                   help="report unknown instead of proving an undecided property depth by "
                        "depth (a proof to a smaller depth is marked with its depth)")
    p.add_argument("--induction", type=float, default=INDUCTION_S, metavar="S",
                   help="when the solver has not decided a cell within a few seconds, search up to "
                        "S s (once a rule set and worker) for an inductive invariant and prove "
                        f"the property for every depth with it (default {INDUCTION_S:g}; 0: off)")
    p.add_argument("--induction-first", action="store_true",
                   help="search for the invariant first and try every property by induction "
                        "before the bounded passes (one rule set a worker)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--junit", metavar="PATH", help="also write JUnit XML, one case a cell")
    p.add_argument("--explain", action="store_true",
                   help="print every cell's tolerances and every counterexample's timeline "
                        "and replay command after the table")
    p.add_argument("--accept-partial", action="store_true",
                   help="wherever a proof is due, let any proof pass the gate, also one that "
                        "reaches less than the depth asked (proved@k; the table marks it ~)")


def run(args: argparse.Namespace) -> int:
    from proofs.envelope import Envelope
    from properties import property_names
    from tbcheck.verdicts import (
        gate,
        must_say,
        render_json,
        render_table,
        replay_facts,
        write_junit,
    )

    for prop in args.property:
        if prop not in property_names():
            raise UsageError(f"unknown property {prop!r}; `tbcheck list` shows them")
    env = Envelope(fmin_hz=args.fmin, fmax_hz=args.fmax, eps_ns=args.eps,
                   max_run_ns=args.max_run, max_phase_ns=args.max_phase, ncpus=args.vcpus,
                   nhosts=args.hosts, depth=args.depth, same_frequency=args.same_frequency,
                   slack_ticks=args.slack)
    env.validate()
    if args.timeout <= 0 or args.jobs < 1 or args.induction < 0:
        raise UsageError("--timeout must be positive, --jobs at least 1, --induction >= 0")
    if not 0 <= args.random_runs <= 10**6 or not 0 <= args.fuzz_examples <= 10**6:
        raise UsageError("--random-runs and --fuzz-examples: between 0 and 1000000")
    props = args.property or property_names()
    names = args.variant or ([] if args.variant_file else _builtin_names())
    jobs = [("builtin", n) for n in names] + [("file", path) for path in args.variant_file]
    _LOADED.clear()  # a file may have changed since an earlier run in this process
    for kind, ref in jobs:
        _load(kind, ref)  # a broken file is refused before any solving (the workers, forked
        # from here, find every rule set loaded)
    started = time.perf_counter()
    # one cell a job, so that the slow cells spread over the workers; with --induction-first,
    # one rule set a job, so that its invariant is searched for once. A worker keeps to one
    # rule set while it has cells (its unrolling and invariant are cached), and the rule sets
    # with the most cells to prove go first: a violation is found in milliseconds, a proof
    # takes seconds, so the long ones do not come last for one worker while the other idles
    # (a user's file declares every cell proved, so it goes first)
    heavy = {ref: sum(must_say(_declarations(kind, ref).get(p)) == "proved" for p in props)
             for kind, ref in jobs}
    cells = [(kind, ref, ps) for kind, ref in sorted(jobs, key=lambda j: -heavy[j[1]])
             for ps in ([props] if args.induction_first else [[p] for p in props])]
    # the workers share their invariant searches: which are going, which ran out, and the
    # facts of those that found one (proofs.searches)
    with tempfile.TemporaryDirectory(prefix="tbcheck-searches-") as folder:
        work = partial(_prove_one, env=env, timeout=args.timeout,
                       fuzz_examples=args.fuzz_examples, deepen=not args.no_deepen,
                       induction_s=args.induction, random_runs=args.random_runs,
                       induction_first=args.induction_first, searches=Searches(Path(folder)))
        results = _decide(work, cells, args, env.depth)
    order = {n: i for i, (_, n) in enumerate(jobs)}
    results.sort(key=lambda r: (order.get(r["ref"], 99), props.index(r["property"])))
    elapsed = time.perf_counter() - started
    for r in results:
        replay_facts(r, _load(r["kind"], r["ref"]), env)
    bad = gate(results, env.depth, args.accept_partial)
    if args.json:
        print(render_json(env, results, elapsed))
    else:
        print(render_table(env, results, props, elapsed, args.explain))
    if args.junit:
        write_junit(args.junit, results)
    return 1 if bad else 0


def _decide(work: Any, cells: list[tuple[str, str, list[str]]], args: argparse.Namespace,
            depth: int) -> list[dict[str, Any]]:
    """Every cell's records, in the order they are decided (progress on stderr); a cell whose
    worker died or hung is ``unknown``, and says so."""
    from proofs.bmc import UNKNOWN, Verdict
    from tbcheck.verdicts import cell_text, gate

    results: list[dict[str, Any]] = []
    for (kind, ref, ps), got in run_cells(work, cells, args.jobs,
                                          limit_s=partial(_limit_s, args.timeout, args.induction),
                                          name=lambda c: f"{c[1]} {', '.join(c[2])}",
                                          group=lambda c: c[:2]):
        if isinstance(got, str):
            raise UsageError(got)
        if isinstance(got, Death):
            got = [_record(Verdict(_load(kind, ref).name, p, UNKNOWN, depth, reason=(
                f"not decided: {got}; a crash or a hang of the solver (z3) or of the rule "
                "file, and a rerun may decide it")), kind, ref) for p in ps]
        gate(got, depth, args.accept_partial)  # the progress says what the table will
        for r in got:
            print(f"  {r['variant']:<20} {r['property']:<20} {cell_text(r):<16} "
                  f"{r['seconds']:6.2f} s", file=sys.stderr, flush=True)
        results.extend(got)
    return results


def _builtin_names() -> list[str]:
    from model.registry import BUILTIN_MODULES

    return list(BUILTIN_MODULES)


def _limit_s(timeout: float, induction: float, cell: tuple[str, str, list[str]]) -> float:
    """How long a cell may take before its worker is killed: a property's passes (the search,
    the proof, the witness) take ``timeout`` each at most and the invariant's search
    ``induction``; twice that and two minutes (for the random runs and the fuzzing, and for a
    loaded machine) is far past any cell seen (about 43 s at most, in the depth-8 matrix with
    20 s a cell)."""
    return len(cell[2]) * (2 * (3 * timeout + induction) + 120)


_LOADED: dict[tuple[str, str], Any] = {}  # the rule sets this run loaded (workers inherit it)


def _load(kind: str, ref: str) -> Any:
    """A built-in rule set or a user's file, loaded once a run (a broken one: UsageError)."""
    from tbcheck.loader import load_builtin, load_rules_file

    if (kind, ref) not in _LOADED:
        _LOADED[kind, ref] = load_builtin(ref) if kind == "builtin" else load_rules_file(ref)
    return _LOADED[kind, ref]


def _declarations(kind: str, ref: str) -> dict[str, str]:
    """A built-in rule set's declared outcomes (``tbcheck.gate``); a user's file declares none
    (each of its cells must be proved to the depth asked)."""
    return dict(_load(kind, ref).expected) if kind == "builtin" else {}


def _record(v: Any, kind: str, ref: str) -> dict[str, Any]:
    from tbcheck.verdicts import cell_record

    return cell_record(v, _load(kind, ref), kind, ref)


def _prove_one(cell: tuple[str, str, list[str]], env: Any, timeout: float,
               fuzz_examples: int, deepen: bool, induction_s: float = 0.0,
               random_runs: int = 0, induction_first: bool = False,
               searches: Searches | None = None) -> list[dict[str, Any]] | str:
    """In a worker: decide each property of the rule set (loaded before the fork; the worker
    keeps the last unrolling and invariant for the rule set's next cell)."""
    from proofs.bmc import check_rules

    kind, ref, props = cell
    try:
        rules = _load(kind, ref)
    except UsageError as exc:
        return str(exc)
    return [_record(v, kind, ref)
            for v in check_rules(rules, props, env, timeout, use_assumptions=kind == "builtin",
                                 fuzz_examples=fuzz_examples, deepen=deepen,
                                 induction_s=induction_s, random_runs=random_runs,
                                 induction_first=induction_first, searches=searches)]
