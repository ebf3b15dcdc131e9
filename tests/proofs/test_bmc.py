"""Verdicts are honest: counterexamples replay, proofs carry witnesses, vacuity and timeouts
are never passes, and engines that disagree are reported as a tool error."""

from __future__ import annotations

import pytest
import z3

from tbcheck.model.registry import builtin
from tbcheck.proofs import bmc, bounded, verdict
from tbcheck.proofs.budget import ask
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.induction import Outcome
from tbcheck.proofs.options import CELL, CellOptions
from tbcheck.proofs.terms import free_names
from tbcheck.proofs.unroll import unroll
from tbcheck.proofs.verdict import Status, Verdict


def decide(name: str, prop: str, units: int = CELL, **env: object) -> Verdict:
    return bmc.check(unroll(builtin(name), Envelope(**env)),  # type: ignore[arg-type]
                     prop, CellOptions(rlimit=units))


def test_v1_bug_is_found_and_replays() -> None:
    v = decide("qemu-ppc-v1", "frozen-when-stopped", depth=4)
    assert v.verdict == Status.VIOLATED
    cx = v.counterexample
    assert cx is not None and cx.replayed
    # the pause begins at a stop or at a paused destination's load
    kinds = ["stop" if e.kind == "migrate" and e.paused else e.kind for e in cx.trace.events]
    assert "stop" in kinds and "cont" in kinds and kinds.index("stop") < kinds.index("cont")
    assert cx.trace.violations("frozen-when-stopped")


def test_proof_carries_both_witnesses() -> None:
    v = decide("qemu-tcg", "frozen-when-stopped", depth=3)
    assert v.verdict == Status.PROVED
    assert v.witnesses["assumptions"]["satisfiable"] is True
    sit = v.witnesses["situation"]
    assert sit["reachable"] is True
    kinds = ["stop" if e.kind == "migrate" and e.paused else e.kind for e in sit["events"]]
    assert "stop" in kinds and "cont" in kinds  # the situation: a pause and its resume


def test_unreachable_situation_is_vacuous_not_proved() -> None:
    v = decide("seed-corrected", "frozen-when-stopped", depth=1)  # stop and cont need 2 events
    assert v.verdict == Status.VACUOUS
    assert v.witnesses["situation"]["reachable"] is False


def test_contradictory_assumptions_are_vacuous() -> None:
    u = unroll(builtin("seed-corrected"), Envelope(depth=1))
    u.sym.constraints.append(z3.BoolVal(False))
    v = bmc.check(u, "monotonic")
    assert v.verdict == Status.VACUOUS and v.witnesses["assumptions"]["satisfiable"] is False


def test_an_exhausted_budget_is_unknown_never_a_pass() -> None:
    v = decide("qemu-ppc-v3", "monotonic", units=1, depth=3)
    assert v.verdict == Status.UNKNOWN and "resource units" in v.reason


