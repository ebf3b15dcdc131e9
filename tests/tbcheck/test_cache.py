"""The verdict cache (``tbcheck.cache``): a repeat run is answered from it with the cold run's
records; a change to any part of the key decides the cell again; a corrupt or unwritable cache
never costs the run. Each test has a cache folder of its own (tests/conftest.py)."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tbcheck
from tbcheck import cache
from tbcheck.cli import main
from tbcheck.commands import prove_cmd

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "seed_units_fixed_int64.py"
CELL = ["--variant", "qemu-ppc-v1", "--property", "tracks-wall-clock"]  # violated at once
SHALLOW = ["--depth", "2", "--jobs", "1"]


@pytest.fixture
def decided(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, tuple[str, ...]]]:
    """The cells each run hands to the workers (not those it reads from the cache)."""
    seen: list[tuple[str, str, tuple[str, ...]]] = []
    real = prove_cmd.run_cells

    def spy(work: Any, cells: list[Any], *args: Any, **kwargs: Any) -> Any:
        seen.extend((k, r, tuple(ps)) for k, r, ps in cells)
        return real(work, cells, *args, **kwargs)

    monkeypatch.setattr(prove_cmd, "run_cells", spy)
    return seen


def _prove(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["prove", *args])
    out, err = capsys.readouterr()
    return rc, out, err


def _stored(folder: Path) -> list[Path]:
    return sorted((folder / "verdicts").glob("*.json")) if (folder / "verdicts").is_dir() else []


def _same_but_cached(cold: dict[str, Any], warm: dict[str, Any]) -> None:
    """Equal JSON outputs but for the run's time and each record's ``cached``."""
    assert [r.pop("cached") for r in cold["results"]] == [False] * len(cold["results"])
    assert [r.pop("cached") for r in warm["results"]] == [True] * len(warm["results"])
    cold.pop("seconds")
    warm.pop("seconds")
    assert warm == cold


def test_a_repeat_run_is_answered_by_the_cache_with_the_cold_records(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], decided: list[Any]) -> None:
    rules = tmp_path / "mine.py"
    shutil.copy(EXAMPLE, rules)
    args = [*CELL, "--variant", "qemu-ppc-v2", "--property", "monotonic",
            "--variant-file", str(rules), *SHALLOW, "--json"]
    rc, out, _ = _prove(capsys, *args)
    cold = json.loads(out)
    assert len(decided) == 6 and len(_stored(Path(os.environ["TBCHECK_CACHE_DIR"]))) == 6
    assert any(r["counterexample"] for r in cold["results"])  # its timeline, replay ... too
    rc2, out, err = _prove(capsys, *args)
    assert rc2 == rc and len(decided) == 6  # nothing decided again
    assert "6 of 6 cells from the verdict cache" in err
    _same_but_cached(cold, json.loads(out))
    # the table: the same cells, each marked (cached), and a line that says what that means
    rc3, fresh, _ = _prove(capsys, *args[:-1], "--no-cache")
    rc4, warm, _ = _prove(capsys, *args[:-1])
    assert rc3 == rc4 == rc and len(decided) == 12
    assert "(cached)" in warm and "(cached):" in warm and "(cached)" not in fresh
    assert _words(warm.replace(" (cached)", "")) == _words(fresh)


def _words(table: str) -> list[list[str]]:
    """A table's words, line by line, but for its time and the cache's own line (a column's
    padding follows its widest cell)."""
    return [line.split() for line in table.splitlines()
            if not line.startswith(("(cached):", "6 verdicts in", "---"))]


def _edit_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """tbcheck as if one of its modules had changed: a copy with one more line in one."""
    root = Path(tbcheck.__file__).resolve().parent
    copy = tmp_path / "pkg" / "tbcheck"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("__pycache__"))
    with (copy / "proofs" / "unroll.py").open("a") as f:
        f.write("# edited\n")
    monkeypatch.setattr(tbcheck, "__file__", str(copy / "__init__.py"))


def _edit_rules(path: Path) -> None:
    with path.open("a") as f:
        f.write("# edited\n")


KEY_PARTS = {  # a part of the key: what to change, in the arguments or elsewhere
    "rule file's source": ([], lambda tmp, mp, rules: _edit_rules(rules)),
    "a tbcheck module's source": ([], lambda tmp, mp, rules: _edit_package(tmp, mp)),
    "depth": (["--depth", "3"], None),
    "property": (["--property", "snapshot-frozen"], None),
    "budget": (["--rlimit", "19M"], None),
    "induction budget": (["--induction", "19M"], None),
    "envelope field": (["--eps", "999999"], None),
}


@pytest.mark.parametrize("part", KEY_PARTS)
def test_a_change_to_any_part_of_the_key_decides_the_cell_again(
        part: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], decided: list[Any]) -> None:
    rules = tmp_path / "mine.py"
    shutil.copy(EXAMPLE, rules)

    def args(prop: str = "guest-frequency", *extra: str) -> list[str]:
        return ["--variant-file", str(rules), "--property", prop, "--depth", "2",
                "--jobs", "1", "--json", *extra]

    _prove(capsys, *args())
    _prove(capsys, *args())
    assert len(decided) == 1  # the repeat was a hit
    extra, edit = KEY_PARTS[part]
    if edit is not None:
        edit(tmp_path, monkeypatch, rules)
        cache._DIGEST.clear()  # (a new process would hash the package afresh)
    changed = args(extra[1]) if extra[:1] == ["--property"] else args("guest-frequency", *extra)
    _, out, _ = _prove(capsys, *changed)
    assert len(decided) == 2, f"changing the {part} was answered from the cache"
    assert not any(r["cached"] for r in json.loads(out)["results"])
    cache._DIGEST.clear()


def _key_with(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
              *args: str) -> dict[str, Any]:
    """The key ``tbcheck prove`` computes for its one cell, without deciding it."""
    keys: list[dict[str, Any]] = []

    def lookup(store: Any, cells: list[Any], key_of: Any) -> tuple[list[Any], list[Any]]:
        keys.extend(key_of(c) for c in cells)
        return [], []

    monkeypatch.setattr(cache, "lookup", lookup)
    main(["prove", *CELL, *args])
    capsys.readouterr()
    (key,) = keys
    return key


# a value other than the default for each option of `tbcheck prove`; an option missing here
# fails the test below: say whether it can change a verdict (tbcheck.cache.verdict_options)
OTHER_VALUES = {
    "--depth": "3", "--rlimit": "19M", "--timeout": "99", "--same-frequency": None,
    "--eps": "5", "--hosts": "2", "--vcpus": "3", "--fmin": "2000000", "--fmax": "20000000",
    "--max-run": "1000", "--max-phase": "1000", "--slack": "3", "--jobs": "1",
    "--random-runs": "7", "--fuzz-examples": "7", "--no-deepen": None, "--induction": "19M",
    "--induction-first": None, "--json": None, "--explain": None, "--accept-partial": None,
    "--no-cache": None, "--junit": "out.xml", "--cache-dir": "elsewhere", "--quiet": None,
    "--plot": "cx.svg", "--scaling": "none", "--frac-bits": "32",
}
OUTSIDE_KEY = {"--timeout", "--jobs", "--json", "--explain", "--accept-partial", "--no-cache",
               "--junit", "--cache-dir", "--quiet", "--plot"}
CELL_CHOICE = {"--variant", "--variant-file", "--property"}  # the cell itself


def test_every_option_that_can_change_a_verdict_is_in_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    prove = argparse.ArgumentParser()
    prove_cmd.add_arguments(prove)
    options = {s for a in prove._actions for s in a.option_strings if s.startswith("--")}
    options -= {"--help"} | CELL_CHOICE
    assert options == set(OTHER_VALUES), "an option of prove without a decision here"
    base = _key_with(monkeypatch, capsys)
    for option, other in OTHER_VALUES.items():
        key = _key_with(monkeypatch, capsys, option, *([] if other is None else [other]))
        if option in OUTSIDE_KEY:
            assert key == base, f"{option} changes the key, though it cannot change a verdict"
        else:
            assert key != base, f"{option} can change a verdict and is not in the key"


def test_no_cache_neither_reads_nor_writes(capsys: pytest.CaptureFixture[str],
                                           decided: list[Any]) -> None:
    folder = Path(os.environ["TBCHECK_CACHE_DIR"])
    _prove(capsys, *CELL, *SHALLOW, "--no-cache")
    assert _stored(folder) == []
    _prove(capsys, *CELL, *SHALLOW)
    rc, out, err = _prove(capsys, *CELL, *SHALLOW, "--no-cache", "--json")
    assert len(decided) == 3 and "verdict cache" not in err
    assert json.loads(out)["results"][0]["cached"] is False


@pytest.mark.parametrize("garbage", ["{not json", "", '{"key": 1}', "\xff\xfe", "[]"])
def test_a_corrupt_cache_file_is_a_miss(garbage: str, capsys: pytest.CaptureFixture[str],
                                        decided: list[Any]) -> None:
    folder = Path(os.environ["TBCHECK_CACHE_DIR"])
    rc, cold, _ = _prove(capsys, *CELL, *SHALLOW, "--json")
    (path,) = _stored(folder)
    path.write_text(garbage, encoding="latin-1")
    rc2, out, err = _prove(capsys, *CELL, *SHALLOW, "--json")
    assert rc2 == rc and len(decided) == 2 and "Traceback" not in err
    assert json.loads(out)["results"][0]["cached"] is False
    _prove(capsys, *CELL, *SHALLOW)  # and the file is whole again
    assert len(decided) == 2


def test_records_of_another_cell_in_a_cells_file_are_a_miss(
        capsys: pytest.CaptureFixture[str], decided: list[Any]) -> None:
    folder = Path(os.environ["TBCHECK_CACHE_DIR"])
    _prove(capsys, *CELL, *SHALLOW)
    (path,) = _stored(folder)
    data = json.loads(path.read_text())
    data["records"][0]["property"] = "monotonic"
    path.write_text(json.dumps(data))
    _prove(capsys, *CELL, *SHALLOW)
    assert len(decided) == 2


def test_an_unwritable_cache_folder_is_a_one_line_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    rc, out, err = _prove(capsys, *CELL, *SHALLOW, "--cache-dir", str(blocker / "cache"))
    assert rc == 0 and "violated" in out
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and str(blocker / "cache") in warnings[0]
    assert "Traceback" not in err


def test_a_cell_stopped_by_the_wall_clock_or_a_death_is_not_stored(tmp_path: Path) -> None:
    store = cache.Store(tmp_path)
    key = {"properties": ["monotonic"], "k": 1}
    rec = {"property": "monotonic", "verdict": "unknown", "kind": "builtin", "ref": "x"}
    for wall_clock in (True, False):  # the safety net's, or a process's death
        cache.remember(store, [("builtin", "x", ["monotonic"])],
                       [dict(rec, wall_clock=wall_clock)], lambda c: key)
    assert _stored(tmp_path) == []
    cache.remember(store, [("builtin", "x", ["monotonic"])], [dict(rec)], lambda c: key)
    assert store.get(key) == [dict(rec, cached=True)]


def test_what_each_run_adds_to_a_record_is_not_stored(tmp_path: Path) -> None:
    store = cache.Store(tmp_path)
    key = {"properties": ["monotonic"]}
    rec = {"property": "monotonic", "verdict": "violated", "gate": "pass", "due": "violated",
           "outcome": "violated", "asked_depth": 2, "tolerances": {}, "cached": False,
           "counterexample": {"events": [], "command": "tbcheck run ..."}}
    store.put(key, [rec])
    assert store.get(key) == [{"property": "monotonic", "verdict": "violated", "cached": True,
                               "counterexample": {"events": []}}]
    assert rec["gate"] == "pass"  # the run's own record is left whole


def test_the_default_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TBCHECK_CACHE_DIR", str(tmp_path / "named"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.default_folder() == tmp_path / "named"
    monkeypatch.delenv("TBCHECK_CACHE_DIR")
    assert cache.default_folder() == tmp_path / "xdg" / "tbcheck"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # not absolute: ignored (XDG)
    assert cache.default_folder() == tmp_path / "home" / ".cache" / "tbcheck"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache.default_folder() == tmp_path / "home" / ".cache" / "tbcheck"


def test_a_run_without_options_uses_the_default_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TBCHECK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    _prove(capsys, *CELL, *SHALLOW)
    assert len(_stored(tmp_path / "xdg" / "tbcheck")) == 1
    _prove(capsys, *CELL, *SHALLOW, "--cache-dir", str(tmp_path / "opt"))  # the option wins
    assert len(_stored(tmp_path / "opt")) == 1


def test_a_helper_module_beside_a_rule_file_is_in_the_key(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tbcheck.loader import load_rules_file
    from tbcheck.proofs.envelope import Envelope

    name = f"tbcheck_test_helper_{os.getpid()}"
    helper = tmp_path / f"{name}.py"
    helper.write_text("def bump(x):\n    return x\n")
    rules = tmp_path / "mine.py"
    text = EXAMPLE.read_text()
    rules.write_text(f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport {name}\n" +
                     text)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    loaded = load_rules_file(str(rules))

    def key() -> Any:
        return cache.cell_key(("file", str(rules), ["monotonic"]), lambda k, r: loaded,
                              Envelope(depth=2), {})

    before = key()
    helper.write_text("def bump(x):\n    return x + 1\n")
    assert key() != before
    sys.modules.pop(name, None)


def test_two_runs_sharing_the_folder_both_finish_and_leave_it_whole(tmp_path: Path) -> None:
    env = dict(os.environ, TBCHECK_CACHE_DIR=str(tmp_path / "shared"))
    cmd = [sys.executable, "-c", "from tbcheck.cli import entry; entry()", "prove", *CELL,
           "--variant", "seed-as-written", "--property", "snapshot-frozen", *SHALLOW, "--json"]
    runs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(2)]
    outs = [p.communicate() for p in runs]
    assert [p.returncode for p in runs] == [0, 0], outs
    verdicts = [[(r["variant"], r["verdict"], r["resources"]) for r in json.loads(o)["results"]]
                for o, _ in outs]
    assert verdicts[0] == verdicts[1]
    files = list((tmp_path / "shared" / "verdicts").iterdir())
    assert len(files) == 4 and all(f.suffix == ".json" for f in files)  # no temporary left
    for f in files:
        assert json.loads(f.read_text())["records"]
