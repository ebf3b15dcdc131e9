"""The worker processes: a cell whose worker dies is run again, then reported as a death; one
that outlives its limit is killed; the other cells' results are kept; a bug in the work is
raised, not swallowed."""

from __future__ import annotations

import ctypes
import faulthandler
import json
import os
import signal
import time
from collections import deque
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from tbcheck.cli import main
from tbcheck.workers import (
    ATTEMPTS,
    Death,
    Template,
    _in_child,
    _next,
    _Worker,
    ask_worker,
    fresh,
    run_cells,
)


def _square_or_crash(n: int, crash: frozenset[int] = frozenset(), once: str = "") -> int:
    """``n * n``; a real SIGSEGV (a read of address 0) for the cells in ``crash``, or only
    the first time for ``once`` (a marker file says it already happened)."""
    if n in crash:
        faulthandler.disable()  # the crash is meant: pytest's handler would print it as a fault
        if not once:
            ctypes.string_at(0)
        if not os.path.exists(once):
            Path(once).write_text("crashed once")
            ctypes.string_at(0)
    return n * n


def _square_or_sleep(n: int, sleepy: int) -> int:
    if n == sleepy:
        time.sleep(3600)  # as a solver that overruns its timeout
    return n * n


def test_a_cell_past_its_limit_is_killed_and_the_others_are_kept() -> None:
    got = dict(run_cells(partial(_square_or_sleep, sleepy=2), [1, 2, 3, 4], 2,
                         limit_s=lambda n: 1.0 if n == 2 else 600.0))  # the quick cells get
    # ample time: on a loaded machine a fork can take longer than a second
    assert got == {1: 1, 2: Death.hung(1.0), 3: 9, 4: 16}
    assert str(got[2]) == ("its process gave no answer in 1 s of wall-clock time and was "
                           "killed") and got[2].wall_clock


def _fails(n: int) -> int:
    raise ValueError(f"bad cell {n}")


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_cell_that_always_crashes_is_a_death_and_the_others_are_kept(jobs: int) -> None:
    got = dict(run_cells(partial(_square_or_crash, crash=frozenset({3})), [1, 2, 3, 4, 5],
                         jobs))
    assert got[3] == Death.crashed(-signal.SIGSEGV, ATTEMPTS)
    assert str(got[3]) == f"its process died {ATTEMPTS} times, the last by SIGSEGV"
    assert {n: got[n] for n in (1, 2, 4, 5)} == {1: 1, 2: 4, 4: 16, 5: 25}


def _state() -> tuple[int, str | None, int]:
    """What a new interpreter shows: its z3 context's count of terms built so far (the id a
    new term gets), its hash seed, and its process id."""
    import z3

    return z3.Int("probe").get_id(), os.environ.get("PYTHONHASHSEED"), os.getpid()


def test_fresh_runs_in_a_new_interpreter_whatever_the_caller_built() -> None:
    import z3

    before = fresh(_state)
    history = [z3.Int(f"h{i}") + i for i in range(1000)]  # this process builds terms
    after = fresh(_state)
    assert history and before[:2] == after[:2] == (before[0], "0")
    assert before[2] != os.getpid() != after[2]
    with pytest.raises(ValueError, match="bad cell 7"):
        fresh(_fails, 7)
    with pytest.raises(RuntimeError, match="died by SIGSEGV"):
        fresh(_square_or_crash, 3, frozenset({3}))


def test_a_cell_that_crashes_once_is_decided_on_its_retry(tmp_path: Path) -> None:
    marker = tmp_path / "crashed"
    got = dict(run_cells(partial(_square_or_crash, crash=frozenset({2}), once=str(marker)),
                         [1, 2, 3], 1))
    assert marker.exists() and got == {1: 1, 2: 4, 3: 9}


def test_a_bug_in_the_work_is_raised() -> None:
    with pytest.raises(ValueError, match="bad cell"):
        dict(run_cells(_fails, [1, 2], 2))


CRASHING_RULES = '''\
"""A rule set whose cont crashes the process that proves it (not the one that loads it)."""
import ctypes
import faulthandler
import os

from tbcheck import U64, Record, RuleSet, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "crashes-in-workers"
    summary = "freezes the TB, and dies in a worker"
    source = "tests/tbcheck/test_workers.py"

    def setup(self, vm):
        self.guestTB = U64(0)

    def stop(self, vm, state):
        self.guestTB = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)

    def pre_save(self, vm):
        return Record(guestTB=self.guestTB)

    def post_load(self, vm, record):
        self.guestTB = record.guestTB

    def cont(self, vm):
        if os.getpid() != {asker}:  # not the test's own process
            faulthandler.disable()  # the crash is meant
            ctypes.string_at(0)
        vm.set_all_offsets(wrapping_sub(self.guestTB, vm.host.tb()))
'''


