"""tbcheck.progress: the status line is drawn on a terminal only, never with --quiet, and says
``[done/total]``, the time elapsed and an estimate."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from tbcheck.progress import CLEAR, Progress, clock


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.mark.parametrize("seconds, text", [(0, "0:00"), (7.4, "0:07"), (59.6, "1:00"),
                                           (750, "12:30"), (3723, "1:02:03")])
def test_clock(seconds: float, text: str) -> None:
    assert clock(seconds) == text


def test_status_counts_elapsed_and_estimate() -> None:
    now = _Clock()
    p = Progress(4, stream=_Tty(), now=now)
    assert p.status() == "[0/4] 0:00 elapsed"  # no estimate before anything is done
    now.t += 30
    p.done(label="qemu-tcg monotonic")
    assert p.status() == "[1/4] 0:30 elapsed, ~1:30 left: qemu-tcg monotonic"
    now.t += 30
    p.done(2, label="")
    assert p.status() == "[3/4] 1:00 elapsed, ~0:20 left"


def test_drawn_on_a_terminal_with_lines_kept_below() -> None:
    out = _Tty()
    p = Progress(2, stream=out, now=_Clock())
    p.say("  cell one")
    p.done()
    p.close()
    text = out.getvalue()
    assert "  cell one\n" in text and "[1/2]" in text
    assert text.endswith(CLEAR)  # closed: the status line is erased


def test_not_drawn_on_a_file_but_lines_are() -> None:
    out = io.StringIO()
    p = Progress(2, stream=out)
    p.begin("x")
    p.say("  cell one")
    p.done()
    p.tick()
    p.close()
    assert out.getvalue() == "  cell one\n"


def test_quiet_prints_nothing_even_on_a_terminal() -> None:
    out = _Tty()
    p = Progress(2, quiet=True, stream=out)
    p.say("  cell one")
    p.done()
    p.close()
    assert out.getvalue() == ""


def test_a_warning_is_said_even_when_quiet() -> None:
    out = _Tty()
    p = Progress(2, quiet=True, stream=out)
    p.warn("tbcheck: the process of x died")
    assert out.getvalue() == "tbcheck: the process of x died\n"


# ---------------------------------------------------------------------- the commands
ROOT = Path(__file__).resolve().parents[2]
PROVE = ["prove", "--variant", "qemu-ppc-v1", "--property", "frozen-when-stopped", "--depth",
         "1", "--jobs", "1"]
FUZZ = ["fuzz", "--variant", "qemu-ppc-v1", "--property", "frozen-when-stopped", "--profile",
        "ci", "--examples", "20", "--no-shrink"]


def _stderr(args: list[str], tty: bool) -> str:
    """The command's stderr, as a terminal (a pty) or a pipe shows it; stdout is a pipe."""
    env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "tbcheck.cli", *args]
    if not tty:
        return subprocess.run(cmd, capture_output=True, text=True, env=env,
                              check=False).stderr
    master, slave = pty.openpty()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    proc.wait()
    os.close(master)
    return b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("args", [PROVE, FUZZ], ids=["prove", "fuzz"])
def test_progress_on_a_terminal_only_and_never_quiet(args: list[str]) -> None:
    on_tty = _stderr(args, tty=True)
    assert "[1/1]" in on_tty and "elapsed" in on_tty and CLEAR in on_tty
    piped = _stderr(args, tty=False)
    assert "[0/1]" not in piped and "[1/1]" not in piped and "\r" not in piped
    quiet = _stderr([*args, "--quiet"], tty=True)
    assert "[1/1]" not in quiet and "elapsed" not in quiet


def test_record_progress_on_a_terminal_only(tmp_path: Path) -> None:
    import shutil

    if shutil.which("qemu-system-ppc64") is None:
        if os.environ.get("CI"):
            pytest.fail("qemu-system-ppc64 not installed (run .ci/install-qemu)")
        pytest.skip("qemu-system-ppc64 not installed (run .ci/install-qemu)")
    args = ["record", "--out", str(tmp_path / "t.jsonl"), "--scenario", "running",
            "--scenario", "stop-cont", "--reads", "1", "--delay", "0.2"]
    on_tty = _stderr(args, tty=True)
    assert "[1/2]" in on_tty and "[2/2]" in on_tty and "record: running: ok" in on_tty
    piped = _stderr(args, tty=False)
    assert "[1/2]" not in piped and "record: running: ok" in piped
    quiet = _stderr([*args, "--quiet"], tty=True)
    assert "[1/2]" not in quiet and "record: running: ok" not in quiet
    assert "record: 2/2 scenarios ok" in quiet  # the summary stays
