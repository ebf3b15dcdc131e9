"""The verdict cache (tbcheck/cache.py): the default matrix plus a user's rule file, run cold
(an empty cache), warm (the same command again), and after an edit of the user's file (a
comment added: only its cells are decided again).

Run: .venv/bin/python bench/cache.py [depth] [rlimit]  (writes
bench/results/cache-dDEPTH-DATE.md with the date, the commit and the machine). The cache is a
fresh temporary folder, the user's file a copy of examples/seed_units_fixed_int64.py. Times are
wall-clock on a shared machine, of the whole command (Python's start and z3's import too).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.matrix import table  # noqa: E402
from tbcheck.model.registry import BUILTIN_MODULES  # noqa: E402


def prove(args: list[str], cache: Path) -> tuple[float, int, dict[str, Any]]:
    env = dict(os.environ, TBCHECK_CACHE_DIR=str(cache))
    t = time.perf_counter()
    proc = subprocess.run([str(ROOT / ".venv/bin/tbcheck"), "prove", *args, "--json"],
                          capture_output=True, text=True, cwd=ROOT, env=env)
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        sys.exit(f"tbcheck prove failed ({proc.returncode}): {proc.stderr}")
    return wall, proc.returncode, json.loads(proc.stdout)


def as_cold(cold: dict[str, Any], doc: dict[str, Any]) -> str:
    """Whether a run's records are the cold run's, but for ``cached`` (and the run's time)."""
    def strip(d: dict[str, Any], drop: tuple[str, ...]) -> list[dict[str, Any]]:
        return [{k: v for k, v in r.items() if k not in drop} for r in d["results"]]
    if strip(cold, ("cached",)) == strip(doc, ("cached",)):
        return "yes"
    if strip(cold, ("cached", "seconds")) == strip(doc, ("cached", "seconds")):
        return "yes, but the seconds of the cells decided again"
    return "NO"


def main() -> None:
    depth = sys.argv[1] if len(sys.argv) > 1 else "2"
    rlimit = sys.argv[2] if len(sys.argv) > 2 else "20M"
    with tempfile.TemporaryDirectory(prefix="tbcheck-bench-cache-") as tmp:
        cache, user = Path(tmp) / "cache", Path(tmp) / "my_patch.py"
        shutil.copy(ROOT / "examples" / "seed_units_fixed_int64.py", user)
        args = [a for n in BUILTIN_MODULES for a in ("--variant", n)]
        args += ["--variant-file", str(user), "--depth", depth, "--rlimit", rlimit]
        runs = {}
        runs["cold"] = prove(args, cache)
        runs["warm"] = prove(args, cache)
        with user.open("a") as f:
            f.write("# a comment: the source changed, its meaning did not\n")
        runs["edited"] = prove(args, cache)
        files = len(list((cache / "verdicts").glob("*.json")))
        size = sum(f.stat().st_size for f in (cache / "verdicts").glob("*.json"))
    cold = runs["cold"][2]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    today = datetime.date.today().isoformat()
    cells = len(cold["results"])
    lines = [f"# Verdict cache: cold, warm and one-file-edited matrix, depth {depth}, "
             f"{rlimit} resource units a cell, 2 workers", "",
             f"{today}, commit {commit}, {platform.machine()} {os.cpu_count()} cores "
             f"({platform.platform()}), shared with other jobs. The {len(BUILTIN_MODULES)} "
             f"built-in rule sets and one user's file (a copy of "
             f"examples/seed_units_fixed_int64.py), {cells} cells; `tbcheck prove --json` with "
             "a fresh cache folder. Wall time: the whole command, as a user waits for it.", "",
             "| run | wall time | cells decided | cells from the cache | exit | records as "
             "cold |", "|---|---|---|---|---|---|"]
    for name, (wall, rc, doc) in runs.items():
        hit = sum(r["cached"] for r in doc["results"])
        lines.append(f"| {name} | {wall:.2f} s | {cells - hit} | {hit} | {rc} | "
                     f"{as_cold(cold, doc)} |")
    lines += ["", f"The cache after the three runs: {files} files, {size / 1024:.0f} KiB.",
              "Editing a built-in rule set changes tbcheck's own sources, which are in every "
              "key: the whole matrix is decided again, as cold.", "",
              "Cold run, each cell: outcome, z3 resource units (millions), seconds.", ""]
    lines += table(cold["results"], int(depth))
    out = ROOT / "bench" / "results" / f"cache-d{depth}-{today}.md"
    out.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
