"""Mutation check of seed-anchored: does `tbcheck prove` kill every single-change mutant?

Each file in bench/mutants/ is seed-anchored with one change (its name and declarations aside)
and says on its first line what the change is and either which property must kill it
(``# killed by PROPERTY: change``) or that it is equivalent (``# equivalent: change``). A
mutant is killed when that property is violated by a counterexample the concrete engine
replayed; an equivalent one must have every cell proved at the depth asked of it (its own,
``--equiv-depth``: the anchored TB's bounded proofs are far costlier than finding a kill).
Killed mutants are asked only their property (``--all`` asks all seven, to list every killing
cell).

Run: .venv/bin/python bench/mutation.py [--depth N] [--rlimit UNITS] [--equiv-depth N]
     [--equiv-rlimit UNITS] [--random-runs N] [--all] [NAME ...]
Writes bench/results/mutation-YYYY-MM-DD.md (date, commit, machine, each mutant's cells).
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MUTANTS = ROOT / "bench" / "mutants"
RUNS = 5000  # random runs before the solver: re-anchoring at every resume needs two hops to
# hosts whose clocks disagree, which seeds 0 to 2 hit after 606 to 1553 runs (prove's default,
# 200, is tuned for the historical bugs; the solver's depth-3 search exceeds 20M units)
PROPERTIES = ["monotonic", "frozen-when-stopped", "tracks-wall-clock", "guest-frequency",
              "vcpus-agree", "snapshot-frozen", "no-overflow"]


@dataclass(frozen=True)
class Mutant:
    name: str
    path: Path
    change: str
    killer: str | None  # the property that must kill it; None: equivalent

    @property
    def equivalent(self) -> bool:
        return self.killer is None


def parse(path: Path) -> Mutant:
    """A mutant from its first line; a file without the header is an error, not a skip."""
    first = path.read_text().splitlines()[0]
    if first.startswith("# equivalent: "):
        return Mutant(path.stem, path, first.removeprefix("# equivalent: "), None)
    head, sep, change = first.removeprefix("# killed by ").partition(": ")
    if not first.startswith("# killed by ") or not sep or head not in PROPERTIES:
        raise ValueError(f"{path.name}: first line must be '# killed by PROPERTY: change' or "
                         "'# equivalent: change'")
    return Mutant(path.stem, path, change, head)


def mutants(names: list[str] | None = None) -> list[Mutant]:
    found = [parse(p) for p in sorted(MUTANTS.glob("*.py"))]
    if names:
        unknown = set(names) - {m.name for m in found}
        if unknown:
            raise ValueError(f"no such mutant: {', '.join(sorted(unknown))}")
        found = [m for m in found if m.name in names]
    return found


@dataclass
class Outcome:
    mutant: Mutant
    depth: int
    cells: dict[str, dict[str, Any]] = field(default_factory=dict)  # property -> JSON result
    seconds: float = 0.0
    error: str = ""

    def killing(self) -> list[str]:
        """Properties violated by a replayed counterexample."""
        return [p for p, r in self.cells.items() if r["verdict"] == "violated"
                and (r.get("counterexample") or {}).get("replayed")]

    @property
    def killed(self) -> bool:
        """Killed by its property, where seed-anchored itself is not violated at this depth
        (a property the original breaks kills nothing)."""
        return self.mutant.killer in self.killing() and \
            _original_due(self.mutant.killer or "", self.depth) != "violated"

    @property
    def ok(self) -> bool:
        """As the mutant's header demands: killed by its property, or every cell what
        seed-anchored's declaration makes due at the depth asked (proved there, or violated
        where the original is)."""
        if self.error:
            return False
        if self.mutant.equivalent:
            return len(self.cells) == len(PROPERTIES) and all(
                _original_due(p, self.depth) == ("violated" if r["verdict"] == "violated" else
                                                 "proved" if r["verdict"] == "proved" and (
                                                     r.get("unbounded") or
                                                     r.get("depth") == self.depth)
                                                 else r["verdict"])
                for p, r in self.cells.items())
        return self.killed


def _original_due(prop: str, depth: int) -> str:
    """What seed-anchored's declaration makes due for ``prop`` at ``depth`` ("proved@k" taken
    as proved: a mutant's deeper proof does not make it different)."""
    from tbcheck.gate import due
    from tbcheck.model.registry import builtin

    want = due(builtin("seed-anchored").expected.get(prop), depth)
    return "proved" if want.startswith("proved") else want


