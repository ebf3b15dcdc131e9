"""What the divisions' order facts (tbcheck/proofs/floors.py) do to the checks that stall a proof.

Each check of one step is asked on its own solver with a 3 s timeout, plain and with its order
facts; and once more plain with every host frequency fixed at 512 MHz, which leaves only linear
integer arithmetic (so it shows whether the products or the divisions make a check hard).

Run: .venv/bin/python bench/floors.py  (writes bench/results/floors.md)
Times are wall-clock on a shared machine: compare the columns of one run with each other.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import z3

from tbcheck.model.registry import builtin
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.floors import with_order_facts
from tbcheck.proofs.unroll import unroll

ROOT = Path(__file__).resolve().parents[1]
CELLS = [("seed-corrected", "monotonic", 3), ("seed-corrected", "guest-frequency", 3),
         ("seed-corrected", "tracks-wall-clock", 3)]
TIMEOUT_S = 3.0
FIXED_HZ = 512_000_000


def _run(constraints: list[z3.BoolRef], terms: list[z3.BoolRef]) -> tuple[float, Counter[str]]:
    t0, verdicts = time.perf_counter(), Counter[str]()
    for term in terms:
        s = z3.Solver()
        s.set("timeout", int(TIMEOUT_S * 1000))
        s.add(constraints)
        s.add(term)
        verdicts[str(s.check())] += 1
    return time.perf_counter() - t0, verdicts


def main() -> None:
    lines = ["# Order facts on the checks of one step (3 s a check, each on its own solver)", "",
             "| rule set | property | step | checks | plain | with order facts "
             "| plain, frequencies fixed |", "|---|---|---|---|---|---|---|"]
    for name, prop, step in CELLS:
        u = unroll(builtin(name), Envelope(depth=step))
        terms = [s.violated for s in u.sites[prop] if s.step == step
                 and not z3.is_false(s.violated)]
        fixed = [h.freq.v == FIXED_HZ for h in u.sym.params.hosts if h.freq.symbolic]
        cells = []
        for constraints, asked in ((u.sym.constraints, terms),
                                   (u.sym.constraints, [with_order_facts(t) for t in terms]),
                                   (u.sym.constraints + fixed, terms)):
            seconds, verdicts = _run(constraints, asked)
            cells.append(f"{seconds:.1f} s, {verdicts['unknown']} undecided")
        lines.append(f"| {name} | {prop} | {step} | {len(terms)} | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    out = ROOT / "bench" / "results" / "floors.md"
    out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
