"""``tbcheck prove``: every rule set against every property, with honest verdicts.

Exit status 0 when every cell passes the gate (``tbcheck.gate``): a built-in's cell says what its
declaration makes due at the depth asked; a user's file declares nothing, so each of its cells
must be proved to the depth asked or for every depth (``--accept-partial``: or to a smaller
depth), the CI gate for a proposed patch. 1 otherwise, 2 for bad input.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tbcheck import cache
from tbcheck.errors import UsageError
from tbcheck.workers import Death, Template, ask_worker, run_cells

if TYPE_CHECKING:
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.proofs.options import CellOptions

MEGA = 1_000_000
CELL_M = 20  # a cell's bounded passes, in millions of z3 resource units (proofs.options.CELL)
SEARCH_M = 20  # the invariant search's, in millions (proofs.induction.SEARCH)
WALL_S = 1800.0  # the wall-clock safety net, a cell: far past any cell seen


def units(text: str) -> int:
    """A number of z3 resource units, plain or with a suffix k, M or G (``600M``)."""
    scale = {"k": 10**3, "M": 10**6, "G": 10**9}.get(text[-1:], 1)
    try:
        n = int(text[:-1] if scale != 1 else text) * scale
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of resource units (e.g. 600M, 2G, 150000000)") from None
    return n


def add_envelope_arguments(p: argparse.ArgumentParser) -> None:
    """The envelope's options, as `prove` and `diff` take them."""
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
    p.add_argument("--scaling", default="any", metavar="any|all|none",
                   help="which hosts can scale a guest's counter: each may (any, default), "
                        "all, none")
    p.add_argument("--frac-bits", type=int, default=48, metavar="48|32",
                   help="the scaling ratio's fraction bits: 48 (Intel, default) or 32 (AMD)")


def envelope_of(args: argparse.Namespace, **extra: Any) -> Envelope:
    """The envelope the options of ``add_envelope_arguments``, ``--depth`` and ``--rlimit``
    ask for (``extra``: further fields), checked: a bad one is a ``UsageError``."""
    from tbcheck.proofs.envelope import Envelope

    env = Envelope(fmin_hz=args.fmin, fmax_hz=args.fmax, eps_ns=args.eps,
                   max_run_ns=args.max_run, max_phase_ns=args.max_phase, ncpus=args.vcpus,
                   nhosts=args.hosts, depth=args.depth, same_frequency=args.same_frequency,
                   scaling=args.scaling, frac_bits=args.frac_bits, **extra)
    env.validate()
    if not 10**5 <= args.rlimit <= 1000 * 10**9:
        raise UsageError(f"--rlimit {args.rlimit}: between 100k and 1000G resource units")
    return env


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--variant", action="append", default=[], metavar="NAME",
                   help="a built-in rule set (repeatable; default: all built-in ones)")
    p.add_argument("--variant-file", action="append", default=[], metavar="PATH",
                   help="your own rule file (repeatable)")
    p.add_argument("--property", action="append", default=[], metavar="NAME",
                   help="a property (repeatable; default: all seven)")
    p.add_argument("--depth", type=int, default=8, help="events per sequence (default 8)")
    p.add_argument("--rlimit", type=units, default=CELL_M * MEGA, metavar="UNITS",
                   help="z3 resource units a cell's bounded proof may spend before it is "
                        "unknown or proved to a smaller depth: the budget that makes a verdict "
                        "the same on every machine under any load (suffixes k, M, G; between "
                        f"100k and 1000G; default {CELL_M}M)")
    p.add_argument("--timeout", type=float, default=WALL_S, metavar="S",
                   help="wall-clock safety net a cell, only against a solver that hangs: a cell "
                        "still running after S s is killed and reported `unknown (wall clock)` "
                        f"(default {WALL_S:g} s, never reached by the built-in matrix here)")
    add_envelope_arguments(p)
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
    p.add_argument("--induction", type=units, default=SEARCH_M * MEGA, metavar="UNITS",
                   help="when the solver has not decided a cell within its first 1.2M resource "
                        "units, search for an inductive invariant with up to UNITS (once a rule "
                        "set and run) and prove the property for every depth with it (suffixes "
                        f"k, M, G; default {SEARCH_M}M; 0: off)")
    p.add_argument("--induction-first", action="store_true",
                   help="search for the invariant first and try every property by induction "
                        "before the bounded passes (one rule set a worker)")
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--junit", metavar="PATH", help="also write JUnit XML, one case a cell")
    p.add_argument("--explain", action="store_true",
                   help="print every cell's tolerances and every counterexample's timeline "
                        "and replay command after the table")
    p.add_argument("--quiet", action="store_true",
                   help="no progress and no line a finished cell on stderr (the progress "
                        "line is drawn only when stderr is a terminal)")
    p.add_argument("--plot", metavar="FILE",
                   help="draw each counterexample: the guest's TB minus the expected TB "
                        "against true time (FILE.svg or FILE.png; needs the plot extra, "
                        "pip install 'tbcheck[plot]'); several: FILE-2, FILE-3 ...")
    p.add_argument("--accept-partial", action="store_true",
                   help="wherever a proof is due, let any proof pass the gate, also one that "
                        "reaches less than the depth asked (proved@k; the table marks it ~)")
    cache.add_arguments(p)