def judge(m: Mutant, depth: int, rlimit: str, every_cell: bool = False,
          jobs: int = 2, runs: int = RUNS) -> Outcome:
    """`tbcheck prove` on one mutant (its property, or all seven), as the CLI reports it."""
    props = PROPERTIES if (every_cell or m.equivalent) else [m.killer or ""]
    argv = [sys.executable, "-c", "from tbcheck.cli import entry; entry()", "prove",
            "--variant-file", str(m.path),
            "--depth", str(depth), "--rlimit", rlimit, "--jobs", str(jobs), "--json",
            "--random-runs", str(runs),
            *[a for p in props for a in ("--property", p)]]
    t = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
    out = Outcome(m, depth, seconds=time.perf_counter() - t)
    try:
        doc = json.loads(proc.stdout)
    except json.JSONDecodeError:
        out.error = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return out
    out.cells = {r["property"]: r for r in doc["results"]}
    return out


def cell_text(r: dict[str, Any]) -> str:
    v = r["verdict"]
    if v == "proved" and r.get("depth") is not None:
        v += " (all)" if r.get("unbounded") else f"@{r['depth']}"
    if v == "violated":
        cx = r.get("counterexample") or {}
        v += " (replayed)" if cx.get("replayed") else " (NOT replayed)"
        v += f" at {len(cx.get('events', []))} events"
    return v


def report(outs: list[Outcome], depth: int, rlimit: str, wall: float,
           equiv: tuple[int, float], runs: int = RUNS) -> str:
    killable = [o for o in outs if not o.mutant.equivalent]
    same = [o for o in outs if o.mutant.equivalent]
    killed = sum(o.killed for o in killable)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True, cwd=ROOT).stdout.strip()
    lines = [f"# Mutation check of seed-anchored, depth {depth}, {rlimit} resource units a cell "
             f"(equivalent mutants: depth {equiv[0]}, {equiv[1]}), {runs} random runs", "",
             f"Date: {datetime.date.today().isoformat()}; commit {commit}; machine: "
             f"`{' '.join(platform.uname())}`, nproc {os.cpu_count()}; wall time {wall:.0f} s.",
             "", f"Kill rate: {killed}/{len(killable)} non-equivalent mutants killed by their "
             "property with a replayed counterexample; equivalent mutants with every cell "
             f"proved: {sum(o.ok for o in same)}/{len(same)}.", "",
             "| mutant | change | must be | killing cells | verdicts | s |", "|---" * 6 + "|"]
    for o in outs:
        want = "equivalent" if o.mutant.equivalent else f"killed by {o.mutant.killer}"
        verdicts = o.error or "; ".join(f"{p}: {cell_text(r)}" for p, r in o.cells.items())
        mark = "" if o.ok else " **MISSED**"
        lines.append(f"| {o.mutant.name}{mark} | {o.mutant.change} | {want} | "
                     f"{', '.join(o.killing()) or '-'} | {verdicts} | {o.seconds:.1f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--depth", type=int, default=4)
    ap.add_argument("--rlimit", default="20M")
    ap.add_argument("--equiv-depth", type=int, default=2)
    ap.add_argument("--equiv-rlimit", default="100M")
    ap.add_argument("--all", action="store_true", help="ask every mutant all seven properties")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--random-runs", type=int, default=RUNS)
    ap.add_argument("--no-write", action="store_true")
    ap.add_argument("names", nargs="*", help="mutants by file stem (default: all)")
    a = ap.parse_args(argv)
    try:
        chosen = mutants(a.names)
    except ValueError as exc:
        print(f"mutation: {exc}", file=sys.stderr)
        return 2
    t = time.perf_counter()
    outs = []
    for m in chosen:
        o = (judge(m, a.equiv_depth, a.equiv_rlimit, True, a.jobs, a.random_runs)
             if m.equivalent else judge(m, a.depth, a.rlimit, a.all, a.jobs, a.random_runs))
        print(f"{m.name}: {'ok' if o.ok else 'MISSED'} (killing: "
              f"{', '.join(o.killing()) or '-'}) {o.seconds:.1f} s", file=sys.stderr)
        outs.append(o)
    text = report(outs, a.depth, a.rlimit, time.perf_counter() - t,
                  (a.equiv_depth, a.equiv_rlimit), a.random_runs)
    print(text)
    if not a.no_write:
        out = ROOT / "bench" / "results" / f"mutation-{datetime.date.today().isoformat()}.md"
        out.write_text(text)
    return 0 if all(o.ok for o in outs) else 1


if __name__ == "__main__":
    sys.exit(main())
