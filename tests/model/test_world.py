"""The world's checks where it could skip one: every vCPU's read, every paused guest's pause.

(The rule files with a violation at each such place, found by both engines, are in
tests/proofs/test_soundness.py.)
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tbcheck.defaults import concrete_params, tolerances_for
from tbcheck.eventspec import parse
from tbcheck.model.api import PAUSED, Record, RuleSet
from tbcheck.model.domain import value, wrapping_add, wrapping_sub
from tbcheck.model.registry import BUILTIN_MODULES, builtin
from tbcheck.model.world import World
from tbcheck.proofs import draws
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.properties.monitor import Monitor

ENV = Envelope(slots=("s1", "s2"))


class _OffByCpu(RuleSet):
    """Each vCPU's read computes ``TB_0 + (off_i - off_0)`` checked; vCPU i's offset is i less."""

    def boot(self, vm, tb0):  # type: ignore[no-untyped-def]
        off = wrapping_sub(tb0, vm.host.tb())
        for i, c in enumerate(vm.cpus):
            c.tb_offset = wrapping_sub(off, i)

    def read_tb(self, vm, cpu):  # type: ignore[no-untyped-def]
        first = vm.cpus[0].tb_offset
        return wrapping_add(vm.host.tb(), first) + (cpu.tb_offset - first)

    def stop(self, vm, state):  # type: ignore[no-untyped-def]
        pass

    def cont(self, vm):  # type: ignore[no-untyped-def]
        pass

    def pre_save(self, vm):  # type: ignore[no-untyped-def]
        return Record()

    def post_load(self, vm, record):  # type: ignore[no-untyped-def]
        return None


def test_every_vcpus_read_owes_its_own_no_overflow_check() -> None:
    params = concrete_params(ncpus=3)
    world = World(_OffByCpu, params, Monitor(tolerances_for(_OffByCpu, params)))
    path = world.boot()
    reads = [c for _, c in path.checks if c.prop == "no-overflow" and "read_tb" in c.what]
    assert [c.vcpu for c in reads] == [0, 1, 2]  # one check a vCPU, naming it
    assert [bool(value(c.ok)) for c in reads] == [True, False, False]
    assert "vCPU 2" in reads[2].what


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(name=st.sampled_from(list(BUILTIN_MODULES)), data=st.data())
def test_a_paused_guest_always_has_the_tb_its_pause_stands_for(name: str,
                                                               data: st.DataObject) -> None:
    """world._savevm takes a paused guest's snapshot TB from the pause; no event sequence
    leaves a guest paused without one (the explicit stop's, or a loaded snapshot's)."""
    rules = builtin(name)
    draw = data.draw(draws.params(ENV))
    world = World(rules, draw.params(), Monitor(tolerances(rules, ENV, draw.params())))
    path = world.boot()
    for ev in data.draw(draws.events(ENV, 12)):
        if not world.enabled(path.ws, ev):
            continue
        (path,) = [p for p in world.step(path, ev) if value(p.cond)]
        if path.ws.vm.state == PAUSED:
            assert path.ws.ghost.pause_ref is not None
            assert len(path.ws.ghost.pause_ref) == draw.params().ncpus


def test_a_paused_savevm_and_loadvm_compare_with_the_pause() -> None:
    """A snapshot of a paused guest stands for the TB at the pause (not the last read)."""
    rules = builtin("seed-corrected")
    params = concrete_params()
    world = World(rules, params, Monitor(tolerances_for(rules, params)))
    path = world.boot()
    for ev in parse("run(1s) stop run(5s) savevm(s1) run(5s) cont run(1s) stop loadvm(s1)"):
        (path,) = [p for p in world.step(path, ev) if value(p.cond)]
    at_stop = [o.tb for o in path.observations if o.event == "stop"][:2]  # the first stop's
    assert [value(x) for x in path.ws.snapshots["s1"].ref] == [value(x) for x in at_stop]
    assert path.ws.ghost.pause_kind == "snapshot-frozen"
    assert path.ws.ghost.pause_ref is not None
    assert [value(x) for x in path.ws.ghost.pause_ref] == [value(x) for x in at_stop]
