"""The two engines are one model: on any event sequence, the symbolic engine's terms evaluated
at the concrete values give the concrete engine's observations and checks, one by one; and every
violation the fuzzer finds is a satisfiable query for the SMT engine."""

from __future__ import annotations

from dataclasses import replace

import pytest
import z3
from fuzz_findings import finding
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tbcheck.model.registry import BUILTIN_MODULES, builtin
from tbcheck.proofs import draws
from tbcheck.proofs.concrete import run as concrete_run
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.proofs.fuzz.symbolic import symbolic_run, unroll_query, violation_query

ENV = Envelope(slots=("s1", "s2"))
SAME_F = replace(ENV, same_frequency=True)


def _agree(name: str, env: Envelope, draw: draws.ParamDraw, events: list) -> int:
    """Compare the engines on one example; return how many checks were compared."""
    rules = builtin(name)
    conc = concrete_run(rules, draw.params(), events, tolerances(rules, env, draw.params()),
                        strict=False)
    sym = symbolic_run(rules, env, draw, conc.events)
    for p in sym.dropped:  # a path on which a later event could not happen is not taken
        assert sym.at(p.cond) is False
    path = sym.taken()
    assert len(path.observations) == len(conc.observations)
    for so, co in zip(path.observations, conc.observations, strict=True):
        assert (so.step, so.event, so.host, so.state, so.cpu) == \
            (co.step, co.event, co.host, co.state, co.cpu)
        assert sym.at(so.t) == int(co.t)
        assert sym.at(so.tb) == int(co.tb), f"step {co.step} cpu {co.cpu}"
    assert len(path.checks) == len(conc.checks)
    for (ss, sc), (cs, cc) in zip(path.checks, conc.checks, strict=True):
        assert (ss, sc.prop, sc.what) == (cs, cc.prop, cc.what)
        assert sym.at(sc.ok) == bool(cc.ok), f"{cc.prop} at event {cs}: {cc.what}"
        assert sym.at(sc.situation) == bool(cc.situation)
    return len(conc.checks)


@pytest.mark.parametrize("name", list(BUILTIN_MODULES))
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_symbolic_evaluates_to_concrete(name: str, data: st.DataObject) -> None:
    env = data.draw(st.sampled_from([ENV, SAME_F]))
    draw = data.draw(draws.params(env))
    events = data.draw(draws.events(env, 10))
    assert _agree(name, env, draw, events) > 0


def test_a_refused_migration_forks_and_the_right_branch_is_taken() -> None:
    """seed-corrected refuses a migration between frequencies: on symbols that is a fork, and
    substitution must pick the refused branch when the frequencies differ, the other when not."""
    from tbcheck.model.domain import Int
    from tbcheck.model.events import Migrate, Read, Run

    events = [Run(Int(10**9)), Migrate(1, Int(5), Int(7), Int(11)), Read(0), Run(Int(3))]
    for f1 in (512_000_000, 500_000_000):
        h = draws.HostDraw(512_000_000, 10**6, 0, 0)
        draw = draws.ParamDraw((h, replace(h, freq=f1), h), 10**9, 10**12, 2)
        sym = symbolic_run(builtin("seed-corrected"), ENV, draw, events)
        assert len(sym.paths) == 2
        assert (sym.taken().ws.vm.host == 1) == (f1 == 512_000_000)
        _agree("seed-corrected", ENV, draw, events)


@pytest.mark.parametrize("name", ["qemu-tcg", "qemu-ppc-v3", "seed-anchored", "seed-corrected"])
def test_the_engines_agree_on_a_destination_started_paused(name: str) -> None:
    """The probe at the load (a cont on a copy) and the pause after it are one definition: the
    symbolic terms give the concrete checks, and a violation at the cont is one the SMT
    engine's unrolling (step alternative ``migrate-paused``) finds under the same values."""
    from tbcheck.model.domain import Int
    from tbcheck.model.events import Cont, Migrate, Run

    events = [Run(Int(10**9)), Migrate(1, Int(5), Int(7), Int(10**6), paused=True),
              Run(Int(3 * 10**9)), Cont(), Run(Int(10**9))]
    h = draws.HostDraw(512_000_000, 10**6, 0, 0)
    draw = draws.ParamDraw((h, replace(h, counter0=7 * 10**9), h), 10**9, 10**12, 2)
    assert _agree(name, ENV, draw, events) > 0
    conc = concrete_run(builtin(name), draw.params(), events,
                        tolerances(builtin(name), ENV, draw.params()), strict=False)
    for prop in ("frozen-when-stopped", "tracks-wall-clock"):
        if any(c.prop == prop and not c.ok.v for _, c in conc.checks):
            _solve(*unroll_query(builtin(name), ENV, draw, events, prop))


