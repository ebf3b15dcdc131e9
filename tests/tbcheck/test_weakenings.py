"""Every weakening a rule set declares is shown beside the verdicts it weakens: in the table
(a marker and its legend), in JSON and in JUnit; ``--explain`` prints each cell's tolerances."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tbcheck.cli import main
from tbcheck.model.registry import builtin
from tbcheck.weakenings import tolerances_used, weakenings

COARSE = '''
from tbcheck import Record, RuleSet


class Rules(RuleSet):
    """Does nothing at any hook: the counter runs on through a pause. Declares a granularity
    it never uses, wide enough to swallow a day at 10 GHz."""

    name = "coarse"
    offset_granularity = 1 << 62

    def stop(self, vm, state):
        pass

    def cont(self, vm):
        pass

    def pre_save(self, vm):
        return Record()

    def post_load(self, vm, record):
        return None
'''


def test_the_tolerances_each_property_reads_come_from_the_monitor() -> None:
    used = tolerances_used()
    assert "granularity" in used["frozen-when-stopped"]
    assert "granularity" in used["snapshot-frozen"]
    assert "eps_ns" in used["tracks-wall-clock"]
    assert "slack" in used["guest-frequency"]
    assert not used["vcpus-agree"] and not used["monotonic"] and not used["no-overflow"]


def test_a_builtins_assumptions_and_granularity_are_its_weakenings() -> None:
    v0 = builtin("qemu-ppc-v0")
    assert [w["name"] for w in weakenings(v0, "frozen-when-stopped", True)] == \
        ["offset_granularity"]
    assert weakenings(v0, "vcpus-agree", True) == []
    fixed = builtin("seed-units-fixed")
    says = [w["says"] for w in weakenings(fixed, "tracks-wall-clock", True)]
    assert any("eps = 0" in s for s in says) and any("same TB frequency" in s for s in says)
    assert weakenings(fixed, "tracks-wall-clock", False) == []  # a file's assume is not used


def test_an_unused_granularity_is_marked_where_the_checks_use_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rules = tmp_path / "coarse.py"
    rules.write_text(COARSE)
    junit = tmp_path / "out.xml"
    args = ["prove", "--variant-file", str(rules), "--property", "frozen-when-stopped",
            "--property", "snapshot-frozen", "--property", "vcpus-agree", "--depth", "2",
            "--jobs", "1", "--induction", "0"]
    main(args + ["--junit", str(junit), "--explain"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("coarse "))
    cells = row.split()
    assert cells[1:3] == ["proved", "[1]"] and cells[3:5] == ["proved", "[1]"]
    assert cells[5:] == ["proved"]  # vcpus-agree compares no TB with a granularity
    legend = next(line for line in out.splitlines() if line.startswith("[1] "))
    assert "offset_granularity = 4611686018427387904" in legend and "2^62" in legend
    assert "frozen-when-stopped, snapshot-frozen" in legend
    assert "granularity 4611686018427387904 ticks" in out  # --explain's tolerances
    suite = ET.parse(junit).getroot()
    props = {c.get("name"): [p.get("value") for p in c.iter("property")
                             if p.get("name") == "weakening"] for c in suite.iter("testcase")}
    assert props["frozen-when-stopped"] and props["snapshot-frozen"]
    assert props["vcpus-agree"] == []
    main(args + ["--json"])
    doc = json.loads(capsys.readouterr().out)
    got = {r["property"]: r for r in doc["results"]}
    assert got["frozen-when-stopped"]["weakenings"][0]["value"] == 1 << 62
    assert got["frozen-when-stopped"]["tolerances"] == {"granularity_ticks": 1 << 62}
    assert got["vcpus-agree"]["weakenings"] == [] and got["vcpus-agree"]["tolerances"] == {}


def test_explain_gives_eps_in_ns_and_ticks(capsys: pytest.CaptureFixture[str]) -> None:
    main(["prove", "--variant", "qemu-ppc-v0", "--property", "tracks-wall-clock", "--depth",
          "1", "--jobs", "1", "--explain"])
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("qemu-ppc-v0 / tracks-wall-clock: v"))
    assert "eps 1000000 ns (" in line and "ticks at f_g" in line and "slack 2 ticks" in line
