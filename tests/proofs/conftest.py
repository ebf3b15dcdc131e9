"""One invariant search shared by the induction tests (it takes tens of seconds)."""

from __future__ import annotations

import pytest

from tbcheck.model.registry import builtin
from tbcheck.proofs.budget import MEGA
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.induction import Inductor

INDUCTION_RULES = "seed-as-written"  # the cheapest built-in search, with proved and violated
INDUCTION_BUDGET = 200 * MEGA  # generous: the tests judge what is found, not how fast


@pytest.fixture(scope="session")
def inductor() -> Inductor:
    ind = Inductor(builtin(INDUCTION_RULES), Envelope(), INDUCTION_BUDGET)
    ind.prove("vcpus-agree", 50 * MEGA)  # runs the search once
    assert ind.invariant is not None, "no invariant within the budget"
    return ind
