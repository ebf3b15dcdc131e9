"""Live: record a short scenario set on real QEMU (pseries, mac99) and validate it against the
qemu-tcg rule set: every property real QEMU satisfies holds and every read is predicted.

Without the QEMU binaries (or qemu-img, for savevm) these skip, unless CI is set, where a
missing binary is a failure (.ci/install-qemu installs them).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tbcheck.cli import main
from tbcheck.commands import record_cmd
from tbcheck.trace import read_trace

SCENARIOS = ["running", "stop-cont", "migrate-running", "migrate-held", "migrate-paused",
             "migrate-file-paused", "migrate-cancel", "savevm-loadvm", "two-hops"]
MACHINES = {"pseries": ("qemu-system-ppc64", "-M pseries"),
            "mac99": ("qemu-system-ppc", "-M mac99")}


def need_binary(binary: str) -> None:
    if shutil.which(binary) is None:
        msg = f"{binary} not installed (run .ci/install-qemu)"
        if os.environ.get("CI"):
            pytest.fail(msg)
        pytest.skip(msg)


@pytest.fixture(scope="module", params=list(MACHINES))
def recorded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, list[dict[str, Any]]]:
    binary, machine = MACHINES[request.param]
    need_binary(binary)
    need_binary("qemu-img")
    out = tmp_path_factory.mktemp(request.param) / "trace.jsonl"
    parser = argparse.ArgumentParser()
    record_cmd.add_arguments(parser)
    argv = ["--out", str(out), "--qemu", binary, "--machine", machine, "--reads", "2",
            "--delay", "0.5", "--file-gap", "0.5"]
    for s in SCENARIOS:
        argv += ["--scenario", s]
    assert record_cmd.run(parser.parse_args(argv)) == 0
    return out, read_trace(out)


def test_live_trace_conforms_to_qemu_tcg(recorded: tuple[Path, list[dict[str, Any]]],
                                         capsys: pytest.CaptureFixture[str]) -> None:
    path, recs = recorded
    code = main(["validate", str(path), "--variant", "qemu-tcg", "--json"])
    doc = json.loads(capsys.readouterr().out)
    conf = doc["conformance"]
    assert doc["skipped"] == []
    assert conf["reads"] == sum(r["kind"] == "read" for r in recs) > 0
    assert conf["conforming"] == conf["reads"], conf["mismatches"][:3]
    results = {r["property"]: r for r in doc["results"]}
    for prop in ("monotonic", "frozen-when-stopped", "guest-frequency", "snapshot-frozen"):
        assert results[prop]["verdict"] == "holds", results[prop]
    assert code == 0


def test_live_trace_rejects_a_tb_that_runs_while_paused(
        recorded: tuple[Path, list[dict[str, Any]]], capsys: pytest.CaptureFixture[str]) -> None:
    path, _ = recorded
    code = main(["validate", str(path), "--variant", "qemu-ppc-v0", "--json"])
    doc = json.loads(capsys.readouterr().out)
    bad = {m["scenario"] for m in doc["conformance"]["mismatches"]}
    assert code == 1 and "stop-cont" in bad
