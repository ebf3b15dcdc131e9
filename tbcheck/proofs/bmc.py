"""Verdicts: one rule set against one property, by a pipeline of named passes.

The passes (``proofs.passes``, ``proofs.bounded``) run in order, each ending the cell with a
verdict or handing on: the assumptions' witness (they can hold at all), random concrete runs,
the induction when asked first, the solver's search for a counterexample, the bounded proof,
fuzzing when the solver cannot decide, and the situation's witness (the property's situation
is reachable within the depth, else the proof would be vacuous, and says so). A violation,
whoever finds it, is replayed through the concrete engine, which must show it. What a cell
may spend and try is one ``CellOptions`` (``proofs.options``), the same for every pass.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import z3

from tbcheck.model.api import RuleSet
from tbcheck.proofs.bounded import bounded_proof, search
from tbcheck.proofs.budget import spent_so_far
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.induction import Inductor
from tbcheck.proofs.memo import FactsSource, work
from tbcheck.proofs.options import DEFAULTS, CellOptions
from tbcheck.proofs.passes import (
    Cell,
    Pass,
    assumptions,
    assumptions_hold,
    fuzz,
    hunted,
    induction_first,
    random_runs,
    reachability,
    spent,
    undecided,
)
from tbcheck.proofs.unroll import Unrolling, symbols
from tbcheck.proofs.verdict import Status, Verdict

#: the passes of a cell, in order; the last always decides
PASSES: tuple[Pass, ...] = (assumptions, random_runs, induction_first, search, bounded_proof,
                            fuzz, undecided, reachability)


def check(u: Unrolling, prop: str, options: CellOptions = DEFAULTS,
          inductor: Inductor | None = None) -> Verdict:
    """Decide ``prop`` for the unrolled rule set within its depth, by ``PASSES``, with what
    ``options`` allow (budgets in z3's resource units, never seconds, so that the verdict is
    the same on any machine under any load). With ``inductor``, the bounded passes pause for
    the induction (or it goes first: ``options.induction_first``)."""
    cell = Cell.open(u, prop, options, inductor)
    for step in PASSES:
        if (v := step(cell)) is not None:
            return cell.close(v)
    raise AssertionError("the situation's witness always decides")


def envs_of(rules: type[RuleSet], props: list[str], env: Envelope,
            use_assumptions: bool) -> dict[tuple[tuple[str, Any], ...], Envelope]:
    """The envelopes ``props`` are proved under, in a fixed order: ``env`` itself, and ``env``
    with the assumptions a built-in cell declares (e.g. the seed's synchronised clocks)."""
    out: dict[tuple[tuple[str, Any], ...], Envelope] = {}
    for p in props:
        extra = tuple(sorted((rules.assume.get(p, {}) if use_assumptions else {}).items()))
        out.setdefault(extra, replace(env, **dict(extra)) if extra else env)
    return out


def prepare(rules: type[RuleSet], env: Envelope, use_assumptions: bool) -> None:
    """Unroll the rule set under every envelope any of its cells may ask, in a fixed order,
    so that a process forked afterwards for any cell starts from the same solver state
    whichever cells a run asks (``tbcheck.workers``: a verdict must not depend on them)."""
    from tbcheck.properties import property_names

    for e in envs_of(rules, property_names(), env, use_assumptions).values():
        work(rules, e).unrolled()


def check_rules(rules: type[RuleSet], props: list[str], env: Envelope,
                options: CellOptions = DEFAULTS, facts: FactsSource | None = None
                ) -> list[Verdict]:
    """Each property's verdict (``check``); the rule set is unrolled once per distinct
    envelope (a cell may declare assumptions, e.g. the seed's synchronised clocks, when
    ``options.use_assumptions``). The random runs go before the unrolling: what they refute
    needs none. With ``options.invariant_units``, the induction's invariant is searched for
    once per rule set and envelope (with ``facts``, the run's one search, whose facts are
    rebuilt here; without, searched here)."""
    found: dict[str, Verdict] = {}
    cell_envs = envs_of(rules, props, env, options.use_assumptions)
    for p in props:
        extra = tuple(sorted((rules.assume.get(p, {}) if options.use_assumptions else {}
                              ).items()))
        cell_env = cell_envs[extra]
        t0, r0 = time.perf_counter(), spent_so_far()
        runs = options.random_runs
        v = _hunted_first(rules, p, cell_env, runs) if runs else None
        if v is not None:
            spent(v, t0, r0)
        else:
            w = work(rules, cell_env)
            inductor = (w.inductor(options.invariant_units, facts)
                        if options.invariant_units > 0 else None)
            hunting, hunted_units = time.perf_counter() - t0, spent_so_far() - r0
            v = check(w.unrolled(), p, options, inductor)
            v.seconds += hunting  # the runs count in the cell's time
            v.resources += hunted_units
        v.assumptions = cell_env.default_assumptions()
        found[p] = v
    return [found[p] for p in props]


def _hunted_first(rules: type[RuleSet], prop: str, env: Envelope, runs: int) -> Verdict | None:
    """The random runs' verdict, if they find a violation: that needs no unrolling (about a
    second a rule set at depth 8), only the envelope's symbols for witness 1. When they find
    none, ``check`` asks witness 1 itself (and gets the runs from the process's memo)."""
    v = Verdict(rules.name, prop, Status.UNKNOWN, env.depth)
    if hunted(rules, env, v, runs) is None:
        return None
    solver = z3.Solver()
    solver.add(symbols(env, scaling=rules.scales).constraints)
    return v if assumptions_hold(v, solver) else None  # else ``check`` says
