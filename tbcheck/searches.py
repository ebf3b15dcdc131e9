"""The invariant searches a run's workers share, through files in the run's own folder.

A search's result is a function of its rule set, envelope and budget (``tbcheck.workers``
forks it from a clean template), so which worker searches changes when the answer comes,
never what it is. A worker claims a search before it begins; another worker that needs it
waits for the claimer's result instead of searching beside it (two 20 s searches of QEMU-TCG
side by side once cost a run 20 s). A claim whose process is gone is free again. The files are
the run's own, in a fresh private folder, so unpickling them trusts nothing new.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar


@dataclass(frozen=True)
class Searches:
    """One file a search: ``busy <pid>`` while it runs, then ``done`` with its result
    pickled beside it."""

    folder: Path
    MINE: ClassVar[str] = "mine"
    BUSY: ClassVar[str] = "busy"
    DONE: ClassVar[str] = "done"

    def claim(self, what: str) -> str:
        """MINE (search it now), BUSY (another live process searches it) or DONE."""
        path = self._path(what)
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            said = path.read_text().split()
            if said[:1] == [self.DONE]:
                return self.DONE
            if not said or _alive(int(said[1])):  # (nothing said yet: its claimer writes)
                return self.BUSY
            path.write_text(f"busy {os.getpid()}")  # its searcher died: take it over
            return self.MINE
        with os.fdopen(fd, "w") as f:
            f.write(f"busy {os.getpid()}")
        return self.MINE

    def finish(self, what: str, result: Any) -> None:
        path = self._path(what)
        path.with_suffix(".result").write_bytes(pickle.dumps(result))
        path.write_text(self.DONE)

    def release(self, what: str) -> None:
        """Give up a claim without a result (the search crashed)."""
        self._path(what).unlink(missing_ok=True)

    def result(self, what: str) -> Any:
        return pickle.loads(self._path(what).with_suffix(".result").read_bytes())

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
