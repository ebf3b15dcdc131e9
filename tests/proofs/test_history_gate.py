"""The history as a gate: every built-in rule set's declared outcomes (docs/findings.md says
why each) come out exactly, at `make verify`'s depth and budgets. A changed cell fails here.
The gate runs as `tbcheck prove` does, in a worker process (a crash of z3 there is retried);
verdicts are deterministic (budgets in resource units), so no partial proof is excused."""

from __future__ import annotations

import json

import pytest

from tbcheck.cli import main
from tbcheck.gate import FAIL, judge
from tbcheck.model.registry import BUILTIN_MODULES, builtin
from tbcheck.properties import property_names

GATE = ["--depth", "4", "--jobs", "1", "--json"]  # as `make verify`, at the default budgets


@pytest.mark.timeout(3600)  # a rule set's cells one after another, some to their whole budget
@pytest.mark.parametrize("name", list(BUILTIN_MODULES))
def test_declared_verdicts_hold(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    rules = builtin(name)
    assert set(rules.expected) == set(property_names()), "every cell is declared"
    rc = main(["prove", "--variant", name, *GATE])
    got = {r["property"]: r for r in json.loads(capsys.readouterr().out)["results"]}
    changed = {p: (got[p]["outcome"], got[p]["due"]) for p in rules.expected
               if judge(got[p], 4)[0] == FAIL}
    assert not changed, f"{name}: cells changed (found, declared): {changed}"
    assert rc == 0
    for r in got.values():
        if r["verdict"] == "violated":
            assert r["counterexample"] is not None and r["counterexample"]["replayed"]
        if r["verdict"] == "proved":
            assert r["witnesses"]["assumptions"]["satisfiable"]
            assert r["witnesses"]["situation"]["reachable"]
