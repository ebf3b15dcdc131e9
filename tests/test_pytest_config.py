"""The suite's own configuration (pyproject.toml): a test whose process crashes or hangs runs
again, a test that fails does not (a flaky failure must show; a z3 crash or hang must not sink
CI, nor keep it waiting)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

ONCE = '''
import ctypes, faulthandler, time
from pathlib import Path

HERE = Path(__file__).parent

def test_crashes_once():
    if not (HERE / "crashed").exists():
        (HERE / "crashed").touch()
        faulthandler.disable()  # a plain SIGSEGV, as z3's
        ctypes.string_at(0)

def test_hangs_once():
    if not (HERE / "hung").exists():
        (HERE / "hung").touch()
        time.sleep(60)  # ended by the test timeout (2 s here), as a z3 call that never returns

def test_fails_once():
    if not (HERE / "failed").exists():
        (HERE / "failed").touch()
        raise AssertionError("failed once")
'''


def test_a_crash_or_a_hang_runs_again_and_a_failure_does_not(tmp_path: Path) -> None:
    (tmp_path / "test_once.py").write_text(ONCE)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir",
         str(tmp_path), "-rA", "-o", "timeout=2", str(tmp_path / "test_once.py")],
        capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert out.returncode == 1, out.stdout + out.stderr
    assert (tmp_path / "crashed").exists() and (tmp_path / "hung").exists()  # both happened
    assert "PASSED test_once.py::test_crashes_once" in out.stdout, out.stdout
    assert "PASSED test_once.py::test_hangs_once" in out.stdout, out.stdout
    assert "FAILED test_once.py::test_fails_once" in out.stdout, out.stdout
    assert "1 failed, 2 passed, 2 rerun" in out.stdout, out.stdout
