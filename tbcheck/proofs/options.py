"""Everything a cell's proof depends on besides its rule set, envelope and property: one frozen
value, built once a run (``tbcheck prove``) and handed down unchanged to every pass.

Budgets are in z3's resource units (``proofs.budget``), never seconds: with the same options a
cell gets the same verdict on any machine under any load. Being frozen, the options are
hashable, a key for whatever remembers a cell's answer.
"""

from __future__ import annotations

from dataclasses import dataclass

from tbcheck.proofs.budget import MEGA

# z3 spends about 0.3M units a second on this project's nonlinear questions here, and from
# 0.04M to 9M on others: a unit is a measure of work, not of time
CELL = 20 * MEGA  # a cell's bounded passes (search and bounded proof), by default
INDUCTION = 10 * MEGA  # the induction's own questions (not the invariant's search)
INDUCE_AFTER = 1_200_000  # the bounded passes not done after this, pause for the induction


@dataclass(frozen=True)
class CellOptions:
    """How hard, and in which ways, a cell's proof may try.

    ``rlimit``: the bounded passes' budget. ``invariant_units``: the search for the rule set's
    inductive invariant (once a rule set and run; 0: no induction). ``induction_units``: the
    induction's own questions, a property. ``induce_after``: units the bounded passes spend
    before they pause for the induction (``induction_first``: the induction before them).
    ``random_runs`` and ``fuzz_examples``: concrete searches for a counterexample, before the
    solver and when it cannot decide (0: off). ``deepen``: a proof that stalls at a step is a
    proof to the depth before it rather than unknown. ``use_assumptions``: a cell is proved
    under the assumptions its rule set declares for it (the built-in ones)."""

    rlimit: int = CELL
    invariant_units: int = 0
    induction_units: int = INDUCTION
    induce_after: int = INDUCE_AFTER
    induction_first: bool = False
    random_runs: int = 0
    fuzz_examples: int = 0
    deepen: bool = False
    use_assumptions: bool = False


DEFAULTS = CellOptions()  # the bounded passes alone, with the default budget
