"""The concrete engine's speed: events a second with every property checked, per built-in rule
set, on one fixed event sequence (pauses, running and paused migrations, snapshots).

Run: .venv/bin/python bench/concrete.py [repeats]  (writes bench/results/concrete-DATE.md with
the date, the commit and the machine). The best of ``repeats`` runs counts: the machine is
shared, and a slower run measures the other processes, not the engine.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from tbcheck.defaults import concrete_params
from tbcheck.eventspec import parse
from tbcheck.model.registry import BUILTIN_MODULES, builtin
from tbcheck.proofs.concrete import run
from tbcheck.proofs.envelope import Envelope, tolerances

ROOT = Path(__file__).resolve().parents[1]
UNIT = ("run(1s) stop run(1s) cont run(10ms) migrate(1, 1ms, 2ms, 3ms) run(1s) "
        "migrate(0, 1ms, 2ms, 3ms) run(1s) stop migrate(2, 1ms, 2ms, 3ms) cont "
        "migrate(0, 1ms, 2ms, 3ms) savevm(s1, 5ms) run(1s) stop loadvm(s1, 7ms) cont run(1s) ")


def events_per_s(name: str, repeats: int) -> tuple[float, int, int]:
    """(best events/s, events, violations found) of one rule set on 30 rounds of ``UNIT``."""
    rules, params = builtin(name), concrete_params()
    events = parse(UNIT * 30)
    tol = tolerances(rules, Envelope(), params)
    best, found = 0.0, 0
    for _ in range(repeats):
        t = time.perf_counter()
        trace = run(rules, params, events, tol)
        best = max(best, len(events) / (time.perf_counter() - t))
        found = len(trace.violations())
    return best, len(events), found


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    lines = [f"| rule set | events | events/s (best of {repeats}) | failed checks |",
             "|---|---|---|---|"]
    for name in BUILTIN_MODULES:
        rate, n, found = events_per_s(name, repeats)
        lines.append(f"| {name} | {n} | {rate:,.0f} | {found} |")
        print(lines[-1], flush=True)
    load = os.getloadavg()[0]
    doc = (f"# Concrete engine: events a second\n\n{datetime.date.today()}, commit {commit}, "
           f"{platform.node()} ({platform.machine()}, {os.cpu_count()} CPUs), Python "
           f"{platform.python_version()}; load average {load:.1f} at the end. Every property "
           "is checked at every event; the sequence is `bench/concrete.py`'s UNIT, 30 times.\n\n"
           + "\n".join(lines) + "\n")
    out = ROOT / "bench" / "results" / f"concrete-{datetime.date.today()}.md"
    out.write_text(doc)
    print(f"written to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