def _checked(args: argparse.Namespace) -> Envelope:
    """The envelope asked, after every option is checked: bad input fails before any work."""
    from tbcheck.properties import property_names

    for prop in args.property:
        if prop not in property_names():
            raise UsageError(f"unknown property {prop!r}; `tbcheck list` shows them")
    env = envelope_of(args, slack_ticks=args.slack)
    if not 0 <= args.induction <= 1000 * 10**9:
        raise UsageError(f"--induction {args.induction}: between 0 (off) and 1000G")
    if args.timeout <= 0:
        raise UsageError(f"--timeout {args.timeout:g}: a positive number of seconds")
    if not 1 <= args.jobs <= 64:
        raise UsageError(f"--jobs {args.jobs}: between 1 and 64")
    if args.junit:  # checked before the work, not after it
        folder = Path(args.junit).resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise UsageError(f"--junit {args.junit}: {folder} is not a folder tbcheck can "
                             "write to")
    if args.plot:
        from tbcheck.plot import check_target

        check_target(args.plot)
    if not 0 <= args.random_runs <= 10**6 or not 0 <= args.fuzz_examples <= 10**6:
        raise UsageError("--random-runs and --fuzz-examples: between 0 and 1000000")
    return env


def _ordered(jobs: list[tuple[str, str]], props: list[str], induction_first: bool
           ) -> list[tuple[str, str, list[str]]]:
    """One cell a job, so that the slow cells spread over the workers; with --induction-first,
    one rule set a job, so that its invariant is searched for once. A worker keeps to one rule
    set while it has cells (its unrolling and invariant are cached), and the rule sets with the
    most cells to prove go first: a violation is found in milliseconds, a proof takes seconds,
    so the long ones do not come last for one worker while the other idles (a user's file
    declares every cell proved, so it goes first)."""
    from tbcheck.verdicts import must_say

    heavy = {ref: sum(must_say(_declarations(kind, ref).get(p)).startswith("proved")
                      for p in props)
             for kind, ref in jobs}
    return [(kind, ref, ps) for kind, ref in sorted(jobs, key=lambda j: -heavy[j[1]])
            for ps in ([props] if induction_first else [[p] for p in props])]


