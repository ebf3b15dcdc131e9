"""The quantities an invariant speaks of, and its candidate facts."""

from __future__ import annotations

import pytest

from tbcheck.defaults import concrete_params, tolerances_for
from tbcheck.model.api import PAUSED
from tbcheck.model.domain import Int
from tbcheck.model.events import Run, Stop
from tbcheck.model.registry import builtin
from tbcheck.model.world import World
from tbcheck.proofs.quantities import Candidate, candidates, named_leaves, prune, quantities
from tbcheck.properties.monitor import Monitor


def world(name: str = "seed-corrected") -> World:
    rules = builtin(name)
    params = concrete_params()
    return World(rules, params, Monitor(tolerances_for(rules, params)),
                 record_observations=False)


def test_leaves_are_named_by_their_path() -> None:
    w = world()
    names = [n for n, _ in named_leaves(w.boot().ws)]
    assert "t" in names and "vm.rules.stoppedGuestTB" in names
    assert "vm.cpus[1].tb_offset" in names and "ghost.last[0]" in names


def test_quantities_read_the_tb_the_hooks_give() -> None:
    w = world()
    path = w.boot()
    q = quantities(w, path.ws)
    assert int(q["tb_now[0]"].v) == int(q["ghost.last[0]"].v)  # boot reads the TB
    assert "tb_resume[0]" not in q  # only a paused guest can be resumed
    (path,) = w.step(path, Stop())
    (path,) = w.step(path, Run(Int(10**9)))
    assert path.ws.vm.state == PAUSED
    q = quantities(w, path.ws)
    # seed-corrected freezes the TB: a cont now would give the TB at the stop
    assert int(q["tb_resume[0]"].v) == int(q["ghost.pause_ref[0]"].v)
    assert int(q["tb_now[0]"].v) > int(q["tb_resume[0]"].v)  # the host counter ran on


def test_candidates_leave_out_what_the_envelope_implies() -> None:
    w = world()
    q = quantities(w, w.boot().ws)
    cands = candidates(q, q, 0)
    assert Candidate("eq", "f_g", "host.freq") in cands  # may fail after a migration
    assert not any(c.kind == "le" and {c.a, c.b} <= {"t", "host.realtime"} for c in cands)
    assert not any(c.kind == "ge0" and c.a == "ghost.last[0]" for c in cands)  # u64: >= 0
    assert any(c.kind == "bound" and c.a == "ghost.last[0]" for c in cands)
    # with a granularity, a resume may land up to granularity - 1 ticks ahead
    assert Candidate("le", "tb_now[0]", "ghost.last[0]", 7) in candidates(q, q, 8)


def test_prune_keeps_one_representative_per_equal_class() -> None:
    cands = [Candidate("eq", "a", "b"), Candidate("eq", "b", "c"), Candidate("eq", "a", "c"),
             Candidate("le", "a", "d"), Candidate("le", "c", "d"), Candidate("bound", "b")]
    out = prune(cands)
    assert Candidate("eq", "a", "b") in out and Candidate("eq", "a", "c") in out
    assert Candidate("le", "a", "d") in out
    assert Candidate("le", "c", "d") not in out and Candidate("bound", "b") not in out


def test_candidate_holds_on_integers() -> None:
    q = {"a": Int(5), "b": Int(7)}
    assert bool(Candidate("le", "a", "b").holds(q, Int(0)))
    assert not bool(Candidate("le", "b", "a").holds(q, Int(0)))
    assert bool(Candidate("le", "b", "a", 2).holds(q, Int(0)))
    assert bool(Candidate("bound", "b").holds(q, Int(7)))
    assert not bool(Candidate("bound", "b").holds(q, Int(6)))


@pytest.mark.parametrize(("cand", "holds_at", "fails_at", "text"), [
    (Candidate("eq", "a", "b"), {"a": 7, "b": 7}, {"a": 6, "b": 7}, "a == b"),
    (Candidate("le", "a", "b", 1), {"a": 8, "b": 7}, {"a": 9, "b": 7}, "a <= b + 1"),
    (Candidate("const", "a", k=3), {"a": 3}, {"a": 4}, "a == 3"),
    (Candidate("ge0", "a"), {"a": 0}, {"a": -1}, "a >= 0"),
    (Candidate("bound", "a"), {"a": 10}, {"a": 11}, "a <= B + R*t + E*n"),
])
def test_each_kind_holds_at_its_edge_and_says_so(cand: Candidate, holds_at: dict[str, int],
                                                 fails_at: dict[str, int], text: str) -> None:
    growth = Int(10)
    assert bool(cand.holds({n: Int(v) for n, v in holds_at.items()}, growth))
    assert not bool(cand.holds({n: Int(v) for n, v in fails_at.items()}, growth))
    assert str(cand) == text


def test_an_offset_from_a_clock_gets_the_sum_candidates() -> None:
    w = world("qemu-tcg")  # the virtual clock: cpu_clock_offset + CLOCK_MONOTONIC
    q = quantities(w, w.boot().ws)
    cands = candidates(q, q, 0)
    off = "vm.rules.cpu_clock_offset"
    assert Candidate("sum0", off, "host.monotonic") in cands
    assert Candidate("sumbound", off, "host.monotonic") in cands
    # and the boot state, where the virtual clock is 0, satisfies both
    growth = Int(0)
    assert bool(Candidate("sum0", off, "host.monotonic").holds(q, growth))
    assert bool(Candidate("sumbound", off, "host.monotonic").holds(q, growth))
    # a quantity that cannot be negative gets none (its own ge0 and bound say enough)
    assert not any(c.kind in ("sum0", "sumbound") and c.a == "ghost.last[0]" for c in cands)


def test_sum_candidates_hold_on_integers() -> None:
    q = {"off": Int(-5), "clock": Int(7)}
    assert bool(Candidate("sum0", "off", "clock").holds(q, Int(0)))
    assert not bool(Candidate("sum0", "off", "clock").holds({"off": Int(-8), "clock": Int(7)},
                                                           Int(0)))
    assert bool(Candidate("sumbound", "off", "clock").holds(q, Int(2)))
    assert not bool(Candidate("sumbound", "off", "clock").holds(q, Int(1)))
    assert str(Candidate("sum0", "off", "clock")) == "off + clock >= 0"
