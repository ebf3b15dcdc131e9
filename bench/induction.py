"""What the induction proves for every depth, and what it costs: each built-in rule set's
invariant search, then every property tried against it.

Run: .venv/bin/python bench/induction.py [units]  (writes bench/results/induction.md)
Times are wall-clock on a shared machine, two rule sets at a time.
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PROPS = ["monotonic", "frozen-when-stopped", "tracks-wall-clock", "guest-frequency",
         "vcpus-agree", "snapshot-frozen", "no-overflow"]


def one(name: str, budget: int) -> tuple[str, str]:
    from tbcheck.gate import declared_verdict
    from tbcheck.model.registry import builtin
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.proofs.induction import Inductor

    rules = builtin(name)
    ind = Inductor(rules, Envelope(), budget)
    t0 = time.perf_counter()
    ind.prove(PROPS[0], 0)  # the search alone, timed on its own
    searched = time.perf_counter() - t0
    cells = []
    for p in PROPS:
        out = ind.prove(p, 50_000_000)
        cells.append("**all depths**" if out.proved else
                     ("(declared violated)"
                      if declared_verdict(rules.expected.get(p)) == "violated" else "-"))
    inv = ind.invariant
    size = (f"{len(inv.holds)} | {inv.size()} | {inv.queries}" if inv is not None
            else "- | - | -")
    row = (f"| {name} | {searched:.1f} s | {size} | "
           f"{time.perf_counter() - t0:.1f} s | " + " | ".join(cells) + " |")
    return name, row


def main() -> None:
    from tbcheck.model.registry import BUILTIN_MODULES

    budget = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000_000  # resource units
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=2) as pool:
        rows = dict(pool.map(one, list(BUILTIN_MODULES), [budget] * len(BUILTIN_MODULES)))
    lines = [f"# Induction, invariant search budget {budget:,} resource units a rule set, "
             "2 workers", "",
             f"Wall time of the whole run: {time.perf_counter() - t:.1f} s.", "",
             "| rule set | search | control states | facts | queries | total | "
             + " | ".join(PROPS) + " |", "|---" * (6 + len(PROPS)) + "|"]
    lines += [rows[n] for n in BUILTIN_MODULES]
    out = ROOT / "bench" / "results" / "induction.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
