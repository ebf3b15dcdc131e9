"""The layer map (docs/architecture.md) is checked by import-linter in ``make test``; these
tests show that check can fail: the same contracts over a copy of the package, clean and then
with one import pointing upward."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def _copy(tmp: Path) -> Path:
    shutil.copytree(ROOT / "tbcheck", tmp / "tbcheck",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp / "pyproject.toml")
    return tmp


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(where)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=where, env=env, text=True,
                          capture_output=True, timeout=600)


@pytest.fixture()
def copy(tmp_path: Path) -> Path:
    return _copy(tmp_path)


def test_the_package_keeps_its_layers(copy: Path) -> None:
    out = _lint(copy)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "0 broken" in out.stdout


@pytest.mark.parametrize(("module", "upward"), [
    ("model/domain.py", "tbcheck.properties.monitor"),  # the number domain reaches the properties
    ("model/world.py", "tbcheck.proofs.envelope"),  # the world reaches an engine
    ("proofs/unroll.py", "tbcheck.loader"),  # an engine reaches the tool layer
    ("proofs/houdini.py", "tbcheck.proofs.fuzz.runner"),  # the proof core reaches the fuzzer
])
def test_an_upward_import_breaks_the_check(copy: Path, module: str, upward: str) -> None:
    path = copy / "tbcheck" / module
    path.write_text(path.read_text() + f"\nimport {upward}  # noqa: E402\n")
    out = _lint(copy)
    assert out.returncode != 0
    assert "BROKEN" in out.stdout
    assert upward in out.stdout
