"""The gate: declarations read and written back, the outcome due at each depth, and which
cells pass (a partial proof only with --accept-partial)."""

from __future__ import annotations

from typing import Any

import pytest

from tbcheck.gate import FAIL, PARTIAL, PASS, Declaration, due, judge, outcome, parse, reached
from tbcheck.model.registry import BUILTIN_MODULES, builtin
from tbcheck.properties import property_names


@pytest.mark.parametrize("text", ["violated from depth 5", "proved to depth 3",
                                  "proved for every depth",
                                  "vacuous below depth 2, proved for every depth",
                                  "vacuous below depth 2, violated from depth 4",
                                  "violated from depth 5; proved to depth 3 below it",
                                  "proved to depth 4; to depth 3 from depth 8",
                                  "proved for every depth; to depth 7 from depth 8",
                                  "proved to depth 6; to depth 5 from depth 7; to depth 4 from "
                                  "depth 8"])
def test_a_declaration_reads_back_as_written(text: str) -> None:
    assert str(parse(text)) == text


@pytest.mark.parametrize("text", ["proved", "violated", "violated from depth 0",
                                  "proved to depth x", "vacuous below depth 5, proved to depth 3",
                                  "vacuous below depth 2, violated from depth 1",
                                  "violated from depth 5; proved to depth 4 below it", None, 3,
                                  "proved to depth 4; to depth 4 from depth 8",
                                  "proved to depth 4; to depth 3 from depth 3",
                                  "proved for every depth; to depth 5 from depth 8; to depth 6 "
                                  "from depth 9",
                                  "proved for every depth; to depth 5 from depth 8; to depth 4 "
                                  "from depth 7",
                                  "violated from depth 5; to depth 4 from depth 8"])
def test_a_declaration_that_is_none_of_the_forms_is_refused(text: Any) -> None:
    with pytest.raises(ValueError):
        parse(text)


def test_a_proof_that_reaches_less_when_more_is_asked() -> None:
    """A deeper question leaves the proof less of the budget: declared, it is due exactly."""
    assert [parse("proved to depth 4; to depth 3 from depth 8").due(d) for d in range(1, 10)] \
        == ["proved"] * 4 + ["proved@4"] * 3 + ["proved@3"] * 2
    assert [parse("proved for every depth; to depth 7 from depth 8").due(d) for d in (7, 8)] \
        == ["proved", "proved@7"]
    assert parse("proved for every depth; to depth 7 from depth 8").admits_violation(8)
    assert not parse("proved for every depth").admits_violation(8)
    rec = {"verdict": "proved", "depth": 7, "unbounded": False,
           "declared": "proved for every depth; to depth 7 from depth 8"}
    assert judge(rec, 8) == (PASS, "proved@7")
    assert judge({**rec, "depth": 6}, 8)[0] == FAIL


def test_the_outcome_due_at_each_depth() -> None:
    assert [parse("violated from depth 5").due(d) for d in range(1, 9)] == \
        ["proved"] * 4 + ["violated"] * 4
    assert [parse("proved to depth 3").due(d) for d in range(1, 9)] == \
        ["proved"] * 3 + ["proved@3"] * 5
    assert [parse("vacuous below depth 2, proved for every depth").due(d) for d in (1, 2, 16)] \
        == ["vacuous", "proved", "proved"]
    assert [parse("violated from depth 5; proved to depth 3 below it").due(d)
            for d in range(1, 7)] == ["proved"] * 3 + ["proved@3"] + ["violated"] * 2
    assert due(None, 8) == "proved"  # undeclared: required proved to the depth asked


def test_a_violation_agrees_with_a_declaration_only_as_deep_as_it_allows() -> None:
    assert parse("violated from depth 5").admits_violation(5)
    assert not parse("violated from depth 5").admits_violation(4)
    assert parse("proved to depth 3").admits_violation(4)
    assert not parse("proved to depth 3").admits_violation(3)
    assert not Declaration().admits_violation(16)


def _rec(verdict: str, depth: int, unbounded: bool = False, declared: str | None = None
         ) -> dict[str, Any]:
    return {"verdict": verdict, "depth": depth, "unbounded": unbounded, "declared": declared,
            "counterexample": None}


def test_an_undeclared_cell_passes_only_proved_to_the_depth_asked() -> None:
    assert judge(_rec("proved", 8), 8) == (PASS, "proved")
    assert judge(_rec("proved", 3, unbounded=True), 3)[0] == PASS
    assert judge(_rec("proved", 2), 8) == (FAIL, "proved")
    for verdict in ("unknown", "vacuous", "violated", "tool-error"):
        assert judge(_rec(verdict, 8), 8)[0] == FAIL
        assert judge(_rec(verdict, 8), 8, accept_partial=True)[0] == FAIL


def test_accept_partial_passes_a_partial_proof_and_says_so() -> None:
    assert judge(_rec("proved", 2), 8, accept_partial=True) == (PARTIAL, "proved")
    declared = _rec("proved", 2, declared="proved to depth 3")
    assert judge(declared, 8)[0] == FAIL  # not the depth declared
    assert judge(declared, 8, accept_partial=True)[0] == PARTIAL
    deeper = _rec("proved", 8, declared="proved to depth 3")
    assert judge(deeper, 8)[0] == FAIL  # exact: the declaration is out of date
    assert judge(deeper, 8, accept_partial=True)[0] == PASS


def test_a_declared_cell_must_say_exactly_what_is_due() -> None:
    v = "violated from depth 5"
    assert judge(_rec("violated", 8, declared=v), 8)[0] == PASS
    assert judge(_rec("proved", 4, declared=v), 4)[0] == PASS
    assert judge(_rec("violated", 4, declared=v), 4)[0] == FAIL  # shallower than declared
    assert judge(_rec("proved", 8, declared=v), 8)[0] == FAIL
    assert judge(_rec("proved", 3, declared="proved to depth 3"), 8) == (PASS, "proved@3")
    assert judge(_rec("proved", 4, declared="proved to depth 3"), 8)[0] == FAIL


def test_outcome_and_reached_say_what_was_asked_and_what_came() -> None:
    assert outcome(_rec("proved", 3), 8) == "proved@3"
    assert outcome(_rec("proved", 3, unbounded=True), 8) == "proved"
    assert reached(_rec("proved", 3)) == "proved to depth 3"
    assert reached(_rec("proved", 8, unbounded=True)) == "proved for every depth"
    cx = {**_rec("violated", 8), "counterexample": {"depth": 5, "step": 5}}
    assert reached(cx).startswith("violated at depth 5")


@pytest.mark.parametrize("name", list(BUILTIN_MODULES))
def test_every_builtin_declares_every_property_in_the_format(name: str) -> None:
    rules = builtin(name)
    assert set(rules.expected) == set(property_names())
    for text in rules.expected.values():
        parse(text)
