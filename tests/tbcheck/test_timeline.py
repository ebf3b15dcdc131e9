"""The explanation of a violation names the vCPU that broke the check and shows its numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tbcheck.cli import main
from tbcheck.defaults import concrete_params
from tbcheck.model.domain import U64, Bool
from tbcheck.properties.monitor import Check
from tbcheck.timeline import culprit, explain

SECOND_GOES_BACK = '''
from tbcheck import U64, Record, RuleSet, wrapping_add, wrapping_sub


class Rules(RuleSet):
    """Freezes the TB across a pause, but puts vCPU 1 back 1000 ticks at every resume."""

    name = "second-goes-back"

    def setup(self, vm):
        self.tb = U64(0)

    def stop(self, vm, state):
        self.tb = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)

    def cont(self, vm):
        off = wrapping_sub(self.tb, vm.host.tb())
        vm.cpus[0].tb_offset = off
        vm.cpus[1].tb_offset = wrapping_sub(off, U64(1000))

    def pre_save(self, vm):
        return Record(tb=self.tb)

    def post_load(self, vm, record):
        self.tb = record.tb
'''


def test_the_vcpu_that_went_back_is_named_with_its_numbers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "second.py"
    rules.write_text(SECOND_GOES_BACK)
    rc = main(["run", "--variant-file", str(rules), "--freq", "1000000,1000000,1000000",
               "run(1s) stop run(1s) cont"])
    out = capsys.readouterr().out
    assert rc == 1
    line = next(x for x in out.splitlines() if "monotonic:" in x)
    assert "vCPU 1 read 999000 where at least 1000000 was due (-1000 ticks" in line
    marked = [x.split() for x in out.splitlines() if "<-- " in x]
    assert any(row[4] == "1" and row[5] == "999000" for row in marked)  # vCPU 1's row shown


def test_per_vcpu_values_pick_the_vcpu_furthest_from_due() -> None:
    params = concrete_params()
    check = Check("frozen-when-stopped", Bool(False), "resume after an explicit pause",
                  {"tb_resume": [U64(500), U64(900)], "expected": [U64(500), U64(500)]})
    assert culprit(check) == 1
    assert "vCPU 1 read 900 where 500 was due (+400 ticks" in explain(check, params)
    indexed = Check("monotonic", Bool(False), "a read",
                    {"before[0]": U64(5), "before[1]": U64(5), "now[0]": U64(6),
                     "now[1]": U64(4)})
    assert culprit(indexed) == 1
    named = Check("no-overflow", Bool(False), "arithmetic of read_tb",
                  {"overflowed": ["u64 +"], "cpu": 1})
    assert "on vCPU 1" in explain(named, params)
