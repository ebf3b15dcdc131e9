"""What each built-in cell gives at every depth, and the declaration that says it.

Runs `tbcheck prove --depth D --json` over the built-in rule sets for D = 1..MAX (default 8),
at the default budgets, and writes per cell the outcomes and the declaration
(``tbcheck.gate``'s forms) that predicts them all; a cell whose outcomes no declaration
predicts (an `unknown` at some depth, say) is flagged. Verdicts are deterministic, so the
declarations are a fair gate at any depth.

Run: .venv/bin/python bench/declarations.py [MAX]  (writes bench/results/declarations-DATE.md)
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tbcheck.gate import Declaration, outcome  # noqa: E402


def declaration(outcomes: dict[int, str]) -> Declaration | None:
    """The declaration whose ``due`` is every one of ``outcomes`` (by depth), if any."""
    depths = sorted(outcomes)
    violated = [d for d in depths if outcomes[d] == "violated"]
    vacuous = [d for d in depths if outcomes[d] == "vacuous"]
    situation = max(vacuous) + 1 if vacuous else 1
    partial = [(d, int(outcomes[d].split("@")[1])) for d in depths
               if outcomes[d].startswith("proved@")]
    proved_to = partial[0][1] if partial else None
    less: list[tuple[int, int]] = []  # where a deeper question reaches less (gate's "; to depth")
    for d, k in partial[1:]:
        if k < (less[-1][1] if less else partial[0][1]):
            less.append((d, k))
    decl = Declaration(min(violated) if violated else None, proved_to, situation, tuple(less))
    return decl if all(decl.due(d) == outcomes[d] for d in depths) else None


def main() -> None:
    top = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    cells: dict[tuple[str, str], dict[int, str]] = {}
    walls = []
    for depth in range(1, top + 1):
        t = time.perf_counter()
        proc = subprocess.run([str(ROOT / ".venv/bin/tbcheck"), "prove", "--depth", str(depth),
                               "--json"], capture_output=True, text=True, cwd=ROOT)
        walls.append(time.perf_counter() - t)
        for r in json.loads(proc.stdout)["results"]:
            cells.setdefault((r["variant"], r["property"]), {})[depth] = outcome(r, depth)
        print(f"depth {depth}: {walls[-1]:.1f} s", file=sys.stderr, flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    today = datetime.date.today().isoformat()
    lines = [f"# Outcomes at depths 1 to {top} and their declarations", "",
             f"{today}, commit {commit}, {platform.machine()} {os.cpu_count()} cores; wall "
             "time of each depth's run: " + ", ".join(f"{w:.0f} s" for w in walls), "",
             "| rule set | property | " + " | ".join(f"d{d}" for d in range(1, top + 1)) +
             " | declaration |", "|---" * (top + 3) + "|"]
    for (variant, prop), got in cells.items():
        decl = declaration(got)
        lines.append(f"| {variant} | {prop} | " + " | ".join(got[d] for d in sorted(got)) +
                     f" | {decl if decl else 'NONE FITS'} |")
    out = ROOT / "bench" / "results" / f"declarations-{today}.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
