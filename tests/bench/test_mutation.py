"""The mutation check on a few mutants of seed-anchored at a small depth: each killed one is
killed by the property its header names, with a replayed counterexample; an equivalent one has
every cell as seed-anchored's declaration makes due. (bench/mutation.py runs them all.)"""

from __future__ import annotations

import pytest

from bench.mutation import PROPERTIES, judge, mutants, parse

DEPTH = 2
KILLED = ["frozen_plus_one", "tracks_sign", "freq_never_refuses", "vcpus_boot_cpu0_only",
          "overflow_s64_product", "snap_record_counts"]


def test_every_mutant_says_what_it_changed_and_what_must_kill_it() -> None:
    found = mutants()
    killable = [m for m in found if not m.equivalent]
    for p in PROPERTIES:
        assert sum(m.killer == p for m in killable) >= 3, p
    assert sum(m.equivalent for m in found) >= 2


def test_a_header_that_names_no_property_is_refused(tmp_path) -> None:
    bad = tmp_path / "m.py"
    bad.write_text("# killed by speed: faster\n")
    with pytest.raises(ValueError, match="first line"):
        parse(bad)


@pytest.mark.parametrize("name", KILLED)
def test_a_mutant_is_killed_by_its_property(name: str) -> None:
    (m,) = mutants([name])
    out = judge(m, DEPTH, "20M", jobs=1)
    assert out.error == ""
    assert out.killed, out.cells
    cx = out.cells[m.killer or ""]["counterexample"]
    assert cx["replayed"] and cx["events"] is not None


def test_re_anchoring_at_every_resume_is_killed_by_the_random_runs_the_bench_gives() -> None:
    """Its counterexample needs hops between hosts whose clocks disagree, beyond the solver's
    budget at depth 3: the bench's random runs find it."""
    (m,) = mutants(["tracks_reanchor_every_resume"])
    out = judge(m, 4, "20M", jobs=1)
    assert out.killing() == ["tracks-wall-clock"], out.cells
    assert out.cells["tracks-wall-clock"]["counterexample"]["replayed"]


@pytest.mark.timeout(3600)  # its proofs spend up to 100M units each: minutes on a busy machine
def test_an_equivalent_mutant_stays_proved() -> None:
    (m,) = mutants(["equiv_cpu1_offset"])
    out = judge(m, DEPTH, "100M", jobs=1, runs=200)  # a generous solver budget: proofs are
    # slower; prove's default random runs (nothing is there to find)
    assert set(out.cells) == set(PROPERTIES)
    assert out.ok, {p: (r["verdict"], r["depth"]) for p, r in out.cells.items()}
