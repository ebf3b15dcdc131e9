"""The command line as a user meets it: a version, no traceback on a closed pipe, errors that
name the flag and its value, output paths checked before any work."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tbcheck import __version__
from tbcheck.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"tbcheck {__version__}"


def test_a_closed_pipe_is_no_traceback() -> None:
    reader = subprocess.Popen([sys.executable, "-c", "pass"], stdin=subprocess.PIPE)
    reader.wait()  # gone before a byte is written: the first write finds the pipe closed
    out = subprocess.run([sys.executable, "-m", "tbcheck.cli", "list", "--json"],
                         stdout=reader.stdin, stderr=subprocess.PIPE, text=True, check=False)
    assert out.stderr == "" and out.returncode == 0


@pytest.mark.parametrize("args, said", [
    (["--depth", "0"], "--depth 0: between 1 and 16"),
    (["--vcpus", "1"], "--vcpus 1: between 2 and 8"),
    (["--junit", "/nonexistent/dir/out.xml"], "--junit /nonexistent/dir/out.xml"),
])
def test_bad_options_name_the_flag_and_the_value(args: list[str], said: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prove", "--variant", "qemu-ppc-v1", *args]) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
