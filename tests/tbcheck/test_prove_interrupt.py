"""Ctrl-C during `tbcheck prove`: the cells decided so far are printed (and written to --json
and --junit, marked as interrupted), the exit status is 130, no traceback, and no process of
the run outlives it. The CLI runs in a process group of its own, as under a terminal, and
SIGINT goes to the whole group, as the terminal sends it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from xml.etree import ElementTree as ET

# qemu-ppc-v1's frozen-when-stopped is refuted in a fraction of a second; its monotonic takes
# minutes to prove at depth 3, so the run is still busy with it when SIGINT comes
CELLS = ["--variant", "qemu-ppc-v1", "--property", "frozen-when-stopped", "--property",
         "monotonic", "--depth", "3", "--jobs", "2", "--random-runs", "0"]
WAIT_S = 600  # only so that a broken run cannot hang the suite: never reached when it works


def _interrupted_run(extra: list[str], tmp_path: Path) -> tuple[int, str, str]:
    """Start prove, wait until its first cell is said on stderr, send SIGINT to its group."""
    proc = subprocess.Popen([sys.executable, "-m", "tbcheck.cli", "prove", *CELLS, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, cwd=tmp_path,
                            # as a shell starts it: a test process may ignore SIGINT (seen in
                            # CI: the run then finished, exit 0), and an ignored signal stays
                            # ignored across exec
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
                            env={**os.environ, "PYTHONHASHSEED": "0",
                                 "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert proc.stderr is not None and proc.stdout is not None
    err: list[str] = []
    first = threading.Event()

    def read_err() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            err.append(line)
            if "frozen-when-stopped" in line and "violated" in line:
                first.set()

    reader = threading.Thread(target=read_err, daemon=True)
    reader.start()
    assert first.wait(WAIT_S), "".join(err)
    time.sleep(0.5)  # the other cell is under way in a child of a worker
    group = os.getpgid(proc.pid)
    os.killpg(group, signal.SIGINT)
    out = proc.stdout.read()
    rc = proc.wait(WAIT_S)
    reader.join(WAIT_S)
    _no_process_left(group)
    return rc, out, "".join(err)


def _no_process_left(session: int) -> None:
    """Every process of the run's session has ended (zombies aside: their parent is gone): its
    workers are in process groups of their own (Ctrl-C reaches the run's process alone), but
    in its session."""
    deadline = time.monotonic() + WAIT_S
    while True:
        alive = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[3]) == session and fields[0] != "Z":
                alive.append(pid)
        if not alive or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert not alive, f"processes of the run still alive: {alive}"


def test_ctrl_c_prints_the_decided_cells_and_exits_130(tmp_path: Path) -> None:
    rc, out, err = _interrupted_run([], tmp_path)
    assert rc == 130
    assert "Traceback" not in err + out
    assert "qemu-ppc-v1  violated" in out  # the table, with the cell decided
    assert "interrupted (Ctrl-C): 1 of 2 cells decided" in out


def test_ctrl_c_writes_json_and_junit_marked_interrupted(tmp_path: Path) -> None:
    junit = tmp_path / "out.xml"
    rc, out, err = _interrupted_run(["--json", "--junit", str(junit)], tmp_path)
    assert rc == 130 and "Traceback" not in err
    doc = json.loads(out)
    assert doc["interrupted"] is True
    assert [(r["property"], r["verdict"]) for r in doc["results"]] == [
        ("frozen-when-stopped", "violated")]
    assert doc["undecided"] == [{"variant": "qemu-ppc-v1", "property": "monotonic"}]
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "2" and suite.get("skipped") == "1"
    assert any(p.get("name") == "interrupted" and p.get("value") == "true"
               for p in suite.iter("property"))
    skipped = [c for c in suite.iter("testcase") if c.find("skipped") is not None]
    assert [c.get("name") for c in skipped] == ["monotonic"]
