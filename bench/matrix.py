"""The full verdict matrix, timed per cell: every built-in rule set against every property.

Run: .venv/bin/python bench/matrix.py [depth] [timeout_s]  (writes bench/results/matrix-dDEPTH.md)
Times are wall-clock on a shared machine: compare cells with each other within one run.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    depth = sys.argv[1] if len(sys.argv) > 1 else "4"
    timeout = sys.argv[2] if len(sys.argv) > 2 else "20"
    t = time.perf_counter()
    proc = subprocess.run([str(ROOT / ".venv/bin/tbcheck"), "prove", "--depth", depth,
                           "--timeout", timeout, "--json"], capture_output=True, text=True,
                          cwd=ROOT)
    wall = time.perf_counter() - t
    data = json.loads(proc.stdout)
    props: list[str] = []
    rows: dict[str, dict[str, str]] = {}
    for r in data["results"]:
        if r["property"] not in props:
            props.append(r["property"])
        cell = f"{r['verdict']}" + (f"@{r['depth']}" if r["verdict"] == "proved" and
                                    r["depth"] < int(depth) else "")
        cell += " (all)" if r.get("unbounded") else ""
        cell += f" {r['seconds']:.2f} s" + (" (fuzz)" if r.get("found_by") == "fuzz" else "")
        rows.setdefault(r["variant"], {})[r["property"]] = cell
    lines = [f"# Verdict matrix, depth {depth}, timeout {timeout} s a cell, 2 worker processes",
             "", f"Wall time of the whole run: {wall:.1f} s (exit status {proc.returncode}).", "",
             "| rule set | " + " | ".join(props) + " |", "|---" * (len(props) + 1) + "|"]
    for v, cells in rows.items():
        lines.append(f"| {v} | " + " | ".join(cells.get(p, "") for p in props) + " |")
    out = ROOT / "bench" / "results" / f"matrix-d{depth}.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
