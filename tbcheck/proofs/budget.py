"""Solver budgets in z3's resource units (``rlimit``), never in seconds.

A verdict must be a function of its inputs (the rule set, the envelope, the options, the tool's
and z3's versions), never of the machine's speed or load. z3 counts the work it does in
resource units (its ``rlimit``), the same on a quiet or a busy machine, so every question the
proofs ask is given a number of units, and every pass spends from a ``Budget`` of units. Time is
measured only to report it. (z3's maintainers on why: Z3Prover/z3 issue 56, "reproducible
behavior of a prover even under heavy load or across machines"; Dafny recommends
``--resource-limit`` over time limits for CI for the same reason.)

z3 keeps one resource counter a context; a question's cost is the counter's growth across it.
``rlimit`` 0 means no limit to z3, so a question with no units left is not asked at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import z3

#: z3 resource units per "megaunit" in the command line's and the docs' figures
MEGA = 1_000_000


def spent_so_far() -> int:
    """The z3 context's resource counter: every unit spent in this process so far."""
    st = z3.Solver().statistics()  # the counter is the context's, any solver shows it
    try:
        return int(st.get_key_value("rlimit count"))
    except z3.Z3Exception:
        return 0


@dataclass
class Budget:
    """Units a pass may spend, metered on the context's counter: whatever the pass asks (a
    question, a tactic), its cost is what the counter grew by since the pass began."""

    total: int
    start: int = field(default_factory=spent_so_far)

    @property
    def spent(self) -> int:
        return spent_so_far() - self.start

    @property
    def left(self) -> int:
        return self.total - self.spent

    @property
    def out(self) -> bool:
        return self.left <= 0

    def share(self, units: int) -> int:
        """At most ``units`` of what is left (0 when nothing is)."""
        return max(0, min(units, self.left))

    def extend(self, units: int) -> None:
        """``units`` spent elsewhere (a pause for the induction) do not count against it."""
        self.total += units


def ask(s: z3.Solver, units: int, *assumptions: z3.BoolRef
        ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
    """``s.check(*assumptions)`` within ``units`` resource units; unknown, unasked, when
    ``units`` is not positive (0 would mean no limit to z3)."""
    if units <= 0:
        return z3.unknown, None
    s.set("rlimit", int(units))
    r = s.check(*assumptions)
    return r, s.model() if r == z3.sat else None


def tactic_steps(units: int) -> int:
    """Rewriting steps for a simplification tactic given ``units``: tactics count steps, not
    resource units, and a step costs about ten units in this project's terms."""
    return max(1, units // 10)
