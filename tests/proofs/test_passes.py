"""Each pass does its one job and either decides the cell or hands on; the driver stops at the
first verdict; the options are one frozen value; the statuses are the words they always were."""

from __future__ import annotations

import dataclasses
import json
from functools import cache

import pytest
import z3

from tbcheck.model.registry import builtin
from tbcheck.proofs import bmc, passes
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.induction import Outcome
from tbcheck.proofs.options import DEFAULTS, CellOptions
from tbcheck.proofs.passes import Cell
from tbcheck.proofs.unroll import Unrolling, unroll
from tbcheck.proofs.verdict import FoundBy, Status, Verdict


@cache
def _unrolled(name: str, depth: int) -> Unrolling:
    return unroll(builtin(name), Envelope(depth=depth))


def _cell(name: str = "seed-corrected", prop: str = "frozen-when-stopped", depth: int = 2,
          options: CellOptions = DEFAULTS, inductor: object = None) -> Cell:
    return Cell.open(_unrolled(name, depth), prop, options, inductor)  # type: ignore[arg-type]


class _Induction:
    def __init__(self, closes: bool) -> None:
        self.closes, self.asked = closes, 0

    def prove(self, prop: str, units: int) -> Outcome:
        self.asked += 1
        return Outcome(self.closes, "stand-in")


def test_the_options_are_one_frozen_hashable_value() -> None:
    a, b = CellOptions(rlimit=5, deepen=True), CellOptions(rlimit=5, deepen=True)
    assert a == b and hash(a) == hash(b) and a != CellOptions(rlimit=6, deepen=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.rlimit = 7  # type: ignore[misc]


def test_statuses_are_the_words_the_records_always_had() -> None:
    assert json.dumps([Status.PROVED, Status.TOOL_ERROR, FoundBy.RANDOM, FoundBy.NONE]) == (
        '["proved", "tool-error", "random", ""]')
    assert f"{Status.VACUOUS}" == "vacuous" and not FoundBy.NONE


def test_the_passes_run_in_their_named_order() -> None:
    assert [p.__name__ for p in bmc.PASSES] == [
        "assumptions", "random_runs", "induction_first", "search", "bounded_proof", "fuzz",
        "undecided", "reachability"]


def test_the_driver_stops_at_the_first_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []

    def hands_on(cell: Cell) -> Verdict | None:
        ran.append("on")
        return None

    def decides(cell: Cell) -> Verdict | None:
        ran.append("decides")
        cell.verdict.verdict = Status.VACUOUS
        return cell.verdict

    monkeypatch.setattr(bmc, "PASSES", (hands_on, decides, hands_on))
    v = bmc.check(_unrolled("seed-corrected", 1), "monotonic")
    assert ran == ["on", "decides"] and v.verdict == Status.VACUOUS and v.resources >= 0


def test_satisfiable_assumptions_hand_on_and_contradictory_ones_decide() -> None:
    cell = _cell()
    assert passes.assumptions(cell) is None
    assert cell.verdict.witnesses["assumptions"] == {"satisfiable": True}
    cell.solver.add(z3.BoolVal(False))
    v = passes.assumptions(cell)
    assert v is not None and v.verdict == Status.VACUOUS


def test_random_runs_are_off_at_zero_and_find_a_common_bug() -> None:
    assert passes.random_runs(_cell("qemu-ppc-v1", "monotonic", 4)) is None
    v = passes.random_runs(_cell("qemu-ppc-v1", "monotonic", 4, CellOptions(random_runs=200)))
    assert v is not None and v.verdict == Status.VIOLATED and v.found_by == FoundBy.RANDOM


@pytest.mark.parametrize("first", [False, True])
def test_the_induction_goes_first_only_when_asked(first: bool) -> None:
    ind = _Induction(closes=True)
    cell = _cell(options=CellOptions(induction_first=first), inductor=ind)
    assert passes.induction_first(cell) is None  # it proves, the witness still follows
    assert ind.asked == first and (cell.sites == []) == first
    assert cell.verdict.unbounded == first and (cell.inductor is None) == first


def test_an_induction_that_does_not_close_leaves_every_check_to_prove() -> None:
    cell = _cell(options=CellOptions(induction_first=True), inductor=_Induction(closes=False))
    before = list(cell.sites)
    assert passes.induction_first(cell) is None
    assert cell.sites == before and cell.inductor is None
    assert cell.verdict.reason == "induction did not close (stand-in); "


def test_nothing_is_fuzzed_unless_the_bounded_proof_stalled() -> None:
    assert passes.fuzz(_cell(options=CellOptions(fuzz_examples=10**6))) is None


@pytest.mark.parametrize(("stalled", "deepen", "decides"), [
    (None, False, False), (3, False, True), (3, True, False), (1, True, True)])
def test_a_stall_is_unknown_unless_it_may_stand_as_a_shallower_proof(
        stalled: int | None, deepen: bool, decides: bool) -> None:
    cell = _cell(options=CellOptions(deepen=deepen))
    cell.stalled = stalled
    v = passes.undecided(cell)
    assert (v is not None) == decides
    if v is not None:
        assert v.verdict == Status.UNKNOWN and "resource units" in v.reason


def test_the_situations_witness_always_decides() -> None:
    cell = _cell(depth=1)  # a stop and a cont need two events
    assert passes.reachability(cell).verdict == Status.VACUOUS
    cell = _cell(depth=2)
    v = passes.reachability(cell)
    assert v.verdict == Status.PROVED and v.witnesses["situation"]["reachable"]
