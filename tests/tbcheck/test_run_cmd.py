"""`tbcheck run`: every host constant a counterexample needs is an option, and bad values are
one-line errors."""

from __future__ import annotations

import json

import pytest

from tbcheck.cli import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:
    rc = main(["run", "--variant", "seed-corrected", "--json", *args])
    return rc, json.loads(capsys.readouterr().out)


def test_the_counter_and_clocks_of_each_host_are_set(capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    rc, doc = _run(capsys, "--freq", "1000000,1000000", "--counter0", "5000,9000",
                   "--realtime0", "1000,2000", "--mono0", "3,4", "--tb0", "77", "--vcpus", "3",
                   "run(1s) migrate(1) run(1s)")
    assert rc == 0
    boot = doc["observations"][0]
    assert boot["tb"] == 77 and {o["cpu"] for o in doc["observations"]} <= {0, 1, 2}
    # the guest's TB is the counter plus an offset: it runs from tb0 whatever counter0 is
    assert doc["observations"][1]["tb"] == 77 + 10**6


def test_the_constants_reach_the_world_exactly(capsys: pytest.CaptureFixture[str]) -> None:
    top = 2**64 - 1  # exact: no float on the way
    rc = main(["run", "--variant", "qemu-ppc-v0", "--counter0", f"0,{top},0",
               "--realtime0", "5,6,7", "--mono0", "8,9,10", "run(1s) stop run(10s) cont"])
    out = capsys.readouterr().out
    assert rc == 1  # v0's TB runs on while paused
    assert f"counter0={top} realtime0=6 ns monotonic0=9 ns" in out


@pytest.mark.parametrize("args", [["--counter0", "1,2"], ["--mono0", "x,1,2"],
                                  ["--skew", "0,0,0", "--realtime0", "0,0,0"],
                                  ["--counter0", f"0,0,{2**64}"], ["--vcpus", "0"]])
def test_bad_constants_are_one_line_errors(args: list[str],
                                           capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["run", "--variant", "seed-corrected", *args, "run(1s)"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_slack_and_eps_are_the_tolerances_judged_with(capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    # seed-units-fixed gains time on a migration between clocks eps apart: within eps it holds
    events = "run(1s) migrate(1, save=0, transfer=0, resume=0) run(1s)"
    base = ["run", "--variant", "seed-units-fixed", "--realtime0", "0,1000000,0"]
    assert main([*base, "--eps", "1000000", events]) == 0
    assert main([*base, "--eps", "0", events]) == 1
    capsys.readouterr()


def test_the_boot_alone_is_a_sequence(capsys: pytest.CaptureFixture[str]) -> None:
    # a counterexample at boot has no events: its run line gives "" (QEMU-TCG's uint32_t
    # tb_freq cannot hold 5 GHz)
    rc = main(["run", "--variant", "qemu-tcg", "--freq", "5000000000,5000000000", "--json", ""])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and doc["events"] == []
    assert "no-overflow" in {v["property"] for v in doc["violations"]}


def test_a_declared_violation_still_fails_a_run(capsys: pytest.CaptureFixture[str]) -> None:
    """run judges the one sequence: qemu-ppc-v1 declares frozen-when-stopped violated, and a
    sequence that breaks it exits 1, as the README and --help say."""
    from tbcheck.loader import load_builtin

    assert "violated from" in load_builtin("qemu-ppc-v1").expected["frozen-when-stopped"]
    assert main(["run", "--variant", "qemu-ppc-v1",
                 "run(1s) stop run(10s) migrate(1) cont run(1s)"]) == 1
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert "even one the rule set declares violated" in " ".join(
        capsys.readouterr().out.split())
