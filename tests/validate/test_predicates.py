"""The predicates' ranges (what a report shows as "allowed") are the bounds the predicates use,
and with ``err = 0`` the predicates say what docs/properties.md says, as the model relies on."""

from __future__ import annotations

import pytest

from tbcheck.model.domain import Int
from tbcheck.properties import predicates as P

F = 512_000_000


def inside(x: int, rng: P.Range) -> bool:
    lo, hi = rng
    return int(lo) <= x and (hi is None or x <= int(hi))


@pytest.mark.parametrize("x", [-5, 99, 100, 101, 107, 108, 200])
def test_ranges_agree_with_predicates(x: int) -> None:
    assert bool(P.never_decreases(Int(100), Int(x), 1)) == inside(
        x, P.never_decreases_range(100, 1))
    assert bool(P.frozen(Int(100), Int(x), 8, 0)) == inside(x, P.frozen_range(100, 8, 0))
    assert bool(P.agree([Int(100), Int(x)], 3)) == inside(x, P.agree_range(100, 3))
    assert bool(P.keeps_rate(Int(90), Int(0), Int(x), Int(20), F, 2, 1)) == inside(
        x, P.keeps_rate_range(90, 0, 20, F, 2, 1))
    assert bool(P.tracks(Int(90), Int(0), Int(x), Int(20), F, 0, 2, 0, 0)) == inside(
        x, P.tracks_range(90, 0, 20, F, 0, 2, 0, 0))


def test_err_zero_is_the_spec() -> None:
    assert bool(P.frozen(Int(7), Int(7), 0)) and not bool(P.frozen(Int(7), Int(8), 0))
    assert bool(P.frozen(Int(7), Int(7 + (1 << 24) - 1), 1 << 24))
    assert not bool(P.frozen(Int(7), Int(6), 1 << 24))
    assert bool(P.never_decreases(Int(5), Int(5))) and not bool(P.never_decreases(Int(5), Int(4)))
    # 1 s at 512 MHz, within 2 ticks of slack and nothing else
    assert bool(P.tracks(Int(0), Int(0), Int(F + 2), Int(10**9), F, 0, 2, 0))
    assert not bool(P.tracks(Int(0), Int(0), Int(F + 3), Int(10**9), F, 0, 2, 0))
    assert bool(P.agree([Int(3), Int(3)])) and not bool(P.agree([Int(3), Int(4)]))
    assert not bool(P.keeps_rate(Int(0), Int(0), Int(F - 3), Int(10**9), F, 2))


def test_err_widens_symmetrically() -> None:
    lo, hi = P.frozen_range(1000, 0, 50)
    assert (int(lo), int(hi)) == (950, 1050)
    lo, hi = P.tracks_range(0, 0, 10**9, F, 0, 2, 0, 10)
    assert (int(lo), int(hi)) == (F - 12, F + 12)
