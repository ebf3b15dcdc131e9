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


def test_examples_are_reported_as_asked_and_as_run(capsys: pytest.CaptureFixture[str]) -> None:
    """Hypothesis draws more examples than asked (it discards some): the count reported is
    the one it holds to --examples, and the examples drawn are reported beside it."""
    rc = main(["fuzz", "--variant", "qemu-arm-no-adjvtime", "--property", "vcpus-agree",
               "--profile", "ci", "--examples", "30", "--json"])
    (r,) = json.loads(capsys.readouterr().out)["results"]
    assert rc == 0 and r["verdict"] == "not found"
    assert r["examples"] == r["examples_asked"] == 30
    assert r["examples_drawn"] >= r["examples"]
    main(["fuzz", "--variant", "qemu-arm-no-adjvtime", "--property", "vcpus-agree",
          "--profile", "ci", "--examples", "30"])
    assert "not found in 30 examples (30 asked" in capsys.readouterr().out


@pytest.mark.parametrize("flag", ["--eps", "--eps-ns"])
def test_eps_as_in_prove_and_run(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    main(["fuzz", "--variant", "qemu-arm-no-adjvtime", "--property", "vcpus-agree",
          "--profile", "ci",
          "--examples", "1", flag, "5", "--json"])
    assert json.loads(capsys.readouterr().out)["envelope"]["eps_ns"] == 5


def test_help_names_eps_only(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["fuzz", "--help"])
    out = capsys.readouterr().out
    assert "--eps NS" in out and "--eps-ns" not in out
