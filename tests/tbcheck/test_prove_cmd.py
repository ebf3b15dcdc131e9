"""`tbcheck prove`: the JSON and JUnit shapes, and the exit status as the CI gate uses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from tbcheck.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_units_fixed_int64.py"


def test_json_and_junit_for_a_declared_violation(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    junit = tmp_path / "out.xml"
    rc = main(["prove", "--variant", "qemu-ppc-v1", "--property", "frozen-when-stopped",
               "--depth", "3", "--json", "--junit", str(junit), "--jobs", "1"])
    assert rc == 0  # v1 declares frozen-when-stopped violated
    doc = json.loads(capsys.readouterr().out)
    assert doc["envelope"]["depth"] == 3 and doc["envelope"]["fmax_hz"] == 10**10
    (r,) = doc["results"]
    assert {"variant", "property", "verdict", "depth", "unbounded", "seconds", "witnesses",
            "counterexample"} <= set(r)
    assert r["verdict"] == "violated" and r["counterexample"]["replayed"] is True
    kinds = [e["event"] for e in r["counterexample"]["events"]]
    assert "stop" in kinds and "cont" in kinds
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "1" and suite.get("failures") == "0"
    assert suite.find("testcase").get("classname") == "qemu-ppc-v1"  # type: ignore[union-attr]


def test_a_users_file_fails_the_gate_on_any_violation(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    rc = main(["prove", "--variant-file", str(EXAMPLE), "--property", "no-overflow",
               "--depth", "2", "--jobs", "1"])
    out = capsys.readouterr().out
    assert rc == 1
    assert "int64_t * leaves int64_t" in out and "<-- no-overflow" in out


def test_proof_witnesses_in_json(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["prove", "--variant", "seed-corrected", "--property", "snapshot-frozen",
               "--depth", "2", "--json", "--jobs", "1"])
    assert rc == 0
    (r,) = json.loads(capsys.readouterr().out)["results"]
    assert r["verdict"] == "proved"
    assert r["witnesses"]["assumptions"]["satisfiable"] is True
    sit = r["witnesses"]["situation"]
    assert sit["reachable"] is True and sit["events"]


def test_induction_reports_a_proof_for_every_depth(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["prove", "--variant", "seed-as-written", "--property", "vcpus-agree",
               "--depth", "2", "--induction", "200M", "--induction-first", "--json",
               "--jobs", "1"])
    assert rc == 0
    (r,) = json.loads(capsys.readouterr().out)["results"]
    assert r["verdict"] == "proved" and r["unbounded"] is True
    assert "any number of events" in r["reason"]


def test_a_bounded_proof_that_stalls_is_proved_for_every_depth_by_default(
        capsys: pytest.CaptureFixture[str]) -> None:
    # qemu-arm-no-adjvtime monotonic stalls at step 4 (proved@3 within its budget); its
    # invariant carries it
    args = ["prove", "--variant", "qemu-arm-no-adjvtime", "--property", "monotonic",
            "--depth", "4", "--json", "--jobs", "1",
            "--accept-partial"]  # the proof's reach is what is checked here, not the gate's
    assert main(args) == 0
    (r,) = json.loads(capsys.readouterr().out)["results"]
    assert r["verdict"] == "proved" and r["unbounded"] is True and r["depth"] == 4
    assert main(args + ["--induction", "0"]) == 0  # off: the bounded proof's depth
    (r,) = json.loads(capsys.readouterr().out)["results"]
    assert r["verdict"] == "proved" and r["unbounded"] is False and r["depth"] < 4


@pytest.mark.parametrize("flag, value", [("--induction", "-1"), ("--rlimit", "0"),
                                         ("--rlimit", "lots"), ("--timeout", "0")])
def test_absurd_budgets_are_refused(flag: str, value: str, capsys: pytest.CaptureFixture[str]
                                    ) -> None:
    rc = main(["prove", "--variant", "seed-as-written", flag, value])
    assert rc == 2
    err = capsys.readouterr().err
    assert flag in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag", ["--random-runs", "--fuzz-examples"])
def test_absurd_search_budgets_are_refused(flag: str, capsys: pytest.CaptureFixture[str]
                                           ) -> None:
    rc = main(["prove", "--variant", "seed-as-written", flag, "-5"])
    assert rc == 2
    err = capsys.readouterr().err
    assert flag in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_a_deep_bug_is_reported_as_found_by_random_runs(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    rc = main(["prove", "--variant", "qemu-ppc-v2", "--property", "monotonic", "--depth", "4",
               "--json", "--jobs", "1"])
    assert rc == 0
    (r,) = json.loads(capsys.readouterr().out)["results"]
    assert r["verdict"] == "violated" and r["found_by"] == "random"
    assert r["counterexample"]["replayed"] is True


def test_the_rule_sets_with_more_cells_to_prove_go_first(capsys: pytest.CaptureFixture[str]
                                                         ) -> None:
    rc = main(["prove", "--variant", "qemu-ppc-v0", "--variant", "seed-corrected",
               "--property", "no-overflow", "--property", "vcpus-agree",
               "--depth", "2", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert rc == 0  # v0's no-overflow is violated: nothing to prove there
    ran = [line.split()[0] for line in err.splitlines() if line.startswith("  ")]
    assert ran == ["seed-corrected"] * 2 + ["qemu-ppc-v0"] * 2  # 2 cells to prove against 1
    assert out.index("qemu-ppc-v0") < out.index("seed-corrected")  # the table keeps the order


def _partial(cell: tuple[str, str, list[str]], **_: Any) -> list[dict[str, Any]]:
    """A worker whose every proof stops at depth 2 (as a slow cell's would)."""
    from tbcheck.commands.prove_cmd import _record
    from tbcheck.proofs.verdict import Status, Verdict

    kind, ref, props = cell
    return [_record(Verdict("seed-units-fixed-int64", p, Status.PROVED, 2,
                            witnesses={"assumptions": {"satisfiable": True}}), kind, ref)
            for p in props]


def test_a_partial_proof_fails_a_users_file_unless_partial_answers_are_accepted(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from tbcheck.commands import prove_cmd

    monkeypatch.setattr(prove_cmd, "_prove_one", _partial)
    args = ["prove", "--variant-file", str(EXAMPLE), "--property", "vcpus-agree",
            "--property", "monotonic", "--depth", "8", "--jobs", "1",
            "--no-cache"]  # (each run asks the stand-in worker, not the verdict cache)
    assert main(args) == 1
    out, err = capsys.readouterr()
    assert "proved@2 !" in out and "declared" not in out.split("\n\n")[-1]
    assert "2 not as required" in out and "due: proved (required)" in out
    assert err.count("proved@2") == 2  # the progress lines say what the table says
    assert main(args + ["--accept-partial"]) == 0
    out, err = capsys.readouterr()
    assert "proved@2 ~" in out and "accepted by --accept-partial" in out
    assert main(args + ["--accept-partial", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for r in doc["results"]:
        assert r["asked_depth"] == 8 and r["depth"] == 2 and r["outcome"] == "proved@2"
        assert r["reached"] == "proved to depth 2" and r["gate"] == "accepted partial"
        assert r["declared"] is None and r["due"] == "proved"


def test_a_shallow_depth_is_a_fair_gate_on_the_builtins(capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    # v1's paused guest needs more events to go back than depth 2 gives: proved there, as due
    rc = main(["prove", "--variant", "qemu-ppc-v1", "--property", "monotonic", "--depth", "2",
               "--jobs", "1", "--json"])
    (r,) = json.loads(capsys.readouterr().out)["results"]
    assert rc == 0 and r["verdict"] == "proved" and r["due"] == "proved"
    assert r["declared"].startswith("violated from depth ")
