"""Facts about floor division that z3's integer engine is slow to find for itself.

Every host counter and every conversion of nanoseconds to ticks is ``x / 10**9`` (z3's integer
division, a floor for a positive divisor) of a large sum. A monotonic check needs little more
than "``x <= y`` implies ``x / c <= y / c``", but the integer engine reaches that only by
cutting planes over numbers near 2**62, and stalls. The facts hold of all integers in the
envelope's ranges, which every question asserts, so stating them beside a question changes no
answer: a model is still a model of the question, and *unsat* is still a proof. Measured
(bench/results/floors.md): seed-corrected's 179 monotonic checks of step 3 take 2.6 s with
these facts and 73.0 s without, 9 of them undecided at 3 s each.
"""

from __future__ import annotations

import z3

from tbcheck.model.intervals import Form, difference, form, form_bounds
from tbcheck.proofs.terms import each_app

MAX_DIVISIONS = 48  # a question with more divisions by one constant gets no facts about them


def divisions(term: z3.ExprRef) -> dict[int, list[z3.ArithRef]]:
    """The subterms ``x / c`` of ``term`` with ``c`` a positive numeral, grouped by ``c``."""
    ref = term.ctx.ref()
    found: dict[int, list[z3.ArithRef]] = {}
    for a in each_app(term):
        if z3.Z3_get_decl_kind(ref, z3.Z3_get_app_decl(ref, a)) != z3.Z3_OP_IDIV:
            continue
        c = z3.Z3_get_app_arg(ref, a, 1)
        if z3.Z3_get_ast_kind(ref, c) == z3.Z3_NUMERAL_AST:
            divisor = int(z3.Z3_get_numeral_string(ref, c))
            if divisor > 0:
                found.setdefault(divisor, []).append(z3.ArithRef(a, term.ctx))
    return found


def _at_most(x: Form, y: Form) -> bool:
    """Whether the envelope's ranges alone show ``x <= y`` (like monomials cancelled)."""
    iv = form_bounds(difference(y, x))
    return iv is not None and iv[0] >= 0


def order_facts(term: z3.ExprRef) -> list[z3.BoolRef]:
    """For each two divisions by the same constant, that the smaller dividend has the smaller
    quotient: unconditional where the ranges already order the dividends, else as an
    implication each way. Their number grows as the square of the divisions', and the deep
    steps' questions, with over ``MAX_DIVISIONS``, stall with or without them: those get none."""
    facts: list[z3.BoolRef] = []
    for group in divisions(term).values():
        if len(group) > MAX_DIVISIONS:
            continue
        dividends = [d.arg(0) for d in group]
        forms = [form(x) for x in dividends]
        for i, a in enumerate(group):
            for j in range(i + 1, len(group)):
                b, x, y = group[j], dividends[i], dividends[j]
                if _at_most(forms[i], forms[j]):
                    facts.append(a <= b)
                elif _at_most(forms[j], forms[i]):
                    facts.append(b <= a)
                else:
                    facts += [z3.Implies(x <= y, a <= b), z3.Implies(y <= x, b <= a)]
    return facts


def with_order_facts(term: z3.BoolRef) -> z3.BoolRef:
    """``term`` and its divisions' order facts: the same models, found sooner."""
    facts = order_facts(term)
    return z3.And(term, *facts) if facts else term
