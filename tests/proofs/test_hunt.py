"""Random concrete runs find the historical bugs before any solver query, and what they find
is cut down, within the depth, and replays."""

from __future__ import annotations

import pytest

from tbcheck.model.api import RuleSet
from tbcheck.model.events import Run
from tbcheck.model.registry import builtin
from tbcheck.proofs import bmc, passes
from tbcheck.proofs import hunt as hunt_module
from tbcheck.proofs.counterexample import Violation, first_violation
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.hunt import RUNS, hunt
from tbcheck.proofs.options import CellOptions
from tbcheck.proofs.unroll import unroll
from tbcheck.proofs.verdict import FoundBy, Status, Verdict

DEEP = Envelope(depth=8)


@pytest.mark.parametrize(("name", "prop"), [
    ("qemu-ppc-v1", "monotonic"), ("qemu-ppc-v3", "snapshot-frozen")])
def test_finds_the_deep_historical_bugs(name: str, prop: str) -> None:
    """The two the solver's search misses at depth 8 (the fuzzer found them, in 11-23 s)."""
    cx, runs = hunt(builtin(name), prop, DEEP)
    assert cx is not None and runs <= RUNS
    assert cx.check.prop == prop and cx.step == len(cx.events)
    assert sum(1 for e in cx.events if not isinstance(e, Run)) <= DEEP.depth
    again = first_violation(builtin(name), DEEP, cx.draw, cx.events, prop)
    assert again is not None and again.step == cx.step


def test_nothing_found_where_the_model_proves_the_property() -> None:
    cx, runs = hunt(builtin("seed-corrected"), "vcpus-agree", DEEP, runs=60)
    assert cx is None and runs == 60


def test_same_seed_same_counterexample() -> None:
    a, _ = hunt(builtin("qemu-ppc-v2"), "monotonic", DEEP, seed=3)
    b, _ = hunt(builtin("qemu-ppc-v2"), "monotonic", DEEP, seed=3)
    assert a is not None and b is not None
    assert (a.draw, a.events) == (b.draw, b.events)


def test_the_checker_reports_it_as_found_by_random_runs() -> None:
    v = bmc.check(unroll(builtin("qemu-ppc-v1"), DEEP), "monotonic", CellOptions(random_runs=RUNS))
    assert v.verdict == Status.VIOLATED and v.found_by == "random"
    assert v.counterexample is not None and v.counterexample.replayed


def test_a_proof_runs_no_fuzzer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hypothesis searches only when the solver cannot decide: a proof excludes what it
    could find."""
    asked: list[str] = []
    real = passes._concrete

    def spy(rules: type[RuleSet], env: Envelope, v: Verdict, cx: Violation | None,
            how: FoundBy) -> Verdict | None:
        asked.append(how)
        return real(rules, env, v, cx, how)

    monkeypatch.setattr(passes, "_concrete", spy)
    u = unroll(builtin("seed-corrected"), Envelope(depth=2))
    v = bmc.check(u, "vcpus-agree", CellOptions(fuzz_examples=50, random_runs=20))
    assert v.verdict == Status.PROVED and asked == ["random"]
    v = bmc.check(u, "vcpus-agree",
                  CellOptions(rlimit=1, fuzz_examples=20, random_runs=20))
    assert v.verdict == Status.UNKNOWN and asked[1:] == ["random", "fuzz"]


def test_a_violation_the_concrete_run_does_not_show_is_a_tool_error(
        monkeypatch: pytest.MonkeyPatch) -> None:

    monkeypatch.setattr(hunt_module, "first_violation", lambda *a: None)
    v = bmc.check(unroll(builtin("qemu-ppc-v1"), Envelope(depth=2)), "tracks-wall-clock",
                  CellOptions(random_runs=RUNS))
    assert v.verdict == Status.TOOL_ERROR and "disagree" in v.reason
