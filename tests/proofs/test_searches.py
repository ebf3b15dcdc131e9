"""The invariant searches a run's workers share: one search of a rule set at a time, and none
after one ran out (proofs.searches, proofs.induction)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import proofs.induction as induction
from model.registry import builtin
from proofs.envelope import Envelope
from proofs.induction import Inductor
from proofs.searches import BUSY, MINE, RAN_OUT, Searches


def _another_process_claims(folder: Path, what: str, then: str = "sys.stdin.read()"
                            ) -> subprocess.Popen[str]:
    """A live process that has claimed ``what`` (as ``s``), then does ``then`` (by default,
    holds the claim until its stdin closes)."""
    code = ("import sys, time; from pathlib import Path; from proofs.searches import Searches; "
            f"s = Searches(Path({str(folder)!r})); print(s.claim({what!r}), flush=True); "
            + then)
    p = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    assert p.stdout is not None and p.stdout.readline().strip() == MINE
    return p


def test_a_search_claimed_by_a_live_process_is_busy_and_free_once_it_is_gone(
        tmp_path: Path) -> None:
    held = _another_process_claims(tmp_path, "qemu-tcg")
    try:
        assert Searches(tmp_path).claim("qemu-tcg") == BUSY
        assert Searches(tmp_path).claim("seed-corrected") == MINE  # another search: free
    finally:
        held.communicate("")
    assert Searches(tmp_path).claim("qemu-tcg") == MINE  # its searcher died mid-search


def test_a_search_that_ran_out_is_not_searched_again_one_that_found_hands_on_its_facts(
        tmp_path: Path) -> None:
    s = Searches(tmp_path)
    assert s.claim("a") == MINE and s.claim("b") == MINE
    s.finish("a", None)
    s.finish("b", {("key",): ["fact"]})
    assert s.claim("a") == RAN_OUT and s.facts("a") is None
    assert s.claim("b") == MINE  # proved again from the facts, in this process
    assert s.facts("b") == {("key",): ["fact"]}


def test_a_found_invariant_is_proved_again_from_its_facts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = Inductor(builtin("qemu-ppc-v0"), Envelope(), 120.0, searches=Searches(tmp_path))
    assert first.prove("monotonic", 60.0).proved
    assert first.invariant is not None
    hints: list[object] = []
    real_find = induction.find

    def find(*args: object) -> object:
        hints.append(args[-1])
        return real_find(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(induction, "find", find)
    second = Inductor(builtin("qemu-ppc-v0"), Envelope(), 120.0, searches=Searches(tmp_path))
    assert second.prove("monotonic", 60.0).proved
    assert hints == [first.invariant.holds]  # it started from the first one's facts
    assert second.invariant is not None and second.invariant.holds == first.invariant.holds


def _no_search(*_: object, **__: object) -> None:
    raise AssertionError("searched")


def test_the_induction_skips_a_search_another_worker_ran_out_of(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    mine = Inductor(builtin("qemu-tcg"), Envelope(), 0.01, searches=Searches(tmp_path))
    out = mine.prove("monotonic", 5.0)  # a search of 0.01 s runs out
    assert not out.proved and out.reason == "no invariant within the budget"
    monkeypatch.setattr(induction, "find", _no_search)
    other = Inductor(builtin("qemu-tcg"), Envelope(), 0.01, searches=Searches(tmp_path))
    out = other.prove("frozen-when-stopped", 5.0)
    assert not out.proved and out.reason == ("no invariant within the budget (another "
                                             "worker's search)")
    assert other.tried and not other.ready


def test_the_induction_awaits_the_end_of_another_workers_search(tmp_path: Path) -> None:
    ind = Inductor(builtin("qemu-tcg"), Envelope(), 0.01, searches=Searches(tmp_path))
    other = _another_process_claims(tmp_path, ind._what(),
                                    f"time.sleep(1); s.finish({ind._what()!r}, None)")
    ind.await_search(0.05)
    assert not Searches(tmp_path).busy(ind._what())  # it returned when the search ended
    assert Searches(tmp_path).claim(ind._what()) == RAN_OUT
    other.communicate("")


def test_the_induction_waits_for_a_search_another_worker_is_doing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ind = Inductor(builtin("qemu-tcg"), Envelope(), 0.01, searches=Searches(tmp_path))
    held = _another_process_claims(tmp_path, ind._what())
    monkeypatch.setattr(induction, "find", _no_search)
    try:
        out = ind.prove("monotonic", 5.0)
        assert out.reason == "another worker is searching the invariant"
        assert not ind.tried  # its next cell asks again
        Searches(tmp_path).finish(ind._what(), None)
    finally:
        held.communicate("")
    assert "another worker's search" in ind.prove("monotonic", 5.0).reason
    assert ind.tried and os.listdir(tmp_path)
