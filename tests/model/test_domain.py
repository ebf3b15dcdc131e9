"""The number domain gives the same answer on Python ints and on z3 terms, for every operation,
including the edge cases of C semantics (wrap, truncating division, u32 parameters)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from tbcheck.model.domain import (
    S64,
    U64,
    Bool,
    Int,
    Num,
    SymbolicBranch,
    align_up,
    collect_obligations,
    ite,
    max_,
    min_,
    muldiv64,
    to_s64,
    to_u32,
    to_u64,
    wrapping_add,
    wrapping_sub,
)

EDGE_U64 = [0, 1, 2**32 - 1, 2**32, 2**63 - 1, 2**63, 2**64 - 2, 2**64 - 1]
EDGE_S64 = [-(2**63), -(2**63) + 1, -1, 0, 1, 2**62, 2**63 - 1]
u64s = st.one_of(st.sampled_from(EDGE_U64), st.integers(0, 2**64 - 1))
s64s = st.one_of(st.sampled_from(EDGE_S64), st.integers(-(2**63), 2**63 - 1))


def both(t: type[Num], x: int, name: str) -> tuple[Num, Num, z3.BoolRef]:
    """The concrete value, a symbolic one with the type's bounds, and the tie between them."""
    v = z3.Int(name)
    lo, hi = t.tmin(), t.tmax()
    assert lo is not None and hi is not None
    return t(x), t(v, lo, hi), v == x


def solve(tie: list[z3.BoolRef], result: Num | Bool) -> int | bool:
    s = z3.Solver()
    s.add(*tie)
    assert s.check() == z3.sat
    m = s.model()
    if isinstance(result, Bool):
        return result.v if isinstance(result.v, bool) else z3.is_true(m.eval(result.v, True))
    r = result.reduced()
    return r.v if isinstance(r.v, int) else m.eval(r.v, True).as_long()


def agree(t1: type[Num], x: int, t2: type[Num], y: int,
          op: Callable[[Num, Num], Num | Bool]) -> None:
    cx, sx, tx = both(t1, x, "x")
    cy, sy, ty = both(t2, y, "y")
    with collect_obligations() as c_obl:
        concrete = op(cx, cy)
    with collect_obligations() as s_obl:
        symbolic = op(sx, sy)
    conc = concrete.v if isinstance(concrete, Bool) else concrete.reduced().v
    assert solve([tx, ty], symbolic) == conc
    c_over = any(o.cond is True for o in c_obl)
    s_over = any(solve([tx, ty], Bool(o.cond)) for o in s_obl)
    assert c_over == s_over, (c_obl, s_obl)


OPS: dict[str, Callable[[Num, Num], Num | Bool]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "%": lambda a, b: a % b,
    "wrapping_add": wrapping_add, "wrapping_sub": wrapping_sub,
    "<": lambda a, b: a < b, "<=": lambda a, b: a <= b, "==": lambda a, b: a == b,
    "max": max_, "min": min_, "ite": lambda a, b: ite(a > b, b, a),
}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(OPS)), u64s, u64s)
def test_u64_ops_agree(op: str, x: int, y: int) -> None:
    if op in ("/", "%") and y == 0:
        y = 1
    agree(U64, x, U64, y, OPS[op])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(OPS)), s64s, s64s)
def test_s64_ops_agree(op: str, x: int, y: int) -> None:
    if op in ("/", "%") and y == 0:
        y = -1
    agree(S64, x, S64, y, OPS[op])


@settings(max_examples=30, deadline=None)
@given(s64s, u64s)
def test_mixed_types_follow_c_conversions(x: int, y: int) -> None:
    agree(S64, x, U64, y, lambda a, b: a + b)  # int64_t + uint64_t is uint64_t in C
    agree(S64, x, U64, y, lambda a, b: a < b)


@settings(max_examples=30, deadline=None)
@given(u64s, st.integers(0, 2**40), st.integers(1, 2**40))
def test_muldiv64_agrees_and_reports_u32_truncation(a: int, b: int, c: int) -> None:
    agree(U64, a, U64, b, lambda x, y: muldiv64(x, y, c))


@settings(max_examples=30, deadline=None)
@given(u64s, s64s)
def test_conversions_and_alignment_agree(x: int, y: int) -> None:
    agree(U64, x, S64, y, lambda a, b: to_s64(a) + 0 * to_s64(b))
    agree(S64, y, U64, x, lambda a, b: wrapping_add(to_u64(a), b))
    agree(U64, x, U64, 0, lambda a, b: align_up(a, 1 << 24))
    agree(U64, x, U64, 0, lambda a, b: to_u32(a) + 0)
    agree(U64, x, U64, 3, lambda a, b: a >> 3)


def test_c_division_truncates_and_python_floor_is_refused() -> None:
    assert (S64(-7) / 2).v == -3 and (S64(-7) % 2).v == -1
    assert (S64(7) / -2).v == -3 and (S64(7) % -2).v == 1
    with pytest.raises(TypeError):
        _ = U64(7) // 2


def test_wrap_and_overflow_obligations() -> None:
    with collect_obligations() as obl:
        assert (U64(0) - 1).v == 2**64 - 1
    assert obl and obl[0].cond is True
    with collect_obligations() as obl:
        assert wrapping_sub(U64(0), 1).v == 2**64 - 1
    assert obl == []
    with collect_obligations() as obl:
        assert (S64(2**63 - 1) + 1).v == -(2**63)
    assert obl


def test_symbolic_branch_is_refused_with_a_hint() -> None:
    x = U64(z3.Int("x"), 0, 10)
    with pytest.raises(SymbolicBranch, match="ite"):
        if x > 3:
            pass
    assert bool(U64(5) > 3) is True


def test_u32_parameter_cut_is_reported() -> None:
    with collect_obligations() as obl:
        r = muldiv64(U64(10**9), 10_000_000_000, 10**9)
    assert any("uint32_t" in o.what for o in obl)
    assert r.v == (10_000_000_000 % 2**32)


def test_lazy_wrap_stays_one_term() -> None:
    g = U64(z3.Int("g"), 0, 2**62)
    h = U64(z3.Int("h"), 0, 2**62)
    off = wrapping_sub(g, h)
    back = wrapping_add(h, off)
    assert back.lazy
    assert z3.is_true(z3.simplify(back.reduced().v == g.v)) or z3.Solver().check(
        back.reduced().v != g.v, g.v >= 0, g.v <= 2**62, h.v >= 0, h.v <= 2**62) == z3.unsat
    assert isinstance(Int(3) + 4, Int)


@pytest.mark.parametrize("op", ["/", "%"])
@pytest.mark.parametrize("y", [1, -1])
def test_int64_min_divided_by_one_agrees(op: str, y: int) -> None:
    """INT64_MIN / 1 fits (the concrete engine once reported it from its loose bounds), and
    INT64_MIN % -1 is 0 on both engines, with the division's overflow reported on both."""
    agree(S64, -(2**63), S64, y, OPS[op])
