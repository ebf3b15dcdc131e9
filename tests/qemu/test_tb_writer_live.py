"""Live, on powernv9 with two vCPUs and tbcheck's tb-writer firmware: the guest writes vCPU 1's
TB at boot; the validator takes that as the guest's, and qemu-tcg predicts every read, the
loss of the write at a live migration included.

Without qemu-system-ppc64 this skips, unless CI is set, where a missing binary is a failure.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from tbcheck.cli import main
from tbcheck.commands import record_cmd
from tests.qemu.test_validate_live import need_binary


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need_binary("qemu-system-ppc64")
    out = tmp_path_factory.mktemp("tbwriter") / "trace.jsonl"
    parser = argparse.ArgumentParser()
    record_cmd.add_arguments(parser)
    argv = ["--out", str(out), "--machine", "-M powernv9 -smp 2", "--firmware", "tb-writer",
            "--reads", "2", "--delay", "0.5", "--scenario", "running", "--scenario",
            "migrate-running"]
    assert record_cmd.run(parser.parse_args(argv)) == 0
    return out


def test_the_guests_write_is_seen_and_qemu_tcg_predicts_its_loss(
        recorded: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = json.loads(recorded.read_text().splitlines()[0])
    assert header["settle_s"] == 1.0 and "-bios" in header["machine_args"]
    code = main(["validate", str(recorded), "--variant", "qemu-tcg", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0, doc
    assert {(g["scenario"], g["vcpu"]) for g in doc["guest_written"]} == {
        ("running", 1), ("migrate-running", 1)}
    assert all(g["ticks"] > 4 << 31 for g in doc["guest_written"])
    c = doc["conformance"]
    assert c["reads"] == c["conforming"] > 0
    (mono,) = [r for r in doc["results"] if r["property"] == "monotonic"]
    assert mono["verdict"] == "violated" and mono["mismatch"]["vm"] == "dst"
