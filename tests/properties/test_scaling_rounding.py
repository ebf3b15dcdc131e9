"""guest-frequency's allowance for a scaled vCPU (``predicates.scaling_rounding``) holds for
every counter, run and pair of frequencies in the envelope, at KVM's ratio: asked of z3 with
the model's own host counter, scaled product and predicate (nothing encoded twice)."""

from __future__ import annotations

import pytest
import z3

from tbcheck.model.api import Host, scaled_product
from tbcheck.model.domain import U64, U128, Int, fresh
from tbcheck.proofs.envelope import Envelope
from tbcheck.properties import predicates as P

ENV = Envelope()


def _question(frac_bits: int, less: int) -> z3.Solver:
    """Is there a run whose scaled counter strays further than the allowance minus ``less``?"""
    cons = []

    def var(t: type, name: str, lo: int, hi: int):  # type: ignore[no-untyped-def]
        v, c = fresh(t, name, lo, hi)
        cons.append(c)
        return v

    f_g = var(Int, "f_g", ENV.fmin_hz, ENV.fmax_hz)
    f_h = var(Int, "f_h", ENV.fmin_hz, ENV.fmax_hz)
    t_a = var(Int, "t_a", 0, 8 * ENV.max_run_ns)
    d = var(Int, "d", 0, ENV.max_run_ns)
    c0 = var(U64, "counter0", 0, ENV.max_initial - 1)
    ratio = ((U128(1 << frac_bits) * f_g.convert(U128)) / f_h.convert(U128)).convert(U64)
    now = [t_a]
    host = Host(1, f_h, c0, Int(0), Int(0), lambda: now[0])
    h_a = host.tb()
    now[0] = t_a + d
    h_b = host.tb()
    s_a, s_b = scaled_product(h_a, ratio, frac_bits), scaled_product(h_b, ratio, frac_bits)
    due = P.carried([s_a], t_a, t_a + d, f_g)[0]
    allowed = P.keeps_rate_around(due, 0, P.scaling_rounding(f_g, f_h, P.as_int(h_b) -
                                                             P.as_int(h_a), frac_bits) - less)
    solver = z3.Solver()
    solver.add(*cons, z3.Not(P.inside(s_b, allowed).v))
    solver.set("rlimit", 50_000_000)
    return solver


@pytest.mark.parametrize("frac_bits", [48, 32])
def test_the_allowance_holds_over_the_envelope(frac_bits: int) -> None:
    assert _question(frac_bits, 0).check() == z3.unsat


def test_the_question_can_fail() -> None:
    """Asked for two ticks less than the allowance, the question has answers: it is not
    vacuous."""
    assert _question(48, 2).check() == z3.sat
