"""A verdict is a function of its inputs: the same command gives the same verdicts, depths and
resource counts on a quiet machine and on one whose cores are all busy, and a cell's answer
does not depend on which other cells share its run (budgets count z3's resource units, and
each cell runs in a process forked from its rule set's clean template)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

# a handful of cells: proved bounded (vcpus-agree), violated (frozen-when-stopped: the counter
# runs while paused), and a bounded proof that stalls within its small budget and is closed by
# the induction (monotonic, its invariant searched in a process of its own)
CELLS = ["--variant", "qemu-arm-no-adjvtime", "--property", "frozen-when-stopped",
         "--property", "monotonic", "--property", "vcpus-agree"]
INDUCED = ("qemu-arm-no-adjvtime", "monotonic")
ARGS = ["--depth", "3", "--rlimit", "2M", "--jobs", "2", "--json", "--no-cache"]


def _prove(*args: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}  # entry() fixes it
    out = subprocess.run([sys.executable, "-c", "from tbcheck.cli import entry; entry()",
                          "prove", *args], capture_output=True, text=True, env=env, check=False)
    assert out.returncode in (0, 1), out.stderr
    return {(r["variant"], r["property"]): (r["verdict"], r["depth"], r["unbounded"],
                                            r["resources"])
            for r in json.loads(out.stdout)["results"]}


@contextmanager
def _both_cores_busy() -> Iterator[None]:
    spin = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
            for _ in range(os.cpu_count() or 2)]
    try:
        yield
    finally:
        for p in spin:
            p.kill()
            p.wait()


def test_verdicts_and_resource_counts_do_not_change_with_load_or_company() -> None:
    quiet = _prove(*CELLS, *ARGS)
    with _both_cores_busy():
        busy = _prove(*CELLS, *ARGS)
    alone = _prove("--variant", INDUCED[0], "--property", INDUCED[1], *ARGS)
    assert busy == quiet
    assert alone[INDUCED] == quiet[INDUCED]
    verdicts = {v[0] for v in quiet.values()}
    assert verdicts == {"proved", "violated"}  # the handful has both kinds
    assert quiet[INDUCED][2], "the cell was not closed by the induction"
    assert any(v[0] == "proved" and not v[2] for v in quiet.values()), "no bounded proof"
    assert all(v[3] > 0 for v in quiet.values())
