"""`proofs.equivalence`: two rule sets compared over the same symbolic events; the shortest
distinguishing sequence replays on the concrete engine; the product unrolling agrees with one
unrolling a rule set."""

from __future__ import annotations

import pytest

from tbcheck.defaults import concrete_params, tolerances_for
from tbcheck.model.domain import Int, value
from tbcheck.model.events import Cont, LoadVM, Migrate, MigrateFail, Run, SaveVM, Stop
from tbcheck.model.registry import builtin
from tbcheck.proofs import equivalence as E
from tbcheck.proofs.concrete import run
from tbcheck.proofs.envelope import Envelope


def _kinds(c: E.Comparison) -> list[str]:
    assert c.difference is not None
    return [e.kind for e in c.difference.events if e.kind != "run"]


def test_v4_is_v3_as_the_guest_sees_it() -> None:
    c = E.compare(builtin("qemu-ppc-v3"), builtin("qemu-ppc-v4"), Envelope(depth=3))
    assert c.verdict == E.EQUAL and c.depth == 3 and c.difference is None


def test_a_savevm_tells_v2_from_v3_and_both_replays_show_it() -> None:
    c = E.compare(builtin("qemu-ppc-v2"), builtin("qemu-ppc-v3"), Envelope(depth=2))
    assert c.verdict == E.DIFFERENT and c.shortest and c.depth == 0
    assert _kinds(c) == ["savevm"]
    d = c.difference
    assert d is not None and d.first is not None
    a, b = d.a.observations[d.first], d.b.observations[d.first]
    assert a.step == b.step == 1  # the resume after the savevm
    assert value(a.tb) > value(b.tb)  # v2 counts the time savevm spent writing RAM


def test_the_shortest_difference_is_found_after_the_depths_proved_equal() -> None:
    # v1 re-reads the TB of a paused guest at pre_save, v2 does not: stop, migrate, cont
    c = E.compare(builtin("qemu-ppc-v1"), builtin("qemu-ppc-v2"), Envelope(depth=4))
    assert c.verdict == E.DIFFERENT and c.shortest
    assert c.depth == 2 and c.difference is not None and c.difference.step == 3
    assert _kinds(c)[0] == "stop" and _kinds(c)[-1] == "cont"


def test_two_unrollings_decide_as_the_product_does(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object) -> None:
        raise E.NotPairable("as if the pair refused differently")

    monkeypatch.setattr(E, "paired", refuse)
    c = E.compare(builtin("qemu-ppc-v1"), builtin("qemu-ppc-v2"), Envelope(depth=3))
    assert c.verdict == E.DIFFERENT and c.depth == 2 and _kinds(c)[0] == "stop"
    same = E.compare(builtin("qemu-ppc-v3"), builtin("qemu-ppc-v4"), Envelope(depth=2))
    assert same.verdict == E.EQUAL


def test_a_pair_that_refuses_differently_is_compared_apart() -> None:
    a, b = builtin("seed-corrected"), builtin("seed-units-fixed")
    with pytest.raises(E.NotPairable):
        E.unroll_reads(E.paired(a, b, 2), Envelope(depth=1, ncpus=4))
    c = E.compare(a, b, Envelope(depth=1))
    assert c.verdict == E.DIFFERENT and c.difference is not None and c.difference.first is not None


@pytest.mark.parametrize("pair", [("qemu-ppc-v2", "qemu-ppc-v3"), ("qemu-ppc-v0", "qemu-tcg"),
                                  ("seed-corrected", "seed-anchored")])
def test_the_product_runs_each_rule_set_as_it_runs_alone(pair: tuple[str, str]) -> None:
    a, b = builtin(pair[0]), builtin(pair[1])
    s = 10**9
    events = [Run(Int(s)), Stop(), Run(Int(s)), Migrate(1, Int(1), Int(2), Int(3)),
              Migrate(2, Int(5), Int(6), Int(7)), Cont(), Migrate(0, Int(s), Int(s), Int(s)),
              MigrateFail(Int(s), Int(2)), SaveVM("s1", Int(3 * s)), Run(Int(s)), Stop(),
              LoadVM("s1", Int(7)), Cont(), Run(Int(s))]
    params = concrete_params()
    both = run(E.paired(a, b, 2), concrete_params(ncpus=4), events,
               tolerances_for(a, params))
    alone = [run(r, params, events, tolerances_for(r, params)) for r in (a, b)]
    for half, trace in enumerate(alone):
        mine = [(o.step, o.cpu - 2 * half, value(o.tb)) for o in both.observations
                if 2 * half <= o.cpu < 2 * half + 2]
        assert mine == [(o.step, o.cpu, value(o.tb)) for o in trace.observations]


def test_the_fix_differs_from_v4_only_by_a_paused_double_hop() -> None:
    v4, fix = builtin("qemu-ppc-v4"), builtin("qemu-ppc-fix")
    c = E.compare(v4, fix, Envelope(depth=4))
    assert c.verdict == E.DIFFERENT and c.difference is not None
    evs = [e for e in c.difference.events if e.kind != "run"]
    # the guest arrives paused: a paused guest's migration (stop, migrate), or a running
    # guest's into a destination started paused (the shortest, three events)
    hop = 1 if evs[0].kind == "stop" else 0
    assert evs[hop].kind == "migrate" and (hop == 1 or evs[0].paused)
    assert evs[hop + 1].kind in ("migrate", "migrate-fail", "savevm") and evs[-1].kind == "cont"
    rest = E.compare(v4, fix, Envelope(depth=4), exclude="paused-double-hop")
    assert rest.verdict == E.EQUAL and rest.depth == 4


def test_the_exclusion_leaves_other_differences_in() -> None:
    # a savevm, and one paused hop followed by cont, are not a paused double hop
    for a, b in (("qemu-ppc-v2", "qemu-ppc-v3"), ("qemu-ppc-v1", "qemu-ppc-v2")):
        c = E.compare(builtin(a), builtin(b), Envelope(depth=3), exclude="paused-double-hop")
        assert c.verdict == E.DIFFERENT, (a, b)


def test_riscv_kvm_is_arm_virtual_time_adjustment_as_the_guest_sees_it() -> None:
    # two sources, one scheme: saved at stop, restored at cont, the saved value migrated
    c = E.compare(builtin("qemu-riscv-kvm"), builtin("qemu-arm-adjvtime"), Envelope(depth=3))
    assert c.verdict == E.EQUAL and c.depth == 3
    other = E.compare(builtin("qemu-arm-adjvtime"), builtin("qemu-arm-no-adjvtime"),
                      Envelope(depth=2))
    assert other.verdict == E.DIFFERENT  # without adjustment the counter runs while paused
