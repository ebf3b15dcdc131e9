"""The concrete engine's speed: events a second with every property checked, per built-in rule
set, and the fuzzer's examples a second on a rule set whose properties hold (so that no example
stops early).

The event sequences are those of the random runs (``proofs.samples.walks``, seed 0, eight
steps, every number drawn from the default envelope), generated first and then timed alone
through ``proofs.concrete.run``, which checks every property after every event.

Run: .venv/bin/python bench/events.py [runs] [examples]  (writes
bench/results/events-DATE.md with the date, the commit and the machine). Times are wall-clock
on a shared machine.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from tbcheck.model.registry import BUILTIN_MODULES, builtin
from tbcheck.proofs.concrete import run
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.proofs.fuzz.runner import fuzz
from tbcheck.proofs.samples import walks
from tbcheck.properties import property_names

DEPTH = 8
FUZZ_RULES = "seed-corrected"  # its properties but one hold: the examples run to their end

ROOT = Path(__file__).resolve().parents[1]


def events_per_s(name: str, env: Envelope, runs: int) -> tuple[float, int, int]:
    """(events/s, events, checks) of ``runs`` random runs replayed on the concrete engine."""
    rules = builtin(name)
    seqs = [(w.draw, list(w.events)) for w, n in walks(rules, env, runs, DEPTH, 0)
            if n == DEPTH]
    worlds = [(d.params(), evs) for d, evs in seqs]
    events = checks = 0
    t = time.perf_counter()
    for params, evs in worlds:
        trace = run(rules, params, evs, tolerances(rules, env, params))
        events += len(trace.events)
        checks += len(trace.checks)
    return events / (time.perf_counter() - t), events, checks


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    examples = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    env = Envelope(depth=DEPTH)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    today = datetime.date.today().isoformat()
    lines = ["# The concrete engine and the fuzzer: events and examples a second", "",
             f"{today}, commit {commit}, {platform.machine()} {os.cpu_count()} cores "
             f"({platform.platform()}), shared with other jobs (load average "
             f"{os.getloadavg()[0]:.1f} at the start). One process.", "",
             f"Concrete engine: {runs} random runs of {DEPTH} steps a rule set (seed 0, the "
             "default envelope), replayed by `proofs.concrete.run`, every property checked "
             "after every event.", "",
             "| rule set | events | checks | events/s |", "|---|---|---|---|"]
    total_events, total_s = 0, 0.0
    for name in BUILTIN_MODULES:
        rate, n, checks = events_per_s(name, env, runs)
        total_events, total_s = total_events + n, total_s + n / rate
        lines.append(f"| {name} | {n} | {checks} | {rate:,.0f} |")
        print(lines[-1], flush=True)
    lines += [f"| all | {total_events} | | {total_events / total_s:,.0f} |", "",
              f"Fuzzer: `tbcheck fuzz`'s engine (the dev profile, seed 0, no example "
              f"database), {examples} examples a property of {FUZZ_RULES}.", "",
              "| property | examples | examples/s | events/s | violation |",
              "|---|---|---|---|---|"]
    for prop in property_names():
        out = fuzz(builtin(FUZZ_RULES), prop, env, profile="dev", examples=examples,
                   seed_value=0, database=None)
        lines.append(f"| {prop} | {out.total_examples} | {out.examples_per_s:,.0f} | "
                     f"{out.events_run / out.seconds:,.0f} | "
                     f"{'yes' if out.violation else 'no'} |")
        print(lines[-1], flush=True)
    out_path = ROOT / "bench" / "results" / f"events-{today}.md"
    out_path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
