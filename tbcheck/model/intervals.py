"""Bounds of a z3 integer term from its variables' ranges, after cancelling what cancels.

The number domain's own bounds come from interval arithmetic, which cannot see that
``realtime_now - realtime_then`` loses the clocks' large common offset; simplifying the term to
a sum of monomials first lets ``base`` cancel, so a wrap that cannot happen costs no ``mod``.
"""

from __future__ import annotations

import re

import z3

# An unknown's range is part of its name (``model.domain.fresh`` names ``d1`` over 0..10 as
# ``d1[0:10]``), so a term's bounds are a function of the term alone: two envelopes' unknowns
# with different ranges are different unknowns, and no table outside the terms maps a name to
# a range that one run registered and another reads. The memos below are keyed by terms and
# hold what follows from them alone, so they too carry nothing from one run into another.
_RANGE = re.compile(r"\[(-?\d+):(-?\d+)\]\Z")


def ranged_name(name: str, lo: int, hi: int) -> str:
    """The name of an unknown ``name`` that ranges over ``lo..hi``."""
    return f"{name}[{lo}:{hi}]"


def name_range(name: str) -> tuple[int, int] | None:
    """The range an unknown's name declares, its last ``[lo:hi]`` (None: a name without one,
    such as an abstraction's own unknowns: range unknown)."""
    m = _RANGE.search(name)
    return None if m is None else (int(m.group(1)), int(m.group(2)))


_CTX = z3.main_ctx()
_REF = _CTX.ref()
Memo = dict[int, tuple[int, int] | None]


def term_interval(t: z3.ExprRef, memo: Memo | None = None) -> tuple[int, int] | None:
    """Sound bounds of ``t`` (None when some part is unknown)."""
    return _ast_interval(t.as_ast(), {} if memo is None else memo)


# The walk reads the AST through z3's C API: z3py's objects for every node visited cost more
# than the arithmetic. Nodes are keyed by AST id, as the memo always was.


def _ast_interval(a: z3.Ast, memo: Memo) -> tuple[int, int] | None:
    key = z3.Z3_get_ast_id(_REF, a)
    if key in memo:
        return memo[key]
    iv = memo[key] = _interval(a, memo)
    return iv


