"""The history as a gate: every built-in rule set's declared verdicts (SPEC.md's table, with the
cells the model filled) still come out, at the gate's depth. A changed cell fails here."""

from __future__ import annotations

import pytest

from model.registry import BUILTIN_MODULES, builtin
from proofs.bmc import check_rules
from proofs.envelope import Envelope
from properties import property_names

GATE_DEPTH = 4  # as `make verify`: every declared counterexample is this shallow
TIMEOUT_S = 20.0
FUZZ_EXAMPLES = 300
RANDOM_RUNS = 200  # as `tbcheck prove`


@pytest.mark.parametrize("name", list(BUILTIN_MODULES))
def test_declared_verdicts_hold(name: str) -> None:
    rules = builtin(name)
    assert set(rules.expected) == set(property_names()), "every cell is declared"
    got = {v.prop: v for v in check_rules(rules, property_names(), Envelope(depth=GATE_DEPTH),
                                          TIMEOUT_S, use_assumptions=True,
                                          fuzz_examples=FUZZ_EXAMPLES, deepen=True,
                                          random_runs=RANDOM_RUNS)}
    changed = {p: (got[p].verdict, want) for p, want in rules.expected.items()
               if got[p].verdict != want}
    assert not changed, f"{name}: cells changed (found, declared): {changed}"
    for v in got.values():
        if v.verdict == "violated":
            assert v.counterexample is not None and v.counterexample.replayed
        if v.verdict == "proved":
            assert v.witnesses["assumptions"]["satisfiable"]
            assert v.witnesses["situation"]["reachable"]