def test_prove_reports_a_crashing_cell_unknown_without_a_traceback(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "crashing.py"
    path.write_text(CRASHING_RULES.replace("{asker}", str(os.getpid())))
    rc = main(["prove", "--variant-file", str(path), "--variant", "qemu-ppc-v1",
               "--property", "frozen-when-stopped", "--depth", "3", "--json", "--jobs", "2"])
    out, err = capsys.readouterr()
    assert rc == 1  # a user's file must be proved
    got = {r["variant"]: r for r in json.loads(out)["results"]}
    crashed = got["crashes-in-workers"]
    assert crashed["verdict"] == "unknown"
    assert f"died {ATTEMPTS} times, the last by SIGSEGV" in crashed["reason"]
    assert got["qemu-ppc-v1"]["verdict"] == "violated"  # the other cell is decided
    assert "died by SIGSEGV; it runs again" in err and "Traceback" not in err


def _worker(group: str | None) -> _Worker:
    return _Worker(proc=None, conn=None, group=group)  # type: ignore[arg-type]  # not started


def test_a_worker_keeps_to_its_group_then_takes_one_nobody_holds() -> None:
    cells = ["a1", "a2", "b1", "b2", "c1"]
    queue = deque([(1, 1), (2, 1), (3, 1), (4, 1)])  # a2, b1, b2, c1 left
    me, other = _worker("b"), _worker("c")
    assert _next(queue, me, [me, other], cells, lambda c: c[0]) == (2, 1)  # b1: its own
    me.group = "a"
    assert _next(queue, me, [me, other], cells, lambda c: c[0]) == (1, 1)  # a2: its own
    me.group = "z"
    assert _next(queue, me, [me, other], cells, lambda c: c[0]) == (3, 1)  # b2: nobody's
    assert _next(queue, me, [me, other], cells, lambda c: c[0]) == (4, 1)  # c1: the other's
    assert not queue


def test_without_groups_the_first_queued_goes() -> None:
    queue = deque([(1, 2), (0, 1)])
    me = _worker(None)
    assert _next(queue, me, [me], ["x", "y"], None) == (1, 2)


_TOUCHED: list[int] = []  # a process's own history: what its cells did before


def _history_then_append(n: int) -> tuple[int, int]:
    """How many cells this process ran before, and the template's mark."""
    seen = len(_TOUCHED)
    _TOUCHED.append(n)
    return seen, _MARK[0]


_MARK = [0]


def _mark_template(group: object) -> None:
    _MARK[0] += 1


def test_every_cell_starts_from_its_groups_template_not_from_the_cells_before_it() -> None:
    """A verdict must not depend on which cells ran before it in the same worker: each runs in
    a child forked from the template, which ``prepare`` built once."""
    got = dict(run_cells(_history_then_append, [1, 2, 3, 4], 1, group=lambda n: "g",
                         template=Template(prepare=_mark_template)))
    assert got == {n: (0, 1) for n in (1, 2, 3, 4)}


def _asks(n: int) -> object:
    return ask_worker("facts", n % 2)


def _search_logged(log: str, group: object, kind: str, key: int) -> tuple[int, int]:
    with open(log, "a") as f:
        f.write(f"{group} {key}\n")
    return os.getpid(), key


def test_a_search_runs_once_a_run_and_every_cell_gets_its_one_answer(tmp_path: Path) -> None:
    log = tmp_path / "searched"
    folder = tmp_path / "searches"
    folder.mkdir()
    template = Template(search=partial(_search_logged, str(log)), folder=folder)
    got = dict(run_cells(_asks, [1, 2, 3, 4, 5, 6], 2, group=lambda n: "g", template=template))
    assert sorted(log.read_text().split("\n")[:-1]) == ["g 0", "g 1"]  # once each, two workers
    assert {got[n][1] for n in (1, 3, 5)} == {1} and {got[n][1] for n in (2, 4, 6)} == {0}
    assert len({got[n] for n in (1, 3, 5)}) == 1  # one answer, whichever cell asked first


def _cell_units(u: Any) -> int:
    from tbcheck.proofs import bmc

    return bmc.check(u, "monotonic").resources


def test_two_cells_forked_from_one_state_spend_exactly_the_same_units() -> None:
    """What a question costs z3 depends on the solver state it is asked in (a second
    unrolling in one process has other term ids); a cell forked from a fixed state pays
    the same whenever and wherever it runs."""
    from tbcheck.model.registry import builtin
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.proofs.unroll import unroll

    u = unroll(builtin("seed-corrected"), Envelope(depth=2))
    first = _in_child(lambda: _cell_units(u), lambda key: None)
    second = _in_child(lambda: _cell_units(u), lambda key: None)
    assert first.died is None and first.error is None
    assert first.value == second.value and first.value > 0  # type: ignore[operator]