def _interval(t: z3.Ast, memo: Memo) -> tuple[int, int] | None:
    ast_kind = z3.Z3_get_ast_kind(_REF, t)
    if ast_kind == z3.Z3_NUMERAL_AST and \
            z3.Z3_get_sort_kind(_REF, z3.Z3_get_sort(_REF, t)) == z3.Z3_INT_SORT:
        n = int(z3.Z3_get_numeral_string(_REF, t))
        return n, n
    if ast_kind != z3.Z3_APP_AST and ast_kind != z3.Z3_NUMERAL_AST:
        return None
    nargs = z3.Z3_get_app_num_args(_REF, t)
    decl = z3.Z3_get_app_decl(_REF, t)
    if nargs == 0:
        if z3.Z3_get_decl_kind(_REF, decl) != z3.Z3_OP_UNINTERPRETED:
            return None
        return name_range(_name(decl))
    k = z3.Z3_get_decl_kind(_REF, decl)
    if k == z3.Z3_OP_ITE:
        cond = z3.Z3_get_app_arg(_REF, t, 0)
        x = _branch(cond, z3.Z3_get_app_arg(_REF, t, 1), True, memo)
        y = _branch(cond, z3.Z3_get_app_arg(_REF, t, 2), False, memo)
        return None if x is None or y is None else (min(x[0], y[0]), max(x[1], y[1]))
    parts = [_ast_interval(z3.Z3_get_app_arg(_REF, t, i), memo) for i in range(nargs)]
    if any(p is None for p in parts):
        return None
    if k == z3.Z3_OP_ADD:
        return sum(p[0] for p in parts), sum(p[1] for p in parts)  # type: ignore[index]
    if k == z3.Z3_OP_SUB:
        lo, hi = parts[0]  # type: ignore[misc]
        for a, b in parts[1:]:  # type: ignore[misc]
            lo, hi = lo - b, hi - a
        return lo, hi
    if k == z3.Z3_OP_UMINUS:
        a, b = parts[0]  # type: ignore[misc]
        return -b, -a
    if k == z3.Z3_OP_MUL:
        lo, hi = parts[0]  # type: ignore[misc]
        for a, b in parts[1:]:  # type: ignore[misc]
            c = (lo * a, lo * b, hi * a, hi * b)
            lo, hi = min(c), max(c)
        return lo, hi
    if k == z3.Z3_OP_IDIV and len(parts) == 2:
        (a, b), (c, d) = parts  # type: ignore[misc]
        if c > 0:  # z3's integer division floors for a positive divisor
            return min(a // c, a // d), max(b // c, b // d)
    if k == z3.Z3_OP_MOD and len(parts) == 2:
        (_, _), (c, d) = parts  # type: ignore[misc]
        if c > 0:
            return 0, d - 1
    return None


def _branch(cond: z3.Ast, arm: z3.Ast, taken: bool, memo: Memo) -> tuple[int, int] | None:
    """Bounds of an ``ite``'s arm, where the arm is the term its condition compares with a
    numeral: ``MAX(0, x)`` is ``If(x <= 0, 0, x)``, never negative."""
    iv = _ast_interval(arm, memo)
    if iv is None or z3.Z3_get_ast_kind(_REF, cond) != z3.Z3_APP_AST:
        return iv
    k = z3.Z3_get_decl_kind(_REF, z3.Z3_get_app_decl(_REF, cond))
    if k == z3.Z3_OP_NOT:
        return _branch(z3.Z3_get_app_arg(_REF, cond, 0), arm, not taken, memo)
    if k not in _RELATIONS or z3.Z3_get_app_num_args(_REF, cond) != 2:
        return iv
    lhs, rhs = z3.Z3_get_app_arg(_REF, cond, 0), z3.Z3_get_app_arg(_REF, cond, 1)
    if z3.Z3_get_ast_kind(_REF, lhs) == z3.Z3_NUMERAL_AST:  # n <= x is x >= n
        lhs, rhs, k = rhs, lhs, _FLIPPED[k]
    if z3.Z3_get_ast_id(_REF, lhs) != z3.Z3_get_ast_id(_REF, arm) or \
            z3.Z3_get_ast_kind(_REF, rhs) != z3.Z3_NUMERAL_AST:
        return iv
    n = int(z3.Z3_get_numeral_string(_REF, rhs))
    lo, hi = _RELATIONS[k](n) if taken else _RELATIONS[_NEGATED[k]](n)
    lo, hi = max(iv[0], lo), min(iv[1], hi)
    return (lo, hi) if lo <= hi else iv  # an arm never taken keeps its own bounds


#: the values of ``x`` for which ``x <op> n`` holds, as bounds (``_INF``: unbounded that side)
_INF = 1 << 512
_RELATIONS = {z3.Z3_OP_LE: lambda n: (-_INF, n), z3.Z3_OP_LT: lambda n: (-_INF, n - 1),
              z3.Z3_OP_GE: lambda n: (n, _INF), z3.Z3_OP_GT: lambda n: (n + 1, _INF)}
_FLIPPED = {z3.Z3_OP_LE: z3.Z3_OP_GE, z3.Z3_OP_LT: z3.Z3_OP_GT, z3.Z3_OP_GE: z3.Z3_OP_LE,
            z3.Z3_OP_GT: z3.Z3_OP_LT}
_NEGATED = {z3.Z3_OP_LE: z3.Z3_OP_GT, z3.Z3_OP_LT: z3.Z3_OP_GE, z3.Z3_OP_GE: z3.Z3_OP_LT,
            z3.Z3_OP_GT: z3.Z3_OP_LE}


def _name(decl: z3.FuncDecl) -> str:
    """A declaration's name, as ``FuncDeclRef.name()`` gives it."""
    sym = z3.Z3_get_decl_name(_REF, decl)
    if z3.Z3_get_symbol_kind(_REF, sym) == z3.Z3_INT_SYMBOL:
        return f"k!{z3.Z3_get_symbol_int(_REF, sym)}"
    return z3.Z3_get_symbol_string(_REF, sym)


# Sums of monomials, for ``tightened``: z3's simplifier rewrites bottom-up, so the simplified
# ``a + b`` (or ``a - b``) is the simplified ``a`` and ``b`` with like monomials merged. Keeping
# each subterm's monomials lets a sum be tightened without re-simplifying its whole DAG (the
# merged values' ``ite`` chains); any other operator is simplified by z3, once per subterm.

#: a power product (its factors' ids, sorted) -> (coefficient, bounds of the product)
Monomials = dict[tuple[int, ...], tuple[int, tuple[int, int] | None]]
#: a term simplified to sum-of-monomials form: constant and monomials
Form = tuple[int, Monomials]

# keyed by z3 AST ids; the terms are kept alive with their entries, so an id is never reused
_TIGHT: dict[int, tuple[z3.ExprRef, tuple[int, int] | None]] = {}
_FORMS: dict[int, tuple[z3.ExprRef, Form]] = {}
_MEMO: dict[int, tuple[int, int] | None] = {}
_ALIVE: list[z3.ExprRef] = []
_SOM = z3.ParamsRef()  # z3.simplify(v, som=True)
_SOM.set("som", True)


def tightened(v: z3.ExprRef, lo: int, hi: int) -> tuple[int, int]:
    """``lo..hi`` narrowed by the bounds of ``v`` once simplified (like terms cancel)."""
    key = v.get_id()
    if key not in _TIGHT:
        if len(_TIGHT) > 200_000 or len(_FORMS) > 400_000:  # a long session: start afresh
            _TIGHT.clear()
            _FORMS.clear()
            _MEMO.clear()
            _ALIVE.clear()
        _TIGHT[key] = (v, _bounds(v))
    iv = _TIGHT[key][1]
    if iv is None:
        return lo, hi
    return max(lo, iv[0]), min(hi, iv[1])


def form(v: z3.ExprRef) -> Form:
    """``v`` simplified to a sum of monomials, each with its bounds (memoised)."""
    return _form(v.as_ast())


def difference(y: Form, x: Form) -> Form:
    """``y - x``, like monomials cancelled."""
    monos = dict(y[1])
    return y[0] - x[0] + _add_into(monos, x, -1), monos


def form_bounds(f: Form) -> tuple[int, int] | None:
    """Bounds of a sum of monomials from its monomials' bounds (None when one is unknown)."""
    const, monos = f
    lo = hi = const
    for c, iv in monos.values():
        if iv is None:
            return None
        lo, hi = lo + min(c * iv[0], c * iv[1]), hi + max(c * iv[0], c * iv[1])
    return lo, hi


def _bounds(v: z3.ExprRef) -> tuple[int, int] | None:
    """``term_interval(z3.simplify(v, som=True))``."""
    a = v.as_ast()
    if _kind(a) in (z3.Z3_OP_ADD, z3.Z3_OP_SUB):
        return form_bounds(_form(a))
    return term_interval(_simplified(a), _MEMO)


def _kind(a: z3.Ast) -> int | None:
    """The operator of an application (None for a numeral or anything else)."""
    if z3.Z3_get_ast_kind(_REF, a) != z3.Z3_APP_AST:
        return None
    return z3.Z3_get_decl_kind(_REF, z3.Z3_get_app_decl(_REF, a))


def _simplified(a: z3.Ast) -> z3.ExprRef:
    simple = z3.ExprRef(z3.Z3_simplify_ex(_REF, a, _SOM.params), _CTX)
    _ALIVE.append(simple)
    return simple


def _form(a: z3.Ast) -> Form:
    """The monomials of ``a`` simplified (memoised by AST id)."""
    key = z3.Z3_get_ast_id(_REF, a)
    hit = _FORMS.get(key)
    if hit is not None:
        return hit[1]
    k = _kind(a)
    if k == z3.Z3_OP_ADD or k == z3.Z3_OP_SUB:
        n = z3.Z3_get_app_num_args(_REF, a)
        const, first = _form(z3.Z3_get_app_arg(_REF, a, 0))
        monos = dict(first)
        sign = 1 if k == z3.Z3_OP_ADD else -1
        for i in range(1, n):
            const += _add_into(monos, _form(z3.Z3_get_app_arg(_REF, a, i)), sign)
        form: Form = (const, monos)
    elif k is None or z3.Z3_get_app_num_args(_REF, a) == 0:  # a numeral or a variable
        monos = {}
        form = (_add_monomial(monos, a), monos)
    else:
        form = _monomials(_simplified(a).as_ast())
    _FORMS[key] = (z3.ExprRef(a, _CTX), form)  # the term keeps its id while the entry lives
    return form


def _add_into(monos: Monomials, f: Form, sign: int) -> int:
    """Add ``sign`` times ``f``'s monomials to ``monos`` (those that cancel go); return
    ``sign`` times its constant."""
    for pp, (coeff, iv) in f[1].items():
        old = monos.get(pp)
        total = sign * coeff + (0 if old is None else old[0])
        if total:
            monos[pp] = (total, iv)
        else:
            del monos[pp]
    return sign * f[0]


def _monomials(a: z3.Ast) -> Form:
    """A simplified term's sum of monomials."""
    monos: Monomials = {}
    if _kind(a) != z3.Z3_OP_ADD:
        return _add_monomial(monos, a), monos
    const = 0
    for i in range(z3.Z3_get_app_num_args(_REF, a)):
        const += _add_monomial(monos, z3.Z3_get_app_arg(_REF, a, i))
    return const, monos


def _add_monomial(monos: Monomials, m: z3.Ast) -> int:
    """Add the summand ``m`` to ``monos``; return its constant (a numeral's value, else 0)."""
    if z3.Z3_get_ast_kind(_REF, m) == z3.Z3_NUMERAL_AST:
        return int(z3.Z3_get_numeral_string(_REF, m))
    coeff, factors = 1, [m]
    if _kind(m) == z3.Z3_OP_MUL:
        factors = []
        for i in range(z3.Z3_get_app_num_args(_REF, m)):
            f = z3.Z3_get_app_arg(_REF, m, i)
            if z3.Z3_get_ast_kind(_REF, f) == z3.Z3_NUMERAL_AST:
                coeff *= int(z3.Z3_get_numeral_string(_REF, f))
            else:
                factors.append(f)
    pp = tuple(sorted(z3.Z3_get_ast_id(_REF, f) for f in factors))
    prod: tuple[int, int] | None = (1, 1)
    for f in factors:
        fiv = _ast_interval(f, _MEMO)
        if fiv is None or prod is None:
            prod = None
            break
        c = (prod[0] * fiv[0], prod[0] * fiv[1], prod[1] * fiv[0], prod[1] * fiv[1])
        prod = min(c), max(c)
    old = monos.get(pp)
    total = coeff + (0 if old is None else old[0])
    if total:
        monos[pp] = (total, prod)
    else:
        monos.pop(pp, None)
    return 0
