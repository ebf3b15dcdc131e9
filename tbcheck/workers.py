"""Cells run in worker processes, so that a crash or a hang of the solver costs a cell, not the
run.

z3 can die of a signal (seen in CI on z3 4.15.4: SIGSEGV inside ``Z3_solver_check_assumptions``,
seed-corrected at depth 4, which 44 runs here did not repeat; crashes that come and go with a
timeout are known to z3's tracker, e.g. Z3Prover/z3#2534), and it can overrun its timeout
(Z3Prover/z3#2437, #3488). ``concurrent.futures`` cannot tell which cell a dead worker held,
nor stop one task, so the pool is this module's own: each worker is given one cell at a time
and keeps what it caches between cells (a rule set's unrolling, its invariant). A cell whose
worker dies is run again in a new worker, and after ``ATTEMPTS`` deaths it is given back as a
``Death``; a cell that outlives its limit is killed with its worker and given back at once.
The caller reports a ``Death`` as ``unknown``: never a traceback, never a hung CI job, never a
pass.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Generic, TypeVar

C = TypeVar("C")
R = TypeVar("R")

ATTEMPTS = 2  # a cell's runs before a crash is its answer: the crash seen did not repeat


@dataclass(frozen=True)
class Death:
    """Why a cell has no answer, in words for its verdict's reason."""

    why: str

    @staticmethod
    def crashed(exitcode: int | None, attempts: int) -> Death:
        return Death(f"its process died {attempts} times, the last {_how(exitcode)}")

    @staticmethod
    def hung(limit_s: float) -> Death:
        return Death(f"its process gave no answer in {limit_s:g} s and was killed")

    def __str__(self) -> str:
        return self.why


def _how(exitcode: int | None) -> str:
    return (f"by {signal.Signals(-exitcode).name}" if exitcode is not None and exitcode < 0
            else f"with exit status {exitcode}")


@dataclass
class _Outcome(Generic[R]):
    value: R | None = None
    error: BaseException | None = None


@dataclass
class _Worker:
    proc: BaseProcess
    conn: Connection
    cell: int | None = None  # the index of the cell it runs, if any
    attempt: int = 0
    started: float = 0.0
    group: Hashable = None  # the group of its last cell


def run_cells(work: Callable[[C], R], cells: list[C], jobs: int,
              limit_s: Callable[[C], float] | None = None, name: Callable[[C], str] = str,
              group: Callable[[C], Hashable] | None = None) -> Iterator[tuple[C, R | Death]]:
    """``work(cell)`` for every cell, in ``jobs`` worker processes, each result as it comes
    (any order). ``work`` must be picklable (a module's function or a ``functools.partial``);
    an exception it raises is raised here. ``limit_s(cell)``: how long a cell may take before
    its worker is killed (no limit without it). A death is said on stderr, the cell ``name``d."""
    ctx = multiprocessing.get_context("fork")  # the rule files are loaded already
    queue = deque((i, 1) for i in range(len(cells)))
    workers: list[_Worker] = []

    def start() -> _Worker:
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(theirs, work), daemon=True)
        proc.start()
        theirs.close()
        return _Worker(proc, mine)

    try:
        while queue or any(w.cell is not None for w in workers):
            while queue and len(workers) < max(1, jobs):
                workers.append(start())
            for w in workers:
                if w.cell is None and queue:
                    w.cell, w.attempt = _next(queue, w, workers, cells, group)
                    w.started = time.perf_counter()
                    with contextlib.suppress(OSError):  # it died idle: wait() finds it dead
                        w.conn.send(cells[w.cell])
                    w.group = None if group is None else group(cells[w.cell])
            busy = [w for w in workers if w.cell is not None]
            ends = [w.started + limit_s(cells[w.cell]) for w in busy  # type: ignore[index]
                    if limit_s is not None]
            ready = wait([w.conn for w in busy],
                         timeout=max(0.0, min(ends) - time.perf_counter()) if ends else None)
            for w in busy:
                i = w.cell
                assert i is not None
                if w.conn in ready:
                    try:
                        got: _Outcome[R] | None = w.conn.recv()
                    except EOFError:  # it died with the cell
                        got = None
                    if got is not None:
                        w.cell = None
                        if got.error is not None:
                            raise got.error
                        yield cells[i], got.value  # type: ignore[misc]
                        continue
                    _stop(w)
                    workers.remove(w)
                    if w.attempt < ATTEMPTS:
                        print(f"tbcheck: the worker on {name(cells[i])} died "
                              f"{_how(w.proc.exitcode)}; it runs again in a new one",
                              file=sys.stderr, flush=True)
                        queue.append((i, w.attempt + 1))
                    else:
                        yield cells[i], Death.crashed(w.proc.exitcode, w.attempt)
                elif limit_s is not None and (
                        time.perf_counter() - w.started >= limit_s(cells[i])):
                    _stop(w)
                    workers.remove(w)
                    yield cells[i], Death.hung(limit_s(cells[i]))
    finally:
        for w in workers:
            _stop(w)


def _next(queue: deque[tuple[int, int]], w: _Worker, workers: list[_Worker], cells: list[C],
          group: Callable[[C], Hashable] | None) -> tuple[int, int]:
    """The queued cell ``w`` takes: with ``group``, one of its last cell's group (whose caches
    it holds), else the first of a group no other worker holds, else the first."""
    if group is not None:
        others = {o.group for o in workers if o is not w}
        for want in (lambda g: g == w.group, lambda g: g not in others):
            for n, (i, attempt) in enumerate(queue):
                if want(group(cells[i])):
                    del queue[n]
                    return i, attempt
    return queue.popleft()


def _stop(w: _Worker) -> None:
    if w.proc.is_alive():
        w.proc.kill()
    w.proc.join()
    w.conn.close()


def _serve(conn: Connection, work: Callable[[C], R]) -> None:
    """A worker: cells in, outcomes out, until the parent closes the pipe or kills it (on
    Ctrl-C too, which the parent alone handles)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while True:
        try:
            cell = conn.recv()
        except EOFError:
            return
        try:
            out: _Outcome[R] = _Outcome(value=work(cell))
        except Exception as exc:  # a bug, or bad input found late: the parent raises it
            out = _Outcome(error=exc)
        conn.send(out)
