"""The concrete engine's speed: events a second with every property checked, per built-in rule
set, and the fuzzer's examples a second on a rule set whose properties hold (so that no example
stops early).

The event sequences are those of the random runs (``proofs.samples.walks``, seed 0, eight
steps, every number drawn from the default envelope), generated first and then timed alone
through ``proofs.concrete.run``, which checks every property after every event.

Each figure is given twice: per second of wall clock and per second of the process's CPU time.
The machine is shared, and under a load of 10 to 30 on its 2 cores a process gets a fraction of
a core, so the wall clock measures the load as much as the code; CPU time does much less so.

``--baseline DIR`` measures another checkout (a ``git worktree`` of the commit before a change)
beside this one, each rule set and property in turn, so that both see the same load: the ratio
is the change's.

Run: .venv/bin/python bench/events.py [runs] [examples] [--baseline DIR] [--out FILE]
(writes bench/results/events-DATE.md unless --out, with the date, the commits and the machine).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

DEPTH = 8
FUZZ_RULES = "seed-corrected"  # its properties but one hold: the examples run to their end

ROOT = Path(__file__).resolve().parents[1]


def measure_events(name: str, runs: int) -> dict[str, float]:
    """Events, checks, wall and CPU seconds of ``runs`` random runs replayed on the concrete
    engine (imported here: the tree measured is the one on ``sys.path``)."""
    from tbcheck.model.registry import builtin
    from tbcheck.proofs.concrete import run
    from tbcheck.proofs.envelope import Envelope, tolerances
    from tbcheck.proofs.samples import walks

    env = Envelope(depth=DEPTH)
    rules = builtin(name)
    seqs = [(w.draw, list(w.events)) for w, n in walks(rules, env, runs, DEPTH, 0)
            if n == DEPTH]
    worlds = [(d.params(), evs) for d, evs in seqs]
    events = checks = 0
    t, c = time.perf_counter(), time.process_time()
    for params, evs in worlds:
        trace = run(rules, params, evs, tolerances(rules, env, params))
        events += len(trace.events)
        checks += len(trace.checks)
    return {"events": events, "checks": checks, "wall": time.perf_counter() - t,
            "cpu": time.process_time() - c}


def measure_fuzz(prop: str, examples: int) -> dict[str, float]:
    """``tbcheck fuzz``'s engine on one property of FUZZ_RULES (dev profile, seed 0, no
    example database)."""
    from tbcheck.model.registry import builtin
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.proofs.fuzz.runner import fuzz

    c = time.process_time()
    out = fuzz(builtin(FUZZ_RULES), prop, Envelope(depth=DEPTH), profile="dev",
               examples=examples, seed_value=0, database=None)
    return {"examples": out.total_examples, "events": out.events_run, "wall": out.seconds,
            "cpu": time.process_time() - c, "violation": out.violation is not None}


def in_tree(tree: Path, kind: str, what: str, n: int) -> dict[str, float]:
    """One measurement in a fresh process importing tbcheck from ``tree``."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run([sys.executable, __file__, "--measure", kind, what, str(n)],
                         capture_output=True, text=True, env=env, cwd=tree, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def commit(tree: Path) -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                          text=True, cwd=tree).stdout.strip()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", type=int, nargs="?", default=300)
    ap.add_argument("examples", type=int, nargs="?", default=200)
    ap.add_argument("--baseline", type=Path, help="another checkout, measured beside this one")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--measure", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.measure:
        kind, what, n = a.measure
        res = measure_events(what, int(n)) if kind == "events" else measure_fuzz(what, int(n))
        print(json.dumps(res))
        return

    from tbcheck.model.registry import BUILTIN_MODULES
    from tbcheck.properties import property_names

    trees = ([("before", a.baseline.resolve())] if a.baseline else []) + [("after", ROOT)]
    today = datetime.date.today().isoformat()
    head = ", ".join(f"{label} commit {commit(t)}" for label, t in trees)
    lines = ["# The concrete engine and the fuzzer: events and examples a second", "",
             f"{today}, {head}, {platform.machine()} {os.cpu_count()} cores "
             f"({platform.platform()}), shared with other jobs (load average "
             f"{os.getloadavg()[0]:.1f} at the start). One process a measurement, "
             "the trees in turn.", "",
             f"Concrete engine: {a.runs} random runs of {DEPTH} steps a rule set (seed 0, the "
             "default envelope), replayed by `proofs.concrete.run`, every property checked "
             "after every event. Events a second of wall clock, and of CPU time.", ""]
    cols = " | ".join(f"{label} wall | {label} CPU" for label, _ in trees)
    ratio = " | CPU ratio" if a.baseline else ""
    lines += [f"| rule set | events | checks | {cols}{ratio} |",
              "|---|---|---|" + "---|" * (2 * len(trees) + bool(a.baseline))]
    totals: dict[str, list[float]] = {label: [0, 0.0, 0.0] for label, _ in trees}
    for name in BUILTIN_MODULES:
        got = {label: in_tree(t, "events", name, a.runs) for label, t in trees}
        cells = []
        for label, _ in trees:
            r = got[label]
            tot = totals[label]
            tot[0], tot[1], tot[2] = tot[0] + r["events"], tot[1] + r["wall"], tot[2] + r["cpu"]
            cells.append(f"{r['events'] / r['wall']:,.0f} | {r['events'] / r['cpu']:,.0f}")
        r = got["after"]
        extra = (f" | {got['before']['cpu'] / r['cpu']:.1f}x" if a.baseline else "")
        lines.append(f"| {name} | {r['events']} | {r['checks']} | {' | '.join(cells)}{extra} |")
        print(lines[-1], flush=True)
    cells = [f"{t[0] / t[1]:,.0f} | {t[0] / t[2]:,.0f}" for t in totals.values()]
    extra = (f" | {totals['before'][2] / totals['after'][2]:.1f}x" if a.baseline else "")
    lines += [f"| all | {totals['after'][0]:.0f} | | {' | '.join(cells)}{extra} |", "",
              f"Fuzzer: `tbcheck fuzz`'s engine (the dev profile, seed 0, no example "
              f"database), {a.examples} examples a property of {FUZZ_RULES}. Examples a second "
              "of wall clock, and of CPU time.", "",
              f"| property | examples | events | {cols}{ratio} | violation |",
              "|---|---|---|" + "---|" * (2 * len(trees) + bool(a.baseline)) + "---|"]
    for prop in property_names():
        got = {label: in_tree(t, "fuzz", prop, a.examples) for label, t in trees}
        r = got["after"]
        cells = [f"{g['examples'] / g['wall']:,.0f} | {g['examples'] / g['cpu']:,.0f}"
                 for g in got.values()]
        extra = ""
        if a.baseline:
            b = got["before"]
            extra = f" | {(r['examples'] / r['cpu']) / (b['examples'] / b['cpu']):.1f}x"
        lines.append(f"| {prop} | {r['examples']} | {r['events']} | {' | '.join(cells)}"
                     f"{extra} | {'yes' if r['violation'] else 'no'} |")
        print(lines[-1], flush=True)
    out_path = a.out or ROOT / "bench" / "results" / f"events-{today}.md"
    out_path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