def run(args: argparse.Namespace) -> int:
    from tbcheck.properties import property_names
    from tbcheck.verdicts import gate, replay_facts

    env = _checked(args)
    props = args.property or property_names()
    names = args.variant or ([] if args.variant_file else _builtin_names())
    jobs = [("builtin", n) for n in names] + [("file", path) for path in args.variant_file]
    _LOADED.clear()  # a file may have changed since an earlier run in this process
    for kind, ref in jobs:
        _load(kind, ref)  # a broken file is refused before any solving (each worker, a new
        # interpreter, loads its own rule set again: tbcheck.workers)
    started = time.perf_counter()
    cells = _ordered(jobs, props, args.induction_first)
    # the verdict cache (tbcheck.cache): the cells it holds are not decided again
    store = cache.open_store(args)
    key_of = partial(cache.cell_key, load=_load, env=env, options=cache.verdict_options(args))
    cached, cells = cache.lookup(store, cells, key_of)
    # each worker is one rule set's template (its unrollings built once), each cell a process
    # forked from it; the workers share their invariant searches (tbcheck.searches)
    with tempfile.TemporaryDirectory(prefix="tbcheck-searches-") as folder:
        work = partial(_prove_one, env=env, options=_options(args))
        template = Template(prepare=partial(_prepare, env), search=_search,
                            folder=Path(folder))
        results, interrupted = _decide(work, cells, args, env.depth, template)
    cache.remember(store, cells, results, key_of)
    results += cached
    order = {n: i for i, (_, n) in enumerate(jobs)}
    results.sort(key=lambda r: (order.get(r["ref"], 99), props.index(r["property"])))
    elapsed = time.perf_counter() - started
    for r in results:
        replay_facts(r, _load(r["kind"], r["ref"]), env)
    bad = gate(results, env.depth, args.accept_partial)
    _report(args, env, results, props, elapsed,
            _undecided(cells, results, props) if interrupted else None)
    if interrupted:
        return 130
    return 1 if bad else 0


def _report(args: argparse.Namespace, env: Envelope, results: list[dict[str, Any]],
            props: list[str], elapsed: float, left: list[tuple[str, str]] | None) -> None:
    """The table or the JSON on stdout, the JUnit file and the pictures; ``left``: the cells
    an interruption left undecided (None when the run finished)."""
    from tbcheck.verdicts import render_json, render_table, write_junit

    if args.json:
        print(render_json(env, results, elapsed) if left is None
              else _interrupted_json(render_json(env, results, elapsed), left))
    else:
        print(render_table(env, results, props, elapsed, args.explain))
        if left is not None:
            print(f"interrupted (Ctrl-C): {len(results)} of {len(results) + len(left)} cells "
                  "decided; the others are not shown")
    if args.junit:
        write_junit(args.junit, results)
        if left is not None:
            _interrupted_junit(args.junit, left)
    if args.plot:
        _plots(args.plot, results)


def _decide(work: Any, cells: list[tuple[str, str, list[str]]], args: argparse.Namespace,
            depth: int, template: Template) -> tuple[list[dict[str, Any]], bool]:
    """Every cell's records, in the order they are decided (progress on stderr), and whether
    Ctrl-C ended the run first (the records are then those decided before it); a cell whose
    worker died or hung is ``unknown``, and says so."""
    from tbcheck.progress import Progress

    progress = Progress(sum(len(c[2]) for c in cells), quiet=args.quiet)
    results: list[dict[str, Any]] = []
    try:
        _cells(work, cells, args, depth, template, progress, results)
    except KeyboardInterrupt:
        return results, True
    finally:
        progress.close()
    return results, False


def _cells(work: Any, cells: list[tuple[str, str, list[str]]], args: argparse.Namespace,
           depth: int, template: Template, progress: Any, results: list[dict[str, Any]]
           ) -> None:
    from tbcheck.proofs.verdict import Status, Verdict
    from tbcheck.verdicts import cell_text, gate

    progress.begin("the first cell can take a while")
    for (kind, ref, ps), got in run_cells(work, cells, args.jobs,
                                          limit_s=lambda c: args.timeout * len(c[2]),
                                          name=lambda c: f"{c[1]} {', '.join(c[2])}",
                                          group=lambda c: c[:2], template=template,
                                          tick=progress.tick, say=progress.warn):
        if isinstance(got, str):
            raise UsageError(got)
        if isinstance(got, Death):
            death = got
            got = [_record(Verdict(_load(kind, ref).name, p, Status.UNKNOWN, depth, reason=(
                f"not decided: {death}; a crash or a hang of the solver (z3) or of the rule "
                "file, and a rerun may decide it")), kind, ref) for p in ps]
            for r in got:
                r["wall_clock"] = death.wall_clock
        gate(got, depth, args.accept_partial)  # the progress says what the table will
        results.extend(got)
        progress.done(len(got), label="")
        for r in got:
            progress.say(f"  {r['variant']:<20} {r['property']:<20} {cell_text(r):<16} "
                         f"{r['seconds']:6.2f} s")


