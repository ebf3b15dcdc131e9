"""Fuzzing vs SMT on the historical bugs: time to find each, side by side, in one run.

For each bug: the fuzzer (Hypothesis state machine, no shrinking: time to the first violation)
over several seeds within a budget of examples, and whether it finds it at all; then the SMT
engine on the same envelope, two ways: as ``prove`` runs it (unroll to the full depth, then
``proofs.bmc`` asks step by step) and by iterative deepening (unroll depth 1, 2, ... until the
first violation). Prints a Markdown table and writes it to bench/results/fuzz_vs_smt.md.

    .venv/bin/python bench/fuzz_vs_smt.py [--budget 2000] [--seeds 5] [--depth 8]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import hypothesis
import z3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tbcheck.model.registry import builtin  # noqa: E402
from tbcheck.proofs.envelope import Envelope  # noqa: E402
from tbcheck.proofs.fuzz import fuzz  # noqa: E402
from tbcheck.proofs.unroll import unroll  # noqa: E402

BUGS: list[tuple[str, str, str]] = [
    ("v1: stop, wait, migrate, cont", "qemu-ppc-v1", "frozen-when-stopped"),
    ("v2: savevm is not PAUSED", "qemu-ppc-v2", "snapshot-frozen"),
    ("v0: paused TB runs", "qemu-ppc-v0", "frozen-when-stopped"),
    ("seed as written: ns / Hz", "seed-as-written", "tracks-wall-clock"),
    ("TCG: downtime not counted", "qemu-tcg", "tracks-wall-clock"),
    ("units fixed: clocks disagree", "seed-units-fixed", "monotonic"),
    # beyond the historical list: one at the envelope's corners (clocks exactly eps apart, the
    # slowest counter, 0 ns phases), one that needs two migrations while paused
    ("(extra) as written: clocks disagree", "seed-as-written", "monotonic"),
    ("(extra) v3: two hops while paused", "qemu-ppc-v3", "frozen-when-stopped"),
]


@dataclass
class SmtResult:
    verdict: str
    step: int | None
    unroll_s: float
    solve_s: float

    @property
    def total_s(self) -> float:
        return self.unroll_s + self.solve_s


TIMEOUT_S = 60.0


def smt_check(name: str, prop: str, env: Envelope) -> SmtResult:
    """One unrolling to ``env.depth``, then the step-by-step search (``proofs.bmc`` when it
    exists; else the same search on the unrolling's sites)."""
    t0 = time.perf_counter()
    u = unroll(builtin(name), env)
    unroll_s = time.perf_counter() - t0
    try:
        from tbcheck.proofs import bmc
    except ImportError:
        bmc = None  # type: ignore[assignment]
    if bmc is not None and hasattr(bmc, "check"):
        v = bmc.check(u, prop, timeout_s=TIMEOUT_S)
        cx = getattr(v, "counterexample", None)
        return SmtResult(v.verdict, getattr(cx, "step", None), unroll_s, v.seconds)
    return _own_search(u, prop, unroll_s)


def _own_search(u: Any, prop: str, unroll_s: float) -> SmtResult:
    t0 = time.perf_counter()
    s = z3.Solver()
    s.add(u.sym.constraints)
    sites = u.sites.get(prop, [])
    for k in range(u.env.depth + 1):
        for site in (x for x in sites if x.step == k):
            s.push()
            s.add(site.violated)
            r = s.check()
            s.pop()
            if r == z3.sat:
                return SmtResult("violated", k, unroll_s, time.perf_counter() - t0)
    return SmtResult("not violated", None, unroll_s, time.perf_counter() - t0)


def smt_deepening(name: str, prop: str, env: Envelope) -> SmtResult:
    """Unroll depth 1, 2, ... and search each: the time until the first violation."""
    total_u = total_s = 0.0
    last = SmtResult("not violated", None, 0.0, 0.0)
    for d in range(1, env.depth + 1):
        last = smt_check(name, prop, replace(env, depth=d))
        total_u += last.unroll_s
        total_s += last.solve_s
        if last.verdict not in ("proved", "vacuous", "not violated"):
            break  # violated, or the solver gave up (deeper is no easier)
    return SmtResult(last.verdict, last.step, total_u, total_s)


def fuzz_row(name: str, prop: str, env: Envelope, budget: int, seeds: int) -> dict[str, Any]:
    found_ex, found_s, rates = [], [], []
    for seed in range(seeds):
        out = fuzz(builtin(name), prop, env, profile="dev", examples=budget, seed_value=seed,
                   database=None, shrink=False)
        rates.append(out.examples_per_s)
        if out.verdict == "violated":
            found_ex.append(out.examples)
            found_s.append(out.seconds_to_find or out.seconds)
    shrunk = fuzz(builtin(name), prop, env, profile="dev", examples=budget, seed_value=0,
                  database=None)
    return {
        "found": len(found_ex), "seeds": seeds,
        "median_examples": statistics.median(found_ex) if found_ex else None,
        "max_examples": max(found_ex) if found_ex else None,
        "median_s": statistics.median(found_s) if found_s else None,
        "rate": statistics.median(rates),
        "shrink_s": shrunk.seconds,
        "events": len(shrunk.violation.events) if shrunk.violation else None,
        "shrunk_from": shrunk.shrunk_events,
    }


def throughput(name: str, env: Envelope, examples: int) -> tuple[float, float]:
    """Steady examples/s of the dev profile: a run judged on no property never stops early.
    Returns (examples/s, events/s)."""
    out = fuzz(builtin(name), "(none)", env, profile="dev", examples=examples, seed_value=0,
               database=None)
    return out.examples_per_s, out.events_run / out.seconds


def _f(x: float | None, fmt: str = ".2f") -> str:
    return "-" if x is None else format(x, fmt)


def _steps() -> int:
    from tbcheck.proofs.fuzz.runner import PROFILES

    return int(PROFILES["dev"]["stateful_step_count"])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=int, default=2000, help="examples per fuzzing run")
    ap.add_argument("--seeds", type=int, default=5, help="fuzzing runs (seeds 0..N-1)")
    ap.add_argument("--depth", type=int, default=8, help="SMT unrolling depth")
    ap.add_argument("--throughput", type=int, default=500,
                    help="examples per rule set for the throughput table")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "fuzz_vs_smt.md"))
    args = ap.parse_args()
    env = Envelope(slots=("s1", "s2"), depth=args.depth)
    load = os.getloadavg()[0]
    head = ("| bug | variant | property | fuzz found | examples to find (median / max) | "
            "fuzz s to find (median) | fuzz ex/s | shrink+minimize s | events | "
            "SMT depth-" + str(args.depth) + " s (unroll + solve) | SMT step | "
            "SMT deepening s |")
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for label, name, prop in BUGS:
        fz = fuzz_row(name, prop, env, args.budget, args.seeds)
        full = smt_check(name, prop, env)
        deep = smt_deepening(name, prop, env)
        smt = f"{full.total_s:.2f} ({full.unroll_s:.2f} + {full.solve_s:.2f})"
        if full.verdict != "violated":
            smt += f" {full.verdict}"
        row = (f"| {label} | {name} | {prop} | {fz['found']}/{fz['seeds']} | "
               f"{_f(fz['median_examples'], 'g')} / {_f(fz['max_examples'], 'g')} | "
               f"{_f(fz['median_s'], '.3f')} | {fz['rate']:.0f} | {fz['shrink_s']:.2f} | "
               f"{fz['shrunk_from']} -> {fz['events']} | {smt} | {_f(full.step, 'g')} | "
               f"{_f(deep.total_s)}{'' if deep.verdict == 'violated' else ' ' + deep.verdict} |")
        lines.append(row)
        print(row, flush=True)
    meta = (f"Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} CPUs "
            f"({platform.processor() or platform.machine()}), Python {platform.python_version()},"
            f" Hypothesis {hypothesis.__version__}, z3 {z3.get_version_string()}. "
            f"Envelope: defaults of docs/properties.md, 2 snapshot slots, SMT depth {args.depth}. "
            f"Fuzzing: profile dev, up to {args.budget} examples per run, "
            f"seeds 0..{args.seeds - 1}, time to the first violation without shrinking; "
            f"'shrink+minimize' is one run "
            f"(seed 0) with Hypothesis's shrinker and tbcheck's event deletion, events are "
            f"'shrunk example -> minimized'. SMT: unroll to depth {args.depth} then step-by-step "
            f"search (proofs.bmc, {TIMEOUT_S:g} s timeout), and iterative deepening (unroll "
            f"depth 1, 2, ... until sat). Load average at the start: {load:.1f} (other jobs on "
            f"the CPUs make every time longer).")
    rate = ["| rule set | examples/s | events/s |", "|---|---|---|"]
    from tbcheck.model.registry import BUILTIN_MODULES

    for name in BUILTIN_MODULES:
        ex, ev = throughput(name, env, args.throughput)
        rate.append(f"| {name} | {ex:.0f} | {ev:.0f} |")
        print(rate[-1], flush=True)
    doc = ("# Fuzzing vs SMT on the historical bugs\n\n" + meta + "\n\n" + "\n".join(lines)
           + "\n\n## Fuzzing throughput per rule set\n\nProfile dev (up to "
           + f"{_steps()} events per example), {args.throughput} examples judged on no property"
           + " (so none stops early), seed 0.\n\n" + "\n".join(rate) + "\n")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(doc)
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
