"""One invariant search shared by the induction tests (it takes tens of seconds), in a new
interpreter as a run's search is (``tbcheck.workers.fresh``): the solver's path through it, and
so what it finds within its budget, depends on the terms built before it in the process."""

from __future__ import annotations

import pytest

from tbcheck.model.registry import builtin
from tbcheck.proofs.budget import MEGA
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.induction import Inductor, search
from tbcheck.workers import fresh

INDUCTION_RULES = "seed-as-written"  # the cheapest built-in search, with proved and violated
INDUCTION_BUDGET = 200 * MEGA  # generous: the tests judge what is found, not how fast


@pytest.fixture(scope="session")
def inductor() -> Inductor:
    facts = fresh(search, builtin(INDUCTION_RULES), Envelope(), INDUCTION_BUDGET)
    ind = Inductor(builtin(INDUCTION_RULES), Envelope(), INDUCTION_BUDGET,
                   source=lambda: facts)
    ind.prove("vcpus-agree", 50 * MEGA)  # builds the invariant from the facts
    assert ind.invariant is not None, "no invariant within the budget"
    return ind
