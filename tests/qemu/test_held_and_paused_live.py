"""Live, on pseries and mac99: a held switchover (continued and cancelled) and a running
guest's migration into a destination started paused, recorded short and validated against
qemu-tcg to the end.

Without qemu-system-ppc64 these skip, unless CI is set, where a missing binary is a failure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from tbcheck.cli import main
from tbcheck.commands import record_cmd
from tbcheck.trace import read_trace
from tbcheck.validate.rebuild import load
from tbcheck.validate.records import InstantName as At
from tbcheck.validate.records import StepKind
from tests.qemu.test_validate_live import MACHINES, need_binary

SCENARIOS = ["held-switchover", "held-switchover-cancel", "migrate-to-paused"]
HOLD_NS = 250_000_000  # --delay 0.5: a held-switchover scenario holds half of it


@pytest.fixture(scope="module", params=list(MACHINES))
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, list[dict[str, Any]]]:
    binary, machine = MACHINES[request.param]
    need_binary(binary)
    out = tmp_path_factory.mktemp("held") / "trace.jsonl"
    parser = argparse.ArgumentParser()
    record_cmd.add_arguments(parser)
    argv = ["--out", str(out), "--qemu", binary, "--machine", machine,
            "--reads", "2", "--delay", "0.5"]
    for s in SCENARIOS:
        argv += ["--scenario", s]
    assert record_cmd.run(parser.parse_args(argv)) == 0
    return out, read_trace(out)


def test_each_scenario_is_modelled_as_the_docs_say(
        recorded: tuple[Path, list[dict[str, Any]]]) -> None:
    path, recs = recorded
    scs = {sc.name: sc for sc in load(str(path), recs).scenarios}
    assert all(sc.ok and sc.problem is None and sc.outside is None for sc in scs.values())
    (mig,) = [s for s in scs["held-switchover"].steps if s.kind is not StepKind.BOOT]
    assert mig.kind is StepKind.MIGRATE
    assert mig.instants[At.PRE_SAVE].est - mig.instants[At.STOP].est >= HOLD_NS
    (fail,) = [s for s in scs["held-switchover-cancel"].steps if s.kind is not StepKind.BOOT]
    assert fail.kind is StepKind.MIGRATE_FAIL
    assert fail.instants[At.RESUME].est - fail.instants[At.STOP].est >= HOLD_NS
    kinds = [(s.kind, s.paused_dst) for s in scs["migrate-to-paused"].steps]
    assert kinds == [(StepKind.BOOT, False), (StepKind.MIGRATE, True), (StepKind.CONT, False)]


def test_qemu_tcg_predicts_every_read_to_the_end(
        recorded: tuple[Path, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]) -> None:
    path, recs = recorded
    code = main(["validate", str(path), "--variant", "qemu-tcg", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert doc["skipped"] == [] and doc["outside_model"] == []
    conf = doc["conformance"]
    assert conf["reads"] == sum(r["kind"] == "read" for r in recs) > 0
    assert conf["conforming"] == conf["reads"], conf["mismatches"][:3]
    results = {r["property"]: r for r in doc["results"]}
    assert results["frozen-when-stopped"]["verdict"] == "holds"  # the load .. cont pause
    assert results["frozen-when-stopped"]["situations"] == 1
    # every scenario's chain holds a running migration, and QEMU under TCG loses its downtime:
    # the two held ones lose at least HOLD_NS, beyond any read's uncertainty; the migration to
    # a paused destination loses its downtime alone, a few ms on mac99, which can hide in the
    # uncertainty of a read's QMP round trip on a busy machine (seen in CI: 2 of 3 failed)
    assert results["tracks-wall-clock"]["situations"] == 3
    assert results["tracks-wall-clock"]["failed"] >= 2
    assert code == 0
