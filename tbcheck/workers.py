"""Cells run in processes of their own, each forked from its rule set's clean template, so that
a verdict is the same whichever other cells a run asks and whatever a crash or a hang costs.

Why a process a cell: z3's resource count, and so a budget's verdict (``proofs.budget``),
depends on the solver state a question is asked in (the ids z3 gave the terms built before it),
and a process that has proved other cells holds other state. So each worker is a *template* for
one group (a rule set): a new interpreter (never a fork of the caller, whose state
depends on what it did before: the full matrix loads every rule set, a test process has run
other tests), with Python's string hash fixed (``PYTHONHASHSEED=0``), it builds the group's
unrollings once (``prepare``), and then forks a child for each cell, which starts from exactly
that state and exits with its answer. A worker given a cell of another group is replaced by a
new one. ``fresh`` runs one function the same way, for a caller (a test) that proves in-process.

A cell's child may ask its worker for the group's invariant facts (``search``): the worker
searches them once, in a child of its own forked from the template (so the facts are the same
whichever cell asked first), shares them with the run's other workers through
``tbcheck.searches``, and hands them on.

A crash or a hang of z3 costs a cell, not the run: z3 can die of a signal (seen in CI on z3
4.15.4: SIGSEGV inside ``Z3_solver_check_assumptions``; crashes that come and go are known to
z3's tracker, e.g. Z3Prover/z3#2534) and can overrun its limits (#2437, #3488). A cell whose
child dies runs again, and after ``ATTEMPTS`` deaths it is given back as a ``Death``; a cell
that outlives its wall-clock limit (a safety net only: budgets are counted in resource units)
is killed with its worker and given back at once. The caller reports a ``Death`` as
``unknown``: never a traceback, never a hung CI job, never a pass.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Generic, TypeVar

from tbcheck.searches import Searches

C = TypeVar("C")
R = TypeVar("R")

ATTEMPTS = 2  # a cell's runs before a crash is its answer: the crash seen did not repeat
POLL_S = 0.5  # how often a worker looks whether another worker's search has ended
TICK_S = 1.0  # how often run_cells calls its ``tick`` while it waits


@dataclass(frozen=True)
class Death:
    """Why a cell has no answer, in words for its verdict's reason."""

    why: str
    wall_clock: bool = False

    @staticmethod
    def crashed(exitcode: int | None, attempts: int) -> Death:
        return Death(f"its process died {attempts} times, the last {_how(exitcode)}")

    @staticmethod
    def hung(limit_s: float) -> Death:
        return Death(f"its process gave no answer in {limit_s:g} s of wall-clock time and "
                     "was killed", wall_clock=True)

    def __str__(self) -> str:
        return self.why


def _how(exitcode: int | None) -> str:
    return (f"by {signal.Signals(-exitcode).name}" if exitcode is not None and exitcode < 0
            else f"with exit status {exitcode}")


@dataclass
class _Outcome(Generic[R]):
    value: R | None = None
    error: BaseException | None = None
    died: int | None = None  # the cell's child died with this exit code


@dataclass(frozen=True)
class Template:
    """What a worker does for its group: ``prepare(group)`` once before any cell is forked,
    and ``search(group, *key)`` in a child of its own when a cell asks for facts."""

    prepare: Callable[[Hashable], None] | None = None
    search: Callable[..., Any] | None = None
    folder: Path | None = None  # the run's shared searches (``tbcheck.searches``)


@dataclass
class _Worker:
    proc: subprocess.Popen[bytes]
    conn: Connection
    group: Hashable = None  # the only group it serves
    cell: int | None = None  # the index of the cell it runs, if any
    attempt: int = 0
    started: float = 0.0


