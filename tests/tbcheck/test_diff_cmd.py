"""`tbcheck diff`: exit status 0 equal, 1 different, 2 bad input, 3 undecided; the JSON; the
`tbcheck run` lines reproduce the difference on each rule set."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tbcheck.cli import main
from tbcheck.commands import diff_cmd
from tbcheck.proofs import equivalence as E


def test_equal_rule_sets_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["diff", "qemu-ppc-v3", "qemu-ppc-v4", "--depth", "2"])
    out = capsys.readouterr().out
    assert rc == 0 and "guest-visibly equal to depth 2" in out


def test_a_difference_exits_1_and_each_replay_line_shows_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["diff", "qemu-ppc-v2", "qemu-ppc-v3", "--depth", "2", "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert rc == 1 and doc["verdict"] == "different" and doc["equal_to_depth"] == 0
    d = doc["difference"]
    assert [e["event"] for e in d["events"] if e["event"] != "run"] == ["savevm"]
    first = d["first"]
    assert first["a"] != first["b"] and first["delta"] == first["b"] - first["a"]
    seen = []
    for side in ("a", "b"):
        argv = shlex.split(d["commands"][side])
        assert argv[:4] == ["tbcheck", "run", "--variant", doc[side]]
        main([*argv[1:], "--json"])
        obs = json.loads(capsys.readouterr().out)["observations"]
        seen.append(next(o["tb"] for o in obs if (o["step"], o["cpu"], o["t_ns"]) ==
                         (first["step"], first["cpu"], first["t_ns"])))
    assert seen == [first["a"], first["b"]]


def test_the_text_shows_both_reads_side_by_side(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Path) -> None:
    out_json = tmp_path / "diff.json"
    rc = main(["diff", "qemu-ppc-v2", "qemu-ppc-v3", "--depth", "1", "--json", str(out_json)])
    out = capsys.readouterr().out
    assert rc == 1
    assert "qemu-ppc-v2" in out and "<-- first difference" in out and "savevm" in out
    assert out.count("tbcheck run --variant") == 2
    doc = json.loads(out_json.read_text())
    assert doc["verdict"] == "different"
    assert all("tb" not in r and "quiet" not in r for r in doc["difference"]["reads"])


def test_a_users_file_is_compared_like_a_built_in(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "mine.py"
    f.write_text("from tbcheck.model.rulesets.qemu_ppc_v3 import Rules as V3\n\n\n"
                 "class Mine(V3):\n    name = 'mine'\n")
    rc = main(["diff", str(f), "qemu-ppc-v4", "--depth", "2"])
    assert rc == 0 and "mine and qemu-ppc-v4 are guest-visibly equal" in capsys.readouterr().out


def test_undecided_exits_3(monkeypatch: pytest.MonkeyPatch,
                           capsys: pytest.CaptureFixture[str]) -> None:
    def undecided(a: object, b: object, env: E.Envelope, *_: object) -> E.Comparison:
        return E.Comparison("x", "y", E.UNKNOWN, 1, env.depth, reason="budget spent")

    monkeypatch.setattr(E, "compare", undecided)
    rc = main(["diff", "qemu-ppc-v3", "qemu-ppc-v4", "--depth", "2"])
    assert rc == 3 and "unknown: budget spent" in capsys.readouterr().out
    assert diff_cmd.EXIT["unknown"] == 3


@pytest.mark.parametrize("args", [["nope", "qemu-ppc-v3"], ["qemu-ppc-v3", "missing.py"],
                                  ["qemu-ppc-v3", "qemu-ppc-v4", "--depth", "0"],
                                  ["qemu-ppc-v3", "qemu-ppc-v4", "--rlimit", "5"],
                                  ["qemu-ppc-v3", "qemu-ppc-v4", "--excluding", "what"],
                                  ["qemu-ppc-v3"]])
def test_bad_input_is_a_one_line_error(args: list[str],
                                       capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["diff", *args])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
