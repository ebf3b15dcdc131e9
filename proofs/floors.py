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

from model.intervals import Form, form

MAX_DIVISIONS = 48  # a question with more divisions by one constant gets no facts about them


def divisions(term: z3.ExprRef) -> dict[int, list[z3.ArithRef]]:
    """The subterms ``x / c`` of ``term`` with ``c`` a positive numeral, grouped by ``c``. (The
    walk reads the AST through z3's C API: a z3py object for every node costs more.)"""
    ctx = term.ctx
    ref = ctx.ref()
    found: dict[int, list[z3.ArithRef]] = {}
    seen: set[int] = set()
    stack = [term.as_ast()]
    while stack:
        a = stack.pop()
        key = z3.Z3_get_ast_id(ref, a)
        if key in seen or z3.Z3_get_ast_kind(ref, a) != z3.Z3_APP_AST:
            continue
        seen.add(key)
        n = z3.Z3_get_app_num_args(ref, a)
        if z3.Z3_get_decl_kind(ref, z3.Z3_get_app_decl(ref, a)) == z3.Z3_OP_IDIV:
            c = z3.Z3_get_app_arg(ref, a, 1)
            if z3.Z3_get_ast_kind(ref, c) == z3.Z3_NUMERAL_AST:
                divisor = int(z3.Z3_get_numeral_string(ref, c))
                if divisor > 0:
                    found.setdefault(divisor, []).append(z3.ArithRef(a, ctx))
        stack.extend(z3.Z3_get_app_arg(ref, a, i) for i in range(n))
    return found


def _at_most(x: Form, y: Form) -> bool:
    """Whether the envelope's ranges alone show ``x <= y``: the least value of ``y - x``, its
    like monomials cancelled, is not negative."""
    (cx, mx), (cy, my) = x, y
    least = cy - cx
    for pp in mx.keys() | my.keys():
        c = my.get(pp, (0, None))[0] - mx.get(pp, (0, None))[0]
        if c:
            iv = (my.get(pp) or mx[pp])[1]
            if iv is None:
                return False
            least += min(c * iv[0], c * iv[1])
    return least >= 0


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
