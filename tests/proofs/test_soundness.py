"""Soundness of the checks' placement, as a user meets it: a rule file with a violation at
exactly one place, written here as a user would, is found by ``tbcheck run`` (the concrete
engine) and by ``tbcheck prove`` (the solver) alike.

Each test names the place in the model where a check could be skipped, merged or done once an
instant (model/world.py), and puts the rule file's only violation there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import z3

from model.domain import U64, fresh, wrapping_add
from model.intervals import tightened
from proofs.envelope import Envelope
from proofs.unroll import Symbols, symbols
from tbcheck.cli import main

HEADER = """
from tbcheck import (FINISH_MIGRATE, PAUSED, S64, U64, Record, RuleSet, refuse, wrapping_add,
                     wrapping_sub)
"""


def _file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "rules.py"
    path.write_text(HEADER + body)
    return str(path)


def _proved(path: str, prop: str, depth: int, capsys: pytest.CaptureFixture[str],
            *extra: str) -> dict:
    main(["prove", "--variant-file", path, "--property", prop, "--depth", str(depth),
          "--json", "--jobs", "1", "--random-runs", "0", "--fuzz-examples", "0",
          "--induction", "0", *extra])
    (r,) = json.loads(capsys.readouterr().out)["results"]
    return r  # type: ignore[no-any-return]


def _ran(path: str, events: str, capsys: pytest.CaptureFixture[str], *extra: str) -> list:
    main(["run", "--variant-file", path, events, "--json", *extra])
    return json.loads(capsys.readouterr().out)["violations"]  # type: ignore[no-any-return]


# ----------------------------------------------------------------- read_tb on every vCPU
# A frozen scheme whose resume leaves vCPU 1 one tick behind vCPU 0, and whose read computes
# TB_0 + (off_i - off_0) in checked uint64_t arithmetic: vCPU 0's read is always exact, vCPU
# 1's leaves uint64_t once the offsets differ (its offset is the smaller one).
VCPU1_OVERFLOWS = """
class Rules(RuleSet):
    name = "vcpu1-overflows"

    def setup(self, vm):
        self.tb = U64(0)

    def stop(self, vm, state):
        self.tb = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)

    def pre_save(self, vm):
        return Record(tb=self.tb)

    def post_load(self, vm, record):
        self.tb = record.tb

    def cont(self, vm):
        off = wrapping_sub(self.tb, vm.host.tb())
        vm.cpus[0].tb_offset = off
        vm.cpus[1].tb_offset = wrapping_sub(off, 1)

    def read_tb(self, vm, cpu):
        first = vm.cpus[0].tb_offset
        return wrapping_add(vm.host.tb(), first) + (cpu.tb_offset - first)
"""


def test_read_tb_obligations_of_vcpu_1_are_checked(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, VCPU1_OVERFLOWS)
    bad = [v for v in _ran(path, "run(1s) stop run(1s) cont run(1s)", capsys, "--tb0", "1000")
           if v["property"] == "no-overflow"]
    assert bad and all("vCPU 1" in v["explanation"] for v in bad), bad
    r = _proved(path, "no-overflow", 3, capsys)
    assert r["verdict"] == "violated" and r["counterexample"]["replayed"] is True


# ----------------------------------------------------------------- bounds of one envelope
WIDE = 1 << 80


def _own_bounds(sym: Symbols) -> dict[str, tuple[int, int]]:
    """What the interval evaluation makes of a few of ``sym``'s terms."""
    h = sym.params.hosts
    return {"skews": tightened((h[1].skew.v - h[0].skew.v), -WIDE, WIDE),
            "freq": tightened(h[1].freq.v + 0, -WIDE, WIDE),
            "run": tightened(h[0].freq.v * sym.steps[0].d.v, -WIDE, WIDE)}


ENVELOPES = {"default": Envelope(depth=1), "eps0": Envelope(depth=1, eps_ns=0),
             "fmax": Envelope(depth=1, fmax_hz=2 * 10**9, max_run_ns=10**9)}


@pytest.mark.parametrize("order", [list(ENVELOPES), list(reversed(ENVELOPES))])
def test_each_envelopes_bounds_are_its_own_whatever_was_built_before(order: list[str]) -> None:
    syms = {name: symbols(ENVELOPES[name]) for name in order}
    got = {name: _own_bounds(syms[name]) for name in order}
    for name in order:
        env = ENVELOPES[name]
        assert got[name]["skews"] == (-env.eps_ns, env.eps_ns), name
        assert got[name]["freq"] == (env.fmin_hz, env.fmax_hz), name
        assert got[name]["run"] == (0, env.fmax_hz * env.max_run_ns), name
    # and asked again after everything was built, in the other order: the same answers
    assert {name: _own_bounds(syms[name]) for name in reversed(order)} == got


def test_a_narrower_range_built_later_does_not_drop_a_wider_ones_wrap() -> None:
    """The fuzzer's symbolic run gives a host's realtime clock a range up to 2**62, the
    unrolling 0..eps above a base, under the same names: an unknown built later with a narrower
    range must not narrow the bounds that decide where the earlier one's terms wrap."""
    wide, c_wide = fresh(U64, "leak_x", 0, 1 << 62)
    narrow, _ = fresh(U64, "leak_x", 0, 10)
    assert tightened(narrow.v + 0, -WIDE, WIDE) == (0, 10)
    assert tightened(wide.v + 0, -WIDE, WIDE) == (0, 1 << 62)
    y = wrapping_add(wide, U64((1 << 64) - (1 << 61)))  # wraps once x >= 2**61
    s = z3.Solver()
    s.add(c_wide, wide.v == 1 << 62)
    assert s.check() == z3.sat
    assert s.model().eval(y.reduced().v).as_long() == 1 << 61
