"""A check records what it judged: its verdict is exactly "each vCPU's TB seen lies in its
allowed interval", so a report that shows the interval shows the bounds the verdict used."""

from __future__ import annotations

import pytest

from tbcheck.defaults import concrete_params, tolerances_for
from tbcheck.eventspec import parse
from tbcheck.model.domain import value
from tbcheck.model.registry import BUILTIN_MODULES, builtin
from tbcheck.proofs.concrete import run
from tbcheck.properties import predicates as P

EVENTS = ("run(1s) stop run(10s) migrate(1, save=100ms, transfer=1s, resume=10ms) cont run(1s) "
          "savevm(s1) run(1s) migrate(2) run(1s) loadvm(s1) run(2s) migrate-fail(save=1ms) run(1s)")


@pytest.mark.parametrize("name", list(BUILTIN_MODULES))
def test_a_checks_verdict_is_its_seen_values_inside_their_allowed_intervals(name: str) -> None:
    rules = builtin(name)
    params = concrete_params()
    trace = run(rules, params, parse(EVENTS), tolerances_for(rules, params), strict=False)
    judged = [c for _, c in trace.checks if c.allowed]
    assert {c.prop for c in judged} >= {"monotonic", "guest-frequency", "tracks-wall-clock"}
    for c in judged:
        inside = [bool(value(P.inside(x, r))) for x, r in zip(c.seen, c.allowed, strict=True)]
        assert bool(value(c.ok)) == all(inside), (c.prop, c.what)
        assert len(c.due) == len(c.seen) == params.ncpus
        assert c.culprit() == (None if all(inside) else inside.index(False))
    for _, c in trace.checks:  # the rest: one about the vCPUs' agreement, or about arithmetic
        if not c.allowed:
            assert c.prop in ("vcpus-agree", "no-overflow") and not c.due
