"""The full verdict matrix, per cell: every built-in rule set against every property, with
each cell's z3 resource count (its budget's measure, the same on every run) and its time.

Run: .venv/bin/python bench/matrix.py [depth] [rlimit]  (writes
bench/results/matrix-dDEPTH-DATE.md with the date, the commit and the machine).
Times are wall-clock on a shared machine: compare cells with each other within one run.
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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def table(results: list[dict[str, Any]], depth: int) -> list[str]:
    """A Markdown row a rule set, a column a property; each cell its outcome as the table of
    `prove` gives it, z3 resource units (millions) and seconds."""
    props: list[str] = []
    rows: dict[str, dict[str, str]] = {}
    for r in results:
        if r["property"] not in props:
            props.append(r["property"])
        cell = r["verdict"] + (f"@{r['depth']}" if r["verdict"] == "proved" and
                               r["depth"] < depth else "")
        cell += " (all)" if r.get("unbounded") else ""
        cell += (f" {r['resources'] / 1e6:.2f}M {r['seconds']:.2f} s" +
                 (" (fuzz)" if r.get("found_by") == "fuzz" else ""))
        rows.setdefault(r["variant"], {})[r["property"]] = cell
    lines = ["| rule set | " + " | ".join(props) + " |", "|---" * (len(props) + 1) + "|"]
    return lines + [f"| {v} | " + " | ".join(row.get(p, "") for p in props) + " |"
                    for v, row in rows.items()]


def main() -> None:
    depth = sys.argv[1] if len(sys.argv) > 1 else "4"
    rlimit = sys.argv[2] if len(sys.argv) > 2 else "20M"
    t = time.perf_counter()
    proc = subprocess.run([str(ROOT / ".venv/bin/tbcheck"), "prove", "--depth", depth,
                           "--rlimit", rlimit, "--json"], capture_output=True, text=True,
                          cwd=ROOT)
    wall = time.perf_counter() - t
    data = json.loads(proc.stdout)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    today = datetime.date.today().isoformat()
    lines = [f"# Verdict matrix, depth {depth}, {rlimit} resource units a cell, 2 workers", "",
             f"{today}, commit {commit}, {platform.machine()} {os.cpu_count()} cores "
             f"({platform.platform()}); each cell: verdict, z3 resource units (millions), "
             "seconds.", "",
             f"Wall time of the whole run: {wall:.1f} s (exit status {proc.returncode}).", "",
             *table(data["results"], int(depth))]
    out = ROOT / "bench" / "results" / f"matrix-d{depth}-{today}.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