def run_cells(work: Callable[[C], R], cells: list[C], jobs: int,
              limit_s: Callable[[C], float] | None = None, name: Callable[[C], str] = str,
              group: Callable[[C], Hashable] | None = None,
              template: Template | None = None,
              tick: Callable[[], None] | None = None,
              say: Callable[[str], None] | None = None) -> Iterator[tuple[C, R | Death]]:
    """``work(cell)`` for every cell, each in a child of a worker of its group (at most
    ``jobs`` workers), each result as it comes (any order). ``work`` must be picklable (a
    module's function or a ``functools.partial``); an exception it raises is raised here.
    ``limit_s(cell)``: how long a cell may take before its worker is killed (no limit without
    it). A death is said on stderr (through ``say``, a progress line's, if given), the cell
    ``name``d. ``tick()`` is called at least every ``TICK_S`` while cells run (a progress
    line's clock).

    Ctrl-C (SIGINT) reaches this process alone (the workers and their children ignore it) and
    raises ``KeyboardInterrupt`` here, at a ``yield`` or while waiting: the workers are killed
    on the way out, and their children with them (their parent-death signal), so the caller
    keeps the results it has and nothing outlives it."""
    queue = deque((i, 1) for i in range(len(cells)))
    workers: list[_Worker] = []
    group_of = group or (lambda c: None)

    def start(g: Hashable) -> _Worker:
        proc, mine = _interpreter(_serve, work, g, template or Template())
        return _Worker(proc, mine, g)

    try:
        while queue or any(w.cell is not None for w in workers):
            idle = [w for w in workers if w.cell is None]
            while queue and (idle or len(workers) < max(1, jobs)):
                w = idle.pop(0) if idle else None
                i, attempt = _next(queue, w, workers, cells, group)
                g = group_of(cells[i])
                if w is None or w.group != g or w.proc.poll() is not None:
                    if w is not None:  # a template of another group: a new one
                        _stop(w)
                        workers.remove(w)
                    w = start(g)
                    workers.append(w)
                w.cell, w.attempt, w.started = i, attempt, time.perf_counter()
                with contextlib.suppress(OSError):  # it died idle: wait() finds it dead
                    w.conn.send(cells[i])
            busy = [w for w in workers if w.cell is not None]
            ends = [w.started + limit_s(cells[w.cell]) for w in busy  # type: ignore[index]
                    if limit_s is not None]
            timeout = max(0.0, min(ends) - time.perf_counter()) if ends else None
            if tick is not None:
                tick()
                timeout = TICK_S if timeout is None else min(timeout, TICK_S)
            ready = wait([w.conn for w in busy], timeout=timeout)
            for w in busy:
                i = w.cell
                assert i is not None
                if w.conn in ready:
                    try:
                        got: _Outcome[R] | None = w.conn.recv()
                    except EOFError:  # the worker itself died
                        with contextlib.suppress(subprocess.TimeoutExpired):
                            w.proc.wait(1)
                        got = _Outcome(died=w.proc.returncode)
                        _stop(w)
                        workers.remove(w)
                    w.cell = None
                    if got.error is not None:
                        raise got.error
                    if got.died is None:
                        yield cells[i], got.value  # type: ignore[misc]
                    elif w.attempt < ATTEMPTS:
                        (say or _say)(f"tbcheck: the process of {name(cells[i])} died "
                                      f"{_how(got.died)}; it runs again in a new one")
                        queue.appendleft((i, w.attempt + 1))
                    else:
                        yield cells[i], Death.crashed(got.died, w.attempt)
                elif limit_s is not None and (
                        time.perf_counter() - w.started >= limit_s(cells[i])):
                    _stop(w)
                    workers.remove(w)
                    yield cells[i], Death.hung(limit_s(cells[i]))
    finally:
        for w in workers:
            _stop(w)


#: what a new interpreter runs: it reads its ``sys.path`` and then its task from the pipe
#: whose descriptor it is given (no ``__main__`` of the caller is imported, unlike
#: multiprocessing's ``spawn``: a user's script without the ``__main__`` guard would run again)
_BOOT = ("import sys; from multiprocessing.connection import Connection; "
         "c = Connection(int(sys.argv[1])); sys.path[:] = c.recv(); "
         "from tbcheck.workers import _started; _started(c)")


def _interpreter(target: Callable[..., None], *args: Any) -> tuple[subprocess.Popen[bytes],
                                                                    Connection]:
    """``target(conn, *args)`` in a new interpreter, Python's string hash seeded with 0 (the
    order of a set of names can reach the order in which terms are built: see
    ``tbcheck.cli.entry``); the caller's end of ``conn`` is returned with the process."""
    mine, theirs = multiprocessing.Pipe()
    fd = theirs.fileno()
    proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(fd)], pass_fds=[fd],
                            env={**os.environ, "PYTHONHASHSEED": "0"},
                            process_group=0)  # Ctrl-C at a terminal reaches the caller alone
    theirs.close()
    mine.send(sys.path)
    mine.send((target, args))
    return proc, mine


def _started(conn: Connection) -> None:
    """In a new interpreter: run the task the pipe brings, and exit."""
    target, args = conn.recv()
    target(conn, *args)


def _ended(proc: subprocess.Popen[bytes]) -> None:
    """Kill ``proc`` if it runs, and reap it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()


def fresh(fn: Callable[..., R], *args: Any) -> R:
    """``fn(*args)`` in a new interpreter, as a cell's template is made (no solver term built
    before it, ``PYTHONHASHSEED=0``), its exception raised here: for a caller whose process has
    built other terms (a test among others) and wants the verdict a run gives. ``fn`` and
    ``args`` must be picklable, and so must its result."""
    proc, conn = _interpreter(_fresh_child, fn, args)
    try:
        got: _Outcome[R] = conn.recv()
    except EOFError:
        proc.wait()
        raise RuntimeError(f"the fresh process died {_how(proc.returncode)}") from None
    finally:
        conn.close()
        _ended(proc)
    if got.error is not None:
        raise got.error
    return got.value  # type: ignore[return-value]


def _fresh_child(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    _die_with_parent()
    conn.send(_outcome(lambda: fn(*args)))
    conn.close()


def _outcome(fn: Callable[[], Any]) -> _Outcome[Any]:
    """``fn()``'s value, or the exception it raised, for the pipe to the caller."""
    try:
        return _Outcome(value=fn())
    except Exception as exc:
        return _Outcome(error=exc)


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _next(queue: deque[tuple[int, int]], w: _Worker | None, workers: list[_Worker],
          cells: list[C], group: Callable[[C], Hashable] | None) -> tuple[int, int]:
    """The queued cell a worker takes: with ``group``, one of its own group (whose template
    it holds), else the first of a group no other worker holds, else the first."""
    if group is not None:
        others = {o.group for o in workers if o is not w}
        mine = None if w is None else w.group
        for want in (lambda g: w is not None and g == mine, lambda g: g not in others):
            for n, (i, attempt) in enumerate(queue):
                if want(group(cells[i])):
                    del queue[n]
                    return i, attempt
    return queue.popleft()


