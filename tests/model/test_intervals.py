"""Bounds of z3 terms (model.intervals) contain every value the term takes, and an ``ite`` arm
that its condition compares with a numeral is bounded by that comparison."""

from __future__ import annotations

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from tbcheck.model.domain import Int, fresh
from tbcheck.model.intervals import name_range, ranged_name, term_interval

X, X_RANGE = fresh(Int, "iv_x", -50, 100)[0].v, (-50, 100)
Y = fresh(Int, "iv_y", 0, 7)[0].v
RELATIONS = {"<=": lambda a, b: a <= b, "<": lambda a, b: a < b,
             ">=": lambda a, b: a >= b, ">": lambda a, b: a > b}


def test_max_with_zero_is_never_negative() -> None:
    assert term_interval(z3.If(X <= 0, 0, X)) == (0, 100)  # MAX(0, x) as z3 writes it
    assert term_interval(z3.If(z3.Not(X <= 0), X, 0)) == (0, 100)
    assert term_interval(z3.If(X >= 3, X, 3)) == (3, 100)


def test_an_arm_the_condition_does_not_compare_keeps_its_own_bounds() -> None:
    assert term_interval(z3.If(X <= 0, 0, X + Y)) == (-50, 107)
    assert term_interval(z3.If(Y <= 0, 0, X)) == (-50, 100)


@settings(max_examples=200, deadline=None)
@given(op=st.sampled_from(sorted(RELATIONS)), n=st.integers(-80, 130),
       numeral_left=st.booleans(), then_is_x=st.booleans(), negate=st.booleans(),
       other=st.integers(-60, 110), x=st.integers(*X_RANGE))
def test_bounds_contain_every_value(op: str, n: int, numeral_left: bool, then_is_x: bool,
                                    negate: bool, other: int, x: int) -> None:
    cond = RELATIONS[op](z3.IntVal(n), X) if numeral_left else RELATIONS[op](X, z3.IntVal(n))
    cond = z3.Not(cond) if negate else cond
    term = z3.If(cond, X, other) if then_is_x else z3.If(cond, other, X)
    lo, hi = term_interval(term)  # type: ignore[misc]
    value = z3.simplify(z3.substitute(term, (X, z3.IntVal(x)))).as_long()
    assert lo <= value <= hi


def test_an_unknowns_range_is_its_own_and_a_plain_name_has_none() -> None:
    assert name_range(ranged_name("d1", 0, 10)) == (0, 10)
    assert name_range(ranged_name("rules.d[1:2]", -5, 2**70)) == (-5, 2**70)  # the last one
    assert name_range("d1") is None and name_range("g1_last[0]") is None
    a, b = fresh(Int, "iv_same", 0, 10)[0].v, fresh(Int, "iv_same", 0, 20)[0].v
    assert not a.eq(b)  # one name, two ranges: two unknowns
    assert term_interval(a - 1) == (-1, 9) and term_interval(b - 1) == (-1, 19)
    assert term_interval(z3.Int("iv_plain") + 1) is None  # no range declared, none assumed
