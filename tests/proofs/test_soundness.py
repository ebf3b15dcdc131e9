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