def test_a_counterexample_that_does_not_replay_is_a_tool_error(monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    real = verdict.run

    def replay_on_other_rules(rules, params, events, tol):  # noqa: ANN001, ANN202
        return real(builtin("qemu-tcg"), params, events, tol)  # freezes every pause

    monkeypatch.setattr(verdict, "run", replay_on_other_rules)
    v = decide("qemu-ppc-v1", "frozen-when-stopped", depth=4)
    assert v.verdict == Status.TOOL_ERROR and "disagree" in v.reason


def test_assumption_changes_the_verdict() -> None:
    # seed-units-fixed multiplies the clocks' disagreement by the destination's frequency, and
    # a negative migration time can take a young TB below 0: it tracks true time only under
    # the seed's assumptions (i) same frequency and (ii) synchronised clocks
    assert decide("seed-units-fixed", "tracks-wall-clock", depth=1).verdict == Status.VIOLATED
    seed = decide("seed-units-fixed", "tracks-wall-clock", depth=2, same_frequency=True,
                   eps_ns=0)
    assert seed.verdict == Status.PROVED


def _undecided_from(step: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """The solver (briefly, then by cases) cannot decide any question about step
    ``step`` (one that mentions its event choices or durations): a stand-in for a step too
    hard within the timeout."""
    mine = (f"e{step}_", f"d{step}", f"p{step}")

    def about_it(term: z3.ExprRef) -> bool:
        return any(n.startswith(mine) for n in free_names(term))

    real_ask, real_cases = bounded._ask, bounded.by_cases

    def ask(solver: z3.Solver, term: z3.BoolRef, units: int
            ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        return (z3.unknown, None) if about_it(term) else real_ask(solver, term, units)

    def by_cases(constraints: list[z3.BoolRef], term: z3.BoolRef,
                 steps: list[list[z3.BoolRef]], budget: object, facts: bool = False
                 ) -> tuple[z3.CheckSatResult, z3.ModelRef | None]:
        return (z3.unknown, None) if about_it(term) else real_cases(constraints, term, steps,
                                                                     budget, facts)

    monkeypatch.setattr(bounded, "_ask", ask)
    monkeypatch.setattr(bounded, "by_cases", by_cases)


def test_a_stalled_step_is_proved_to_the_depth_before_it(monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    _undecided_from(3, monkeypatch)
    u = unroll(builtin("qemu-tcg"), Envelope(depth=3))
    v = bmc.check(u, "frozen-when-stopped", CellOptions(deepen=True))
    assert v.verdict == Status.PROVED and v.depth == 2
    assert "proved to depth 2; undecided at depth 3" in v.reason
    assert v.witnesses["situation"]["step"] <= 2
    assert bmc.check(u, "frozen-when-stopped").verdict == Status.UNKNOWN  # not deepening


def test_a_depth_too_shallow_for_the_situation_is_unknown(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    """frozen-when-stopped needs a stop and a cont: if step 2 stalls, depth 1 proves nothing
    (its situation is unreachable), and the verdict is unknown, neither proved nor vacuous."""
    _undecided_from(2, monkeypatch)
    v = bmc.check(unroll(builtin("seed-corrected"), Envelope(depth=3)), "frozen-when-stopped",
                  CellOptions(deepen=True))
    assert v.verdict == Status.UNKNOWN and "needs more than 1 steps" in v.reason


def test_a_step_out_of_reach_stalls_before_the_budget_is_spent() -> None:
    # the first checks of a step took 1M units each and 10M are left: the step stalls at
    # once when the other checks would need more than PACE_MARGIN times that
    m = 10**6
    done, left = bounded.PACE_AFTER, 10 * m
    over = int(bounded.PACE_MARGIN * 10) + 1
    assert bounded._hopeless(done, done + over, done * m, left)
    assert not bounded._hopeless(done, done + over - 2, done * m, left)  # within reach
    assert not bounded._hopeless(done - 1, done + 10 * over, done * m, left)  # too few to judge


def _spend(units: int) -> None:
    """Spend about ``units`` of z3's resources on a question that never ends by itself."""
    x, y, z = z3.Ints("x y z")
    s = z3.Solver()
    s.add(x * x * x + y * y * y == z * z * z, x > 1, y > 1, z > 1)
    ask(s, units)


class _StandInInduction:
    """An induction that spends ``units`` and closes or not, counting how often it is asked."""

    def __init__(self, units: int, closes: bool) -> None:
        self.units, self.closes, self.asked = units, closes, 0

    def prove(self, prop: str, units: int) -> Outcome:
        self.asked += 1
        _spend(self.units)
        why = "stand-in invariant" if self.closes else "no invariant within the budget"
        return Outcome(self.closes, why)


def test_an_induction_that_does_not_close_leaves_the_bounded_passes_their_budget() -> None:
    u = unroll(builtin("qemu-tcg"), Envelope(depth=3))
    ind = _StandInInduction(units=3 * CELL, closes=False)  # more than the cell's budget
    v = bmc.check(u, "frozen-when-stopped", CellOptions(induction_first=True),
                  inductor=ind)  # type: ignore[arg-type]
    assert ind.asked == 1 and v.resources > 3 * CELL
    assert v.verdict == Status.PROVED and v.depth == 3 and not v.unbounded
    assert v.reason.startswith("induction did not close (no invariant within the budget)")


def test_a_bounded_proof_done_before_the_pause_never_pays_for_the_induction() -> None:
    u = unroll(builtin("qemu-tcg"), Envelope(depth=2))
    ind = _StandInInduction(units=0, closes=True)
    v = bmc.check(u, "frozen-when-stopped", CellOptions(induce_after=10**12),
                  inductor=ind)  # type: ignore[arg-type]
    assert v.verdict == Status.PROVED and not v.unbounded and ind.asked == 0


def test_a_slow_bounded_proof_pauses_for_the_induction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounded, "SEARCH_Q", 0)  # the search settles no step before it
    u = unroll(builtin("qemu-tcg"), Envelope(depth=2))
    ind = _StandInInduction(units=0, closes=True)
    v = bmc.check(u, "frozen-when-stopped", CellOptions(induce_after=0),
                  inductor=ind)  # type: ignore[arg-type]
    assert ind.asked == 1
    assert v.verdict == Status.PROVED and v.unbounded and v.reason == "stand-in invariant"
    assert v.witnesses["situation"]["reachable"]


def test_the_bounded_proof_resumes_after_an_induction_that_does_not_close(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bounded, "SEARCH_Q", 0)
    u = unroll(builtin("qemu-tcg"), Envelope(depth=2))
    ind = _StandInInduction(units=3 * CELL, closes=False)  # more than the cell's budget
    v = bmc.check(u, "frozen-when-stopped", CellOptions(induce_after=0),
                  inductor=ind)  # type: ignore[arg-type]
    assert ind.asked == 1
    assert v.verdict == Status.PROVED and v.depth == 2 and not v.unbounded
    assert v.reason.startswith("induction did not close")


def test_a_slow_search_pauses_for_the_induction_too(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pause counts from the solver's first question, so a search that takes the
    units does not come first."""
    asked: list[int] = []
    real_ask = bounded._ask

    def counted(*args: object) -> object:
        asked.append(1)
        return real_ask(*args)  # type: ignore[arg-type]

    class Counting(_StandInInduction):
        def prove(self, prop: str, units: int) -> Outcome:
            self.searched_after = len(asked)
            return super().prove(prop, units)

    monkeypatch.setattr(bounded, "_ask", counted)
    u = unroll(builtin("qemu-tcg"), Envelope(depth=2))
    ind = Counting(units=0, closes=True)
    v = bmc.check(u, "frozen-when-stopped", CellOptions(induce_after=0),
                  inductor=ind)  # type: ignore[arg-type]
    assert ind.asked == 1 and ind.searched_after == 0  # before the search's first question
    assert v.verdict == Status.PROVED and v.unbounded and v.witnesses["situation"]["reachable"]
    assert len(asked) == 0  # and the proof made every later question unnecessary