def _stop(w: _Worker) -> None:
    """End a worker and, through their parent-death signal, the children it forked."""
    _ended(w.proc)
    w.conn.close()


# ---------------------------------------------------------------------- in a worker
_ASK: Connection | None = None  # in a cell's child: the line to its worker


def ask_worker(*key: Any) -> Any:
    """In a cell's child: the group's search result for ``key`` (``Template.search``)."""
    if _ASK is None:
        raise RuntimeError("ask_worker outside a cell's process")
    _ASK.send(("search", key))
    return _ASK.recv()


def _serve(conn: Connection, work: Callable[[C], R], group: Hashable,
           template: Template) -> None:
    """A worker: builds its group's template, then forks a child for each cell it is given
    and passes its answer on, until the parent closes the pipe or kills it (on Ctrl-C too,
    which the parent alone handles)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    prepared = False
    found: dict[Any, Any] = {}
    searches = None if template.folder is None else Searches(template.folder)
    while True:
        try:
            cell = conn.recv()
        except EOFError:
            return
        if not prepared and template.prepare is not None:
            try:
                gc.collect()  # the collector's counts start from nothing (see _in_child)
                template.prepare(group)
            except Exception as exc:  # a bug, or bad input found late: the parent raises it
                conn.send(_Outcome(error=exc))
                continue
        prepared = True

        def search(key: Any) -> Any:
            if key not in found:
                found[key] = _search(template, group, key, searches)
            return found[key]

        conn.send(_in_child(lambda c=cell: work(c), search))


def _search(template: Template, group: Hashable, key: Any, searches: Searches | None) -> Any:
    """The group's search for ``key``: another worker's result if it has one (or once its
    search ends), else searched here, in a child forked from the template."""
    assert template.search is not None
    what = repr((group, key))
    while searches is not None:
        said = searches.claim(what)
        if said == Searches.DONE:
            return searches.result(what)
        if said == Searches.MINE:
            break
        time.sleep(POLL_S)  # another worker searches it: the same answer, sooner or later
    for _ in range(ATTEMPTS):
        got = _in_child(lambda: template.search(group, *key), lambda k: None)
        if got.died is None:
            if got.error is not None:
                raise got.error
            if searches is not None:
                searches.finish(what, got.value)
            return got.value
    if searches is not None:
        searches.release(what)
    raise RuntimeError(f"the invariant search died {_how(got.died)} {ATTEMPTS} times")


def _in_child(fn: Callable[[], Any], on_ask: Callable[[Any], Any]) -> _Outcome[Any]:
    """``fn()`` in a child forked from this process; its questions (``ask_worker``) are
    answered with ``on_ask``. A child that dies gives ``died``, its exit status."""
    global _ASK
    mine, theirs = multiprocessing.Pipe()
    pid = os.fork()
    if pid == 0:  # the child
        code = 0
        try:
            mine.close()
            _die_with_parent()
            # z3 reuses the ids of terms that Python frees, and ids steer some of its
            # choices: the collector must free the same terms at the same points in every
            # run, so its counts start from nothing here, whatever the parent did before
            gc.collect()
            _ASK = theirs
            theirs.send(_outcome(fn))
        except BaseException:  # noqa: BLE001 - nothing may escape a forked child
            code = 1
        finally:
            os._exit(code)
    theirs.close()
    try:
        while True:
            try:
                msg = mine.recv()
            except EOFError:
                break
            if isinstance(msg, _Outcome):
                os.waitpid(pid, 0)
                return msg
            if msg[0] == "search":
                try:
                    mine.send(on_ask(msg[1]))
                except Exception as exc:  # the search failed: the cell dies with it
                    print(f"tbcheck: {exc}", file=sys.stderr, flush=True)
                    os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        return _Outcome(died=os.waitstatus_to_exitcode(status))
    finally:
        mine.close()


def _die_with_parent() -> None:
    """Linux's parent-death signal: a process whose parent is killed is killed too, so that
    no cell or search outlives the run (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
