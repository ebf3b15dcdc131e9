"""Cells run in worker processes, so that a crash of the solver costs a cell, not the run.

z3 can die of a signal when a check is cancelled by its timeout (seen in CI on z3 4.15.4:
SIGSEGV in ``Z3_solver_check_assumptions``, seed-corrected at depth 4, not repeated in 12 runs
here; z3's maintainers on results after a cancelled operation: "not sanctioned",
Z3Prover/z3#5062). A dead worker breaks a ``ProcessPoolExecutor`` and every future in it, so
the cells not finished by then are run each in a process of its own, ``jobs`` at a time; a
cell whose own process dies ``ATTEMPTS`` times is given back as a ``Death``, which the caller
reports as ``unknown``: never a traceback, and never a pass.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Generic, TypeVar

C = TypeVar("C")
R = TypeVar("R")

ATTEMPTS = 2  # a cell's own process: the crash seen did not repeat, so one retry


@dataclass(frozen=True)
class Death:
    """How a cell's process died, each time it was run alone."""

    how: str  # "SIGSEGV", "exit status 3", ...
    attempts: int

    def __str__(self) -> str:
        return f"its process died {self.attempts} times, by {self.how}"


def run_cells(work: Callable[[C], R], cells: list[C], jobs: int
              ) -> Iterator[tuple[C, R | Death]]:
    """``work(cell)`` for every cell, in worker processes, each result as it comes (any
    order). ``work`` must be picklable (a module's function or a ``functools.partial``); an
    exception it raises is raised here, as from ``ProcessPoolExecutor``."""
    left: list[C] = []
    with ProcessPoolExecutor(max_workers=max(1, min(jobs, len(cells)))) as pool:
        futs: dict[Future[R], C] = {pool.submit(work, c): c for c in cells}
        seen: set[Future[R]] = set()
        try:
            for fut in as_completed(futs):
                got = fut.result()
                seen.add(fut)
                yield futs[fut], got
        except BrokenProcessPool:
            # what finished before the break is kept; the rest is run again, a cell alone
            for fut, cell in futs.items():
                if fut in seen:
                    continue
                if fut.done() and fut.exception() is None:
                    yield cell, fut.result()
                else:
                    left.append(cell)
    if left:
        print(f"tbcheck: a worker process died; {len(left)} unfinished cell(s) run again, "
              "each in a process of its own", file=sys.stderr, flush=True)
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as threads:
            alone = {threads.submit(_alone, work, c): c for c in left}
            for fut in as_completed(alone):
                yield alone[fut], fut.result()


def _alone(work: Callable[[C], R], cell: C) -> R | Death:
    """``work(cell)`` in a process of its own, again if the process dies."""
    how = ""
    for _ in range(ATTEMPTS):
        code, got = _in_own_process(work, cell)
        if isinstance(got, _Outcome):
            if got.error is not None:
                raise got.error
            return got.value  # type: ignore[return-value]
        how = (signal.Signals(-code).name if code is not None and code < 0
               else f"exit status {code}")
    return Death(how, ATTEMPTS)


@dataclass
class _Outcome(Generic[R]):
    value: R | None = None
    error: BaseException | None = None


def _in_own_process(work: Callable[[C], R], cell: C) -> tuple[int | None, _Outcome[R] | None]:
    ctx = multiprocessing.get_context("fork")  # as the pool: the rule files are loaded already
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(send, work, cell), daemon=True)
    proc.start()
    send.close()
    try:
        got: _Outcome[R] | None = recv.recv()
    except EOFError:  # it died before it could answer
        got = None
    proc.join()
    return proc.exitcode, got


def _child(send: Connection, work: Callable[[C], R], cell: C) -> None:
    try:
        out: _Outcome[R] = _Outcome(value=work(cell))
    except Exception as exc:  # a bug, or bad input found late: the parent raises it
        out = _Outcome(error=exc)
    send.send(out)
    send.close()
