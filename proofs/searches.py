"""Which invariant searches a run's workers are doing, and what came of them, shared through
files.

Each worker keeps its own invariant (z3 terms do not cross processes), so two workers given
cells of one rule set would each search it. When the search runs out of budget, the second
search runs out too: 20 s lost (a depth-8 matrix run took 125.6 s instead of 103 s because of
it, with two 20 s searches of QEMU-TCG side by side). A worker therefore claims a search
before it begins. Another worker that finds it claimed goes on with its bounded proof and
asks again every second (``proofs.bmc``): once the search has run out, it does not search;
once it found an invariant, it proves that invariant's facts again, which Houdini does in
less than half the search (seed-corrected 3.8 s against 8.3, qemu-ppc-v0 2.8 against 7.2).
The files are the run's own, in a fresh private folder, so unpickling them trusts nothing new.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MINE, BUSY, RAN_OUT = "mine", "busy", "ran-out"


@dataclass(frozen=True)
class Searches:
    """A run's shared record, one file a search: ``busy <pid>`` while it runs, then ``found``
    or ``ran-out``. A claim whose process is gone (it crashed) is free again."""

    folder: Path

    def claim(self, what: str) -> str:
        """MINE (search it), BUSY (another process is searching it) or RAN_OUT (another
        process's search of it ran out of budget)."""
        path = self._path(what)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if path.read_text().split()[:1] == [RAN_OUT]:
                return RAN_OUT
            if self.busy(what):  # (nothing said yet: its claimer is writing)
                return BUSY
            path.write_text(f"busy {os.getpid()}")  # found elsewhere, or its searcher died
            return MINE
        with os.fdopen(fd, "w") as f:
            f.write(f"busy {os.getpid()}")
        return MINE

    def busy(self, what: str) -> bool:
        """Whether another live process is searching ``what`` (nothing is claimed)."""
        try:
            said = self._path(what).read_text().split()
        except FileNotFoundError:
            return False
        return not said or said[0] == "busy" and _alive(int(said[1]))

    def finish(self, what: str, facts: dict[Any, Any] | None) -> None:
        """The search of ``what`` ended: with the invariant's ``facts`` (by control key) for
        the next worker that needs them, or with None: it ran out."""
        path = self._path(what)
        if facts is not None:
            path.with_suffix(".facts").write_bytes(pickle.dumps(facts))
        path.write_text("found" if facts is not None else RAN_OUT)

    def facts(self, what: str) -> dict[Any, Any] | None:
        """The facts of another worker's invariant of ``what``, if one was found."""
        try:
            return pickle.loads(self._path(what).with_suffix(".facts").read_bytes())
        except FileNotFoundError:
            return None

    def _path(self, what: str) -> Path:
        return self.folder / hashlib.sha256(what.encode()).hexdigest()[:32]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return False  # this process holds no search it is not doing: a stale claim
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
