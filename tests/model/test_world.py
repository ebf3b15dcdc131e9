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
from tbcheck.model.domain import U64, value, wrapping_add, wrapping_sub
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


def _play(name: str, text: str):  # type: ignore[no-untyped-def]
    rules = builtin(name)
    params = concrete_params()
    world = World(rules, params, Monitor(tolerances_for(rules, params)))
    path = world.boot()
    for ev in parse(text):
        assert world.enabled(path.ws, ev), ev
        (path,) = [p for p in world.step(path, ev) if value(p.cond)]
    return world, path


def _judged(path, prop: str, what: str) -> list[bool]:  # type: ignore[no-untyped-def]
    return [bool(value(c.ok)) for _, c in path.checks if c.prop == prop and what in c.what]


PAUSED_DST = "run(1s) migrate(1, paused, save=100ms, transfer=200ms, resume=50ms) run(5s) cont"


def test_a_destination_started_paused_waits_for_cont() -> None:
    """The source stops as for a live migration; the destination loads and stays paused (no
    read, the rule set's cont not called) until the user's cont."""
    calls: list[str] = []

    class Spy(builtin("qemu-tcg")):  # type: ignore[misc, valid-type]
        def stop(self, vm, state):  # type: ignore[no-untyped-def]
            calls.append(f"stop {state}")
            super().stop(vm, state)

        def cont(self, vm):  # type: ignore[no-untyped-def]
            calls.append("cont")
            super().cont(vm)

    params = concrete_params()
    world = World(Spy, params, Monitor(tolerances_for(Spy, params)))
    path = world.boot()
    calls.clear()
    for ev in parse(PAUSED_DST.removesuffix(" cont")):
        (path,) = [p for p in world.step(path, ev) if value(p.cond)]
    assert calls[0] == "stop finish-migrate"  # the source's, as for a live migration
    assert path.ws.vm.rules.ticks_enabled is False  # the probe's cont ran on a copy only
    assert path.ws.vm.state == PAUSED and path.ws.vm.host == 1
    assert [o.event for o in path.observations][-1] == "migrate"  # nothing read after the stop
    assert not world.enabled(path.ws, parse("migrate(2, paused)")[0])  # of a running guest only
    assert world.enabled(path.ws, parse("migrate(2)")[0])
    (path,) = [p for p in world.step(path, parse("cont")[0]) if value(p.cond)]
    assert calls[-1] == "cont" and path.ws.vm.state == "running"
    assert path.ws.vm.rules.ticks_enabled is True


def test_the_migration_owns_the_time_to_the_load_and_the_pause_the_rest() -> None:
    """qemu-tcg freezes the TB from the source's stop to the cont: the migration's time is
    lost (tracks-wall-clock at the load), the pause is frozen. seed-anchored counts the
    migration's time to the load (vm.autostart is false there) and freezes the pause;
    seed-corrected, which cannot tell, counts the pause too."""
    _, tcg = _play("qemu-tcg", PAUSED_DST)
    assert _judged(tcg, "tracks-wall-clock", "load into a paused destination") == [False]
    assert _judged(tcg, "frozen-when-stopped", "") == [True]
    _, anchored = _play("seed-anchored", PAUSED_DST)
    assert _judged(anchored, "tracks-wall-clock", "load into a paused destination") == [True]
    assert _judged(anchored, "frozen-when-stopped", "") == [True]
    at_cont = [o.tb for o in anchored.observations if o.event == "cont"]
    # ahead by the 300 ms migration at 512 MHz, not by the 5.05 s pause
    assert value(at_cont[0]) - 512_000_000 == 300 * 512_000
    _, corrected = _play("seed-corrected", PAUSED_DST)
    assert _judged(corrected, "frozen-when-stopped", "") == [False]
    at_cont = [o.tb for o in corrected.observations if o.event == "cont"]
    assert value(at_cont[0]) - (512_000_000 + 300 * 512_000) == 5_050 * 512_000


def test_a_snapshot_of_a_paused_destination_stands_for_the_tb_at_the_load() -> None:
    _, path = _play("qemu-tcg", "run(1s) migrate(1, paused, save=1ms) run(1s) savevm(s1) cont "
                    "run(2s) loadvm(s1)")
    before = [o.tb for o in path.observations if o.event == "migrate"][:2]  # at the stop
    assert [value(x) for x in path.ws.snapshots["s1"].ref] == [value(x) for x in before]
    assert all(_judged(path, "snapshot-frozen", ""))


def test_a_pause_from_a_load_allows_the_rounding_of_both_resumes() -> None:
    """KVM-HV rounds the offset at the probe (the TB at the load) and again at the real cont,
    each up by less than 2**24 ticks: the cont may be below the probe by that rounding."""
    _, path = _play("qemu-ppc-v3", "run(1s) migrate(1, paused) run(1s) cont")
    assert all(_judged(path, "frozen-when-stopped", ""))
    g = builtin("qemu-ppc-v3").offset_granularity
    (chk,) = [c for _, c in path.checks if c.prop == "frozen-when-stopped"]
    lo, hi = chk.allowed[0]
    assert value(hi) - value(lo) == 2 * (g - 1)  # below by g - 1 too, not only above


def test_a_guest_write_is_never_the_hypervisors_doing() -> None:
    """qemu-tcg: a write moves that vCPU's references (monotonic even when it writes a smaller
    TB, vcpus-agree, tracks-wall-clock); nothing fails until a migration, where QEMU 7.2 loses
    the written offset (tb_offset is not migrated under TCG)."""
    _, path = _play("qemu-tcg", "run(1s) write(1, 100) run(2s) write(0, 9000000000) run(1s) "
                    "stop run(1s) cont run(1s)")
    assert all(bool(value(c.ok)) for _, c in path.checks), [
        (s, c.prop, c.what) for s, c in path.checks if not value(c.ok)]
    tbs = {o.cpu: o.tb for o in path.observations if o.event == "write" and o.step == 2}
    assert value(tbs[1]) == 100 and value(tbs[0]) == 512_000_000  # only vCPU 1 was written
    _, moved = _play("qemu-tcg", "run(1s) write(1, 100) run(1s) migrate(1) run(1s)")
    failed = {c.prop for _, c in moved.checks if not value(c.ok)}
    assert failed == {"vcpus-agree", "tracks-wall-clock"}  # lost: vCPU 1 jumps ahead again
    # written ahead instead, the lost write takes vCPU 1 back: monotonic too
    _, back = _play("qemu-tcg", "run(1s) write(1, 9000000000) run(1s) migrate(1)")
    assert "monotonic" in {c.prop for _, c in back.checks if not value(c.ok)}


def test_a_write_is_offered_only_where_the_machine_allows_it() -> None:
    from tbcheck.model.events import Write

    for name in BUILTIN_MODULES:
        world, path = _play(name, "run(1s)")
        assert world.enabled(path.ws, Write(0, U64(5))) == (name == "qemu-tcg")
        assert not world.enabled(path.ws, Write(7, U64(5)))  # no vCPU 7 here


def test_a_loadvm_restores_what_the_guest_had_written_at_the_savevm() -> None:
    """The guest's writes after a savevm are undone by the loadvm (its history restarts from the
    snapshot); qemu-tcg keeps the later offset (not in the snapshot)."""
    _, path = _play("qemu-tcg", "run(1s) savevm(s1) write(0, 7) run(1s) loadvm(s1)")
    assert path.ws.ghost.shift is None  # the snapshot's: nothing written then
    failed = {c.prop for _, c in path.checks if not value(c.ok)}
    assert failed == {"snapshot-frozen", "vcpus-agree"}  # vCPU 0 kept what it wrote since
