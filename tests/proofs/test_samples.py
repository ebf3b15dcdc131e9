"""Random concrete runs feed the invariant search: they reach many control states, and a
route reaches the one asked for."""

from __future__ import annotations

from tbcheck.model.registry import builtin
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.samples import random_draw, sample
from tbcheck.proofs.unroll import alternatives


def test_random_runs_reach_many_control_states_with_concrete_values() -> None:
    out = sample(builtin("qemu-ppc-v2"), Envelope(), runs=10, depth=4)
    assert len(out) >= 5
    for items in out.values():
        for values, n in items:
            assert 0 <= n <= 4
            assert all(not v.symbolic for v in values.values())


def test_params_stay_inside_the_envelope() -> None:
    import random

    env = Envelope(same_frequency=True, fmin_hz=10**7, fmax_hz=10**8)
    for seed in range(20):
        p = random_draw(env, random.Random(seed)).params()
        freqs = {int(h.freq.v) for h in p.hosts}
        assert len(freqs) == 1 and 10**7 <= freqs.pop() <= 10**8
        assert all(0 <= int(h.counter0.v) < env.max_initial for h in p.hosts)


def _pairs(k: object) -> set[tuple[object, object]]:
    """Every (field, value) pair inside a control key."""
    out: set[tuple[object, object]] = set()
    if isinstance(k, tuple):
        if len(k) == 2 and isinstance(k[0], str) and not isinstance(k[1], tuple):
            out.add((k[0], k[1]))
        for x in k:
            out |= _pairs(x)
    return out


def test_a_route_is_followed() -> None:
    env = Envelope()
    route = [("stop",), ("migrate", 2)]
    assert all(r in alternatives(env) for r in route)
    out = sample(builtin("seed-as-written"), env, runs=3, route=route)  # never refuses
    ends = [k for k, items in out.items() if any(n == 2 for _, n in items)]
    assert len(ends) == 1 and sum(n == 2 for _, n in out[ends[0]]) == 3  # every run got there
    assert {("host", 2), ("state", "paused")} <= _pairs(ends[0])