def _undecided(cells: list[tuple[str, str, list[str]]], results: list[dict[str, Any]],
               props: list[str]) -> list[tuple[str, str]]:
    """The (rule set, property) cells an interrupted run did not decide."""
    done = {(r["ref"], r["property"]) for r in results}
    return [(ref, p) for _, ref, ps in cells for p in ps if (ref, p) not in done]


def _interrupted_json(text: str, left: list[tuple[str, str]]) -> str:
    """The JSON document of an interrupted run: its decided cells, marked as interrupted,
    and the cells it did not decide."""
    import json

    doc = json.loads(text)
    doc["interrupted"] = True
    doc["undecided"] = [{"variant": v, "property": p} for v, p in left]
    return json.dumps(doc, indent=2)


def _interrupted_junit(path: str, left: list[tuple[str, str]]) -> None:
    """Mark a JUnit file as interrupted: a suite property, and each cell not decided as a
    skipped test case (CI shows them as not run, neither passed nor failed)."""
    from xml.etree import ElementTree as ET

    tree = ET.parse(path)
    suite = tree.getroot()
    props = ET.Element("properties")
    ET.SubElement(props, "property", name="interrupted", value="true")
    suite.insert(0, props)
    for ref, p in left:
        case = ET.SubElement(suite, "testcase", classname=ref, name=p, time="0")
        ET.SubElement(case, "skipped", message="interrupted (Ctrl-C) before it was decided")
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("skipped", str(len(left)))
    tree.write(path, encoding="utf-8", xml_declaration=True)


def _plots(path: str, results: list[dict[str, Any]]) -> None:
    """Draw each counterexample (``tbcheck.plot``), replayed from its ``tbcheck run`` line."""
    from tbcheck.commands.run_cmd import replay
    from tbcheck.plot import numbered, plot_trace

    shown = [r for r in results if r["counterexample"] and r["counterexample"].get("command")]
    if not shown:
        print("tbcheck: --plot: no counterexample to draw", file=sys.stderr)
    for n, r in enumerate(shown, 1):
        rules, params, trace, tol = replay(r["counterexample"]["command"])
        out = numbered(path, n)
        plot_trace(out, rules, params, trace, tol, r["property"])
        print(f"tbcheck: {r['variant']} / {r['property']}: counterexample drawn in {out}",
              file=sys.stderr)


def _builtin_names() -> list[str]:
    from tbcheck.model.registry import BUILTIN_MODULES

    return list(BUILTIN_MODULES)


_LOADED: dict[tuple[str, str], Any] = {}  # the rule sets this process loaded


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


def _prepare(env: Any, group: tuple[str, str]) -> None:
    """In a worker, before any cell is forked: the rule set's unrollings (``bmc.prepare``)."""
    from tbcheck.proofs.bmc import prepare

    prepare(_load(*group), env, use_assumptions=group[0] == "builtin")


def _search(group: tuple[str, str], env: Any, units: int) -> Any:
    """In a child of a worker: the rule set's invariant facts under ``env``."""
    from tbcheck.proofs.induction import search

    return search(_load(*group), env, units)


def _facts(rules: Any, env: Any, units: int) -> Any:
    """In a cell's process: the run's one search of the rule set's invariant (its worker's)."""
    return ask_worker(env, units)


def _options(args: argparse.Namespace) -> CellOptions:
    """What every cell's proof may spend and try, from the command line (a built-in rule set's
    cells add their declared assumptions: ``_prove_one``)."""
    from tbcheck.proofs.options import CellOptions

    return CellOptions(rlimit=args.rlimit, invariant_units=args.induction,
                       induction_first=args.induction_first, random_runs=args.random_runs,
                       fuzz_examples=args.fuzz_examples, deepen=not args.no_deepen)


def _prove_one(cell: tuple[str, str, list[str]], env: Any, options: CellOptions
               ) -> list[dict[str, Any]] | str:
    """In a cell's process, forked from its rule set's template: decide each property."""
    from dataclasses import replace

    from tbcheck.proofs.bmc import check_rules

    kind, ref, props = cell
    try:
        rules = _load(kind, ref)
    except UsageError as exc:
        return str(exc)
    mine = replace(options, use_assumptions=kind == "builtin")
    return [_record(v, kind, ref) for v in check_rules(rules, props, env, mine, facts=_facts)]
