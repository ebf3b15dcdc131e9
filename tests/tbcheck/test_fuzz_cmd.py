"""`tbcheck fuzz`: a violation comes with a `tbcheck run` line that replays it, and agrees with a
declaration only as deep as the declaration allows."""

from __future__ import annotations

import json
import shlex

import pytest

from tbcheck.cli import main


def test_a_fuzzed_violation_replays_from_its_command_line(
        capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["fuzz", "--variant", "qemu-ppc-v1", "--property", "frozen-when-stopped",
               "--profile", "ci", "--examples", "50", "--json"])
    (r,) = json.loads(capsys.readouterr().out)["results"]
    assert rc == 0 and r["verdict"] == "violated" and r["matches"]
    argv = shlex.split(r["counterexample"]["command"])
    assert argv[:4] == ["tbcheck", "run", "--variant", "qemu-ppc-v1"]
    assert main(argv[1:] + ["--json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert "frozen-when-stopped" in {v["property"] for v in doc["violations"]}
