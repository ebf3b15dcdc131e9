"""A hard check split by the events of its first steps, each case with its ``ite``s gone.

A merged unrolling (``proofs.unroll``) makes every number an ``ite`` over the paths that reach
its state, and z3 can stall on one check of such numbers for longer than a cell's budget, while
the same check with the first steps' events fixed takes a few hundredths of a second: the
choice of step 1 is substituted, the term simplified, and each case is asked on its own; a case
still undecided is split on step 2, and so on (qemu-tcg frozen-when-stopped, the 6 checks of
step 5: undecided in 10 s each, 11.7 s together by cases).
"""

from __future__ import annotations

import z3

from tbcheck.proofs.budget import Budget
from tbcheck.proofs.floors import with_order_facts
from tbcheck.proofs.query import on_own

WHOLE = 300_000  # the whole check's own try: many are decided whole with this much
CASE = 75_000  # a case's own try before it is split on the next step


def by_cases(constraints: list[z3.BoolRef], term: z3.BoolRef, steps: list[list[z3.BoolRef]],
             budget: Budget, facts: bool = False, fixed: tuple[z3.BoolRef, ...] = ()
             ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
    """Is ``term`` satisfiable under ``constraints``? ``steps`` are the one-hot event choices
    of the steps ``term`` depends on, in order (``fixed``: the choices already substituted).
    unsat when every case is; a model (of the whole term, so that it decodes into events)
    when one case is satisfiable; unknown when the budget runs out first. With ``facts``, each
    question carries its divisions' order facts (``proofs.floors``)."""
    if budget.out:
        return z3.unknown, None
    asked = with_order_facts(term) if facts else term
    r, _ = on_own(constraints, asked,
                  budget.share(CASE if fixed else WHOLE) if steps else budget.left)
    if r == z3.sat:  # ask again with the case's events asserted, so that the model names them
        return on_own([*constraints, *fixed], asked, budget.left)
    if r == z3.unsat or not steps:
        return r, None
    choice, rest = steps[0], steps[1:]
    for j, chosen in enumerate(choice):
        case = z3.simplify(z3.substitute(term, *[(b, z3.BoolVal(i == j))
                                                 for i, b in enumerate(choice)]))
        if z3.is_false(case):
            continue
        r, m = by_cases(constraints, case, rest, budget, facts, (*fixed, chosen))
        if r != z3.unsat:
            return r, m
    return z3.unsat, None
