"""Cells run in worker processes, so that a crash of the solver costs a cell, not the run.

z3 can die of a signal (seen in CI on z3 4.15.4: SIGSEGV inside ``Z3_solver_check_assumptions``,
seed-corrected at depth 4, which 44 runs here did not repeat; crashes that come and go with a
timeout are known to z3's tracker, e.g. Z3Prover/z3#2534). A dead worker breaks a
``ProcessPoolExecutor`` and every future in it, so the cells not finished by then are run each
in a process of its own, ``jobs`` at a time; a cell whose own process dies ``ATTEMPTS`` times
is given back as a ``Death``, which the caller reports as ``unknown``: never a traceback, and
never a pass.
"""

from __future__ import annotations

import multiprocessing
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
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
        yield from _alone(work, left, jobs)


def _alone(work: Callable[[C], R], cells: list[C], jobs: int
           ) -> Iterator[tuple[C, R | Death]]:
    """``work(cell)`` for each cell in a process of its own, ``jobs`` at a time (forked from
    this thread, the only one), again if the process dies."""
    ctx = multiprocessing.get_context("fork")  # as the pool: the rule files are loaded already
    queue = deque((c, 1) for c in cells)
    running: dict[Connection, tuple[BaseProcess, C, int]] = {}
    while queue or running:
        while queue and len(running) < max(1, jobs):
            cell, attempt = queue.popleft()
            recv, send = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_child, args=(send, work, cell), daemon=True)
            proc.start()
            send.close()
            running[recv] = (proc, cell, attempt)
        for conn in wait(list(running)):
            assert isinstance(conn, Connection)
            proc, cell, attempt = running.pop(conn)
            try:
                got: _Outcome[R] | None = conn.recv()
            except EOFError:  # it died before it could answer
                got = None
            conn.close()
            proc.join()
            if got is None and attempt < ATTEMPTS:
                queue.append((cell, attempt + 1))
            elif got is None:
                code = proc.exitcode
                yield cell, Death(signal.Signals(-code).name if code is not None and code < 0
                                  else f"exit status {code}", attempt)
            elif got.error is not None:
                raise got.error
            else:
                yield cell, got.value  # type: ignore[misc]


@dataclass
class _Outcome(Generic[R]):
    value: R | None = None
    error: BaseException | None = None


def _child(send: Connection, work: Callable[[C], R], cell: C) -> None:
    try:
        out: _Outcome[R] = _Outcome(value=work(cell))
    except Exception as exc:  # a bug, or bad input found late: the parent raises it
        out = _Outcome(error=exc)
    send.send(out)
    send.close()
