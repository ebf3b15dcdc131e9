"""A verdict is a function of its inputs: the same command gives the same verdicts, depths and
resource counts on a quiet machine and on one whose cores are all busy, and a cell's answer
does not depend on which other cells share its run, nor on what the process that asks it did
before (budgets count z3's resource units, and each cell runs in a process forked from its rule
set's clean template, a new interpreter)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tbcheck.cli import main
from tbcheck.model.registry import builtin
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.unroll import unroll

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
    return _cells(out.stdout)


def _cells(text: str) -> dict[tuple[str, str], tuple[Any, ...]]:
    return {(r["variant"], r["property"]): (r["verdict"], r["depth"], r["unbounded"],
                                            r["resources"])
            for r in json.loads(text)["results"]}


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


def test_a_process_with_a_history_asks_for_the_same_verdicts(
        capsys: pytest.CaptureFixture[str]) -> None:
    """The command run inside a process that has built other solver terms (a test among
    others) gives what a new process gives. The cell is one whose search the solver's state
    steers: when workers were forked from the caller, it was proved to depth 4 after this
    history (17.3M units) and to depth 3 without it (13.6M)."""
    history = unroll(builtin("seed-anchored"), Envelope(depth=3))  # terms of another rule set
    assert history.alts
    cell = ["--variant", "qemu-riscv-kvm", "--property", "monotonic", "--depth", "4",
            "--jobs", "1", "--json", "--no-cache"]
    assert main(["prove", *cell]) in (0, 1)
    inside = _cells(capsys.readouterr().out)
    assert inside == _prove(*cell)
