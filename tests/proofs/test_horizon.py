"""The horizon of an unbounded proof keeps every bounded value below 2**63."""

from __future__ import annotations

from tbcheck.model.domain import Int
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.horizon import NS_PER_YEAR, horizon


def test_default_envelope_reaches_years_and_stays_below_2_63() -> None:
    env = Envelope()
    hz = horizon(env, 1 << 24)
    assert hz is not None
    assert 10 * NS_PER_YEAR < hz.t_max < 20 * NS_PER_YEAR  # 2**62 ticks at 10 GHz: 14.6 years
    step = env.max_run_ns + 3 * env.max_phase_ns
    top = hz.growth(Int(hz.t_max + step), Int(hz.n_max))
    assert int(top.v) < 1 << 63
    assert hz.rate == 10 and hz.per_event > (1 << 24)  # 10 GHz; KVM-HV rounding per event


def test_no_horizon_when_the_envelope_leaves_no_room() -> None:
    assert horizon(Envelope(max_initial=(1 << 63) - 10), 0) is None
