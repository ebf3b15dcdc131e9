"""The explanation of a violation names the vCPU that broke the check and shows its numbers
(the typed ``Check`` record: what was seen, what was due, the interval allowed)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from tbcheck.cli import main
from tbcheck.defaults import concrete_params
from tbcheck.model.domain import U64, Bool, Int
from tbcheck.properties.monitor import Check
from tbcheck.timeline import check_json, explain

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


def test_the_culprit_is_the_first_vcpu_outside_its_allowed_interval() -> None:
    params = concrete_params()
    frozen = Check("frozen-when-stopped", Bool(False), "resume after an explicit pause",
                   seen=[U64(500), U64(900)], due=[U64(500), U64(500)],
                   allowed=[(Int(500), Int(500)), (Int(500), Int(500))])
    assert frozen.culprit() == 1
    assert "vCPU 1 read 900 where 500 was due (+400 ticks" in explain(frozen, params)
    wide = replace(frozen, allowed=[(Int(499), Int(502))] * 2)
    assert wide.culprit() == 1 and "allowed 499..502)" in explain(wide, params)
    back = Check("monotonic", Bool(False), "a read", seen=[U64(6), U64(4)],
                 due=[U64(5), U64(5)], allowed=[(Int(5), None)] * 2)
    assert back.culprit() == 1
    assert "vCPU 1 read 4 where at least 5 was due (-1 ticks" in explain(back, params)
    named = Check("no-overflow", Bool(False), "arithmetic of read_tb", vcpu=1,
                  overflowed=["u64 +"])
    assert named.culprit() == 1 and "on vCPU 1, u64 +." in explain(named, params)
    agree = Check("vcpus-agree", Bool(False), "vCPUs read at one instant",
                  seen=[U64(7), U64(8)])
    assert agree.culprit() is None
    assert explain(agree, params) == "vcpus-agree: at one instant the vCPUs read [7, 8]."
    written = Check("vcpus-agree", Bool(False), "vCPUs read at one instant, less what the "
                    "guest wrote to each", seen=[U64(7), U64(7)])
    assert explain(written, params) == ("vcpus-agree: at one instant the vCPUs read [7, 7], "
                                        "less what the guest wrote to each.")


def test_a_check_json_carries_what_it_judged() -> None:
    back = Check("monotonic", Bool(False), "a read", t=Int(3), seen=[U64(6), U64(4)],
                 due=[U64(5), U64(5)], allowed=[(Int(5), None)] * 2)
    assert check_json(back) == {"property": "monotonic", "what": "a read", "t_ns": 3,
                                "vcpu": 1, "seen": [6, 4], "due": [5, 5],
                                "allowed": [[5, None], [5, None]], "overflowed": []}