def test_the_engines_agree_on_a_guest_write_and_the_solver_finds_its_loss() -> None:
    """qemu-tcg's write_tb and the references it moves are one definition on both engines;
    losing the written offset in a migration is a violation the unrolling finds too."""
    from tbcheck.model.domain import U64, Int
    from tbcheck.model.events import Migrate, Run, Write

    events = [Run(Int(10**9)), Write(1, U64(123_456_789)), Run(Int(10**9)),
              Migrate(1, Int(5), Int(7), Int(11)), Run(Int(10**9))]
    h = draws.HostDraw(512_000_000, 10**6, 0, 0)
    draw = draws.ParamDraw((h, h, h), 10**9, 10**12, 2)
    assert _agree("qemu-tcg", ENV, draw, events) > 0
    _solve(*unroll_query(builtin("qemu-tcg"), ENV, draw, events, "vcpus-agree"))
    # without the migration, the same write violates nothing, on the solver's side too
    s = z3.Solver()
    term, assertions = unroll_query(builtin("qemu-tcg"), ENV, draw, events[:3], "vcpus-agree")
    s.add(*assertions, term)
    assert s.check() == z3.unsat


# ----------------------------------------------------------------- (b) fuzzer finding => sat

# (name, property, shrink): two shrunk findings (shared with test_fuzz), the others as first
# found (values unshrunk, unneeded events dropped): the solver must accept either.
FINDINGS = [("qemu-ppc-v1", "frozen-when-stopped", True),
            ("qemu-ppc-v0", "frozen-when-stopped", True),
            ("qemu-ppc-v2", "snapshot-frozen", False), ("qemu-tcg", "tracks-wall-clock", False),
            ("seed-units-fixed", "monotonic", False)]


def _solve(term: z3.BoolRef, assertions: list) -> None:
    s = z3.Solver()
    s.set(timeout=60_000)
    s.add(*assertions)
    s.add(term)
    assert s.check() == z3.sat
    assert z3.is_true(s.model().eval(term, model_completion=True))


@pytest.mark.parametrize(("name", "prop", "shrink"), FINDINGS)
def test_fuzzer_violation_is_sat_on_the_symbolic_run(name: str, prop: str, shrink: bool) -> None:
    v = finding(name, prop, shrink)
    sym = symbolic_run(builtin(name), ENV, v.draw, v.events)
    path = sym.taken()
    checks = [c for _, c in path.checks if c.prop == prop]
    failing = [i for i, c in enumerate(checks) if sym.at(c.ok) is False]
    assert failing, "the symbolic run evaluates the fuzzer's violation as holding"
    term, assertions = violation_query(sym, prop, failing[0])
    _solve(term, assertions)
    # pinned to the values, the term is not satisfiable with the check holding instead
    s = z3.Solver()
    s.add(*assertions)
    s.add(z3.Not(term))
    s.add(path.cond.v if isinstance(path.cond.v, z3.ExprRef) else z3.BoolVal(path.cond.v))
    assert s.check() == z3.unsat


@pytest.mark.parametrize(("name", "prop", "shrink"), [*FINDINGS[:2], *FINDINGS[3:]])
def test_fuzzer_violation_is_sat_for_the_smt_engines_unrolling(name: str, prop: str,
                                                               shrink: bool) -> None:
    v = finding(name, prop, shrink)
    term, assertions = unroll_query(builtin(name), ENV, v.draw, v.events, prop)
    _solve(term, assertions)
