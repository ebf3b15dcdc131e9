"""How fast random concrete runs find each declared violation, before any solver query.

For every built-in cell declared violated (at `make verify`'s depth 4), and for v3 and v4
snapshot-frozen, whose counterexample needs 5 events: the runs until the first violation and
the seconds (finding, cutting down and simplifying), at depths 4 and 8, for seeds 0 to 4.
A cell no seed finds within the budget is left to the solver, which `prove` asks next.

Run: .venv/bin/python bench/hunt.py [runs]  (writes bench/results/hunt.md)
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SEEDS = range(5)


def cell(name: str, prop: str, depth: int, runs: int) -> str:
    from tbcheck.model.events import depth_of
    from tbcheck.model.registry import builtin
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.proofs.hunt import hunt

    found, seconds, events = [], [], []
    for seed in SEEDS:
        t = time.perf_counter()
        cx, n = hunt(builtin(name), prop, Envelope(depth=depth), runs, seed)
        seconds.append(time.perf_counter() - t)
        if cx is not None:
            found.append(n)
            events.append(depth_of(cx.events))
    if not found:
        return f"not in {runs} runs ({max(seconds):.2f} s)"
    return (f"{len(found)}/5, runs {min(found)}-{max(found)}, "
            f"{statistics.median(seconds):.3f} s (max {max(seconds):.3f}), "
            f"{min(events)}-{max(events)} events")


def main() -> None:
    from tbcheck.gate import declared_verdict
    from tbcheck.model.registry import BUILTIN_MODULES, builtin

    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    cells = [(n, p) for n in BUILTIN_MODULES for p, want in builtin(n).expected.items()
             if declared_verdict(want) == "violated"]
    cells += [("qemu-ppc-v3", "snapshot-frozen"), ("qemu-ppc-v4", "snapshot-frozen")]
    t0 = time.perf_counter()
    lines = [f"# Random runs against the declared violations ({runs} runs a seed, seeds 0-4)",
             "", "Seconds include cutting the run down to the events it needs and making its "
             "numbers plain. Events: the counterexample's events other than runs.", "",
             "| rule set | property | depth 4 | depth 8 |", "|---|---|---|---|"]
    for name, prop in cells:
        row = f"| {name} | {prop} | {cell(name, prop, 4, runs)} | {cell(name, prop, 8, runs)} |"
        lines.append(row)
        print(row, flush=True)
    lines += ["", f"Whole run: {time.perf_counter() - t0:.1f} s."]
    out = ROOT / "bench" / "results" / "hunt.md"
    out.write_text("\n".join(lines) + "\n")
    print(lines[-1])


if __name__ == "__main__":
    main()
