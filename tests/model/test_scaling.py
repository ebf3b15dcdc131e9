"""Host counter scaling: the hardware's arithmetic, its one precondition, the rounding
guest-frequency allows a scaled vCPU, and seed-scaled on hosts that scale and hosts that do not.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from tbcheck.defaults import concrete_params, tolerances_for
from tbcheck.eventspec import parse
from tbcheck.loader import load_rules_file
from tbcheck.model.api import TSC_RATIO_MAX, VM, Cpu, Host, scale_counter
from tbcheck.model.domain import U64, Bool, Int, collect_obligations, fresh, value
from tbcheck.model.registry import builtin
from tbcheck.model.world import HostParams, Params
from tbcheck.proofs.concrete import run
from tbcheck.properties import predicates as P


def _example() -> type:
    """examples/seed_scaled.py's class, imported without the loader's smoke run (which would
    build symbolic terms at collection time in every test worker)."""
    path = Path(__file__).parents[2] / "examples" / "seed_scaled.py"
    spec = importlib.util.spec_from_file_location("seed_scaled_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Rules  # type: ignore[no-any-return]


SCALED = _example()
U64S = st.integers(0, 2**64 - 1)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(U64S, U64S, st.sampled_from([32, 48]))
def test_scale_counter_is_the_low_64_bits_of_the_shifted_128_bit_product(h: int, r: int,
                                                                         frac: int) -> None:
    expected = ((h * r) >> frac) % 2**64  # Linux mul_u64_u64_shr, truncated to u64
    assert int(scale_counter(U64(h), U64(r), frac)) == expected
    hs, ch = fresh(U64, "h", 0, 2**64 - 1)  # the symbolic engine's term, at the same values
    rs, cr = fresh(U64, "r", 0, 2**64 - 1)
    s = z3.Solver()
    s.add(ch, cr, hs.v == h, rs.v == r)
    assert s.check() == z3.sat
    assert value(scale_counter(hs, rs, frac), s.model()) == expected


def _vm(can_scale: bool, frac: int = 48) -> VM:
    host = Host(1, Int(10**9), U64(0), Int(0), Int(0), lambda: Int(10**9), Bool(can_scale),
                frac)
    return VM(host, [Cpu(), Cpu()], "inmigrate")


def _obligations(can_scale: bool, ratio: int, frac: int = 48) -> list[str]:
    with collect_obligations() as obs:
        _vm(can_scale, frac).set_all_ratios(U64(ratio))
    return [o.what for o in obs]


def test_a_ratio_needs_a_host_that_scales_and_takes_it() -> None:
    assert _obligations(True, 3 << 47) == []
    assert _obligations(False, 1 << 48) == []  # the identity: any host runs at its own rate
    assert _obligations(False, 3 << 47) != []  # scaling where the hardware has none
    assert _obligations(True, 0) != []  # KVM refuses a ratio of 0 ...
    assert _obligations(True, TSC_RATIO_MAX[48]) != []  # ... and one at its maximum
    assert _obligations(True, 1 << 40, 32) != []  # AMD's 8.32 format ends at 2**40 - 1
    assert _obligations(True, (1 << 40) - 2, 32) == []


def test_a_scaled_vcpu_reads_the_scaled_counter_plus_its_offset() -> None:
    vm = _vm(True)
    vm.set_all_ratios(U64(3 << 47))  # 1.5: the guest runs at 1.5 GHz on a 1 GHz host
    vm.set_all_offsets(U64(7))
    assert int(SCALED().read_tb(vm, vm.cpus[0])) == 1_500_000_000 + 7
    assert int(vm.counter(Cpu())) == 10**9  # an unscaled vCPU sees the host counter


def test_scaling_rounding_is_a_host_tick_at_guest_rate_and_the_ratio_lost_bits() -> None:
    # 512 MHz guest on a 100 MHz host: a host tick is 5.12 guest ticks (6 allowed); 2**33 host
    # ticks lose under 2 ticks with 32 fraction bits, under one with 48
    assert int(P.scaling_rounding(512 * 10**6, 10**8, 2**33, 32)) == 6 + 2
    assert int(P.scaling_rounding(512 * 10**6, 10**8, 2**33, 48)) == 6 + 1
    assert int(P.scaling_rounding(10**9, 10**9, 0, 48)) == 1


def _params(freqs: list[int], scaling: list[bool], frac: int = 48) -> Params:
    base = concrete_params(freqs)
    return Params([HostParams(h.freq, h.counter0, h.skew, h.mono0, Bool(s), frac)
                   for h, s in zip(base.hosts, scaling, strict=True)], base.tb0, base.ncpus)


def _violations(rules: type, params: Params, events: str) -> dict[str, int]:
    trace = run(rules, params, parse(events), tolerances_for(rules, params))
    return {c.prop: i for i, c in trace.violations()}


HOPS = "run(1s) migrate(1) run(86400s) migrate(2) run(1s) stop migrate(0) cont run(5s)"


def test_the_example_loads_as_a_users_file() -> None:
    assert load_rules_file(str(Path(__file__).parents[2] / "examples" / "seed_scaled.py")).name \
        == "seed-scaled"


def test_seed_scaled_keeps_the_guest_rate_where_hosts_scale() -> None:
    for frac in (32, 48):
        params = _params([512 * 10**6, 3 * 10**9, 10**8], [False, True, True], frac)
        assert _violations(SCALED, params, HOPS) == {}
    # seed-corrected, on the same hosts, refuses: the guest never leaves host 0
    trace = run(builtin("seed-corrected"), params, parse(HOPS),
                tolerances_for(SCALED, params))
    assert {o.host for o in trace.observations} == {0}


def test_seed_scaled_refuses_where_the_host_cannot_scale() -> None:
    params = _params([512 * 10**6, 3 * 10**9, 512 * 10**6], [False, False, False])
    trace = run(SCALED, params, parse("run(1s) migrate(1) run(1s) migrate(2) run(1s)"),
                tolerances_for(SCALED, params))
    assert trace.violations() == []
    assert [o.host for o in trace.observations][-1] == 2  # the same rate: no scaling needed
    assert any("cannot scale" in n for n in trace.notes)


class _Swapped(SCALED):  # type: ignore[misc,valid-type]
    """A mutant: the ratio upside down (host over guest)."""

    def post_load(self, vm, record):  # type: ignore[no-untyped-def]
        refusal = super().post_load(vm, record)
        inverse = (U64(1 << vm.host.frac_bits) * vm.host.tb_freq) / self.guestFreq
        vm.set_all_ratios(inverse.convert(U64))
        return refusal


class _Unguarded(SCALED):  # type: ignore[misc,valid-type]
    """A mutant: scales on every host, and never refuses."""

    def post_load(self, vm, record):  # type: ignore[no-untyped-def]
        super().post_load(vm, record)
        vm.set_all_ratios(((U64(1 << vm.host.frac_bits) * self.guestFreq) / vm.host.tb_freq)
                          .convert(U64))


def test_mutants_are_caught() -> None:
    params = _params([512 * 10**6, 3 * 10**9, 10**8], [False, True, False])
    assert "guest-frequency" in _violations(_Swapped, params, "run(1s) migrate(1) run(1s)")
    assert "no-overflow" in _violations(_Unguarded, params, "run(1s) migrate(2) run(1s)")


def test_a_counterexample_on_scaling_hosts_replays_with_them() -> None:
    """The `tbcheck run` line a counterexample prints carries the hosts' scaling, so the
    mutant's violation is there when the line is played again (and gone without it)."""
    from tbcheck.commands.run_cmd import replay
    from tbcheck.eventspec import run_command
    from tbcheck.verdicts import params_json

    params = _params([512 * 10**6, 3 * 10**9, 10**8], [False, True, False])
    line = run_command(params_json(params), parse("run(1s) migrate(1) run(1s)"),
                       variant_file="RULES")
    assert "--scaling 0,1,0 --frac-bits 48" in line
    *_, trace, _ = replay(line.replace("RULES", str(Path(__file__).parents[2] / "examples" /
                                                    "seed_scaled.py")))
    assert trace.violations() == [] and trace.observations[-1].host == 1  # scaled, not refused
    *_, trace, _ = replay(line.replace("RULES", str(Path(__file__).parents[2] / "examples" /
                                                    "seed_scaled.py"))
                          .replace("--scaling 0,1,0", "--scaling 0,0,0"))
    assert trace.observations[-1].host == 0  # without scaling on host 1 it refuses


class _Undeclared(SCALED):  # type: ignore[misc,valid-type]
    """Scales without saying so: its proofs would not make the hosts' scaling an unknown."""

    scales = False


def test_scaling_without_declaring_it_is_the_rule_sets_error() -> None:
    from tbcheck.model.world import RuleError

    params = _params([512 * 10**6, 3 * 10**9, 10**8], [False, True, False])
    try:
        _violations(_Undeclared, params, "run(1s) migrate(1) run(1s)")
    except RuleError as exc:
        assert "declare scales = True" in str(exc)
    else:
        raise AssertionError("no error")
