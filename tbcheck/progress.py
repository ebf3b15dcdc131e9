"""Progress on stderr for the long commands (prove, fuzz, record): ``[done/total]``, the time
elapsed and an estimate of the time left.

The status line is for a person watching a terminal: it is drawn only when stderr is one
(a CI log or a file gets no carriage returns), and never with ``--quiet``. The lines a command
prints for each finished item (``say``) go to stderr whatever it is, unless ``--quiet``: a CI
log keeps them, and the status line is cleared before each and drawn again after it.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

REDRAW_S = 1.0  # the status line's clock is redrawn at most this often
CLEAR = "\r\x1b[K"  # carriage return, erase to the end of the line


def clock(seconds: float) -> str:
    """``0:07``, ``12:30``, ``1:02:03``: a duration as a terminal user reads it."""
    s = max(0, int(seconds + 0.5))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """``total`` items done one by one; ``label`` names what is under way (optional)."""

    def __init__(self, total: int, quiet: bool = False, stream: TextIO | None = None,
                 now: Callable[[], float] = time.monotonic) -> None:
        self.total, self.quiet, self.now = total, quiet, now
        self.stream = sys.stderr if stream is None else stream
        self.drawing = not quiet and _is_tty(self.stream)
        self.started = now()
        self.finished = 0
        self.label = ""
        self._drawn = 0.0
        self._shown = False

    def status(self) -> str:
        """The status line: ``[3/14] 0:12 elapsed, ~0:40 left: what is under way``."""
        elapsed = self.now() - self.started
        if 0 < self.finished < self.total:
            left = f", ~{clock(elapsed / self.finished * (self.total - self.finished))} left"
        else:
            left = ""
        what = f": {self.label}" if self.label else ""
        return f"[{self.finished}/{self.total}] {clock(elapsed)} elapsed{left}{what}"

    def say(self, line: str) -> None:
        """A line of its own on stderr (unless quiet), under which the status line goes on."""
        if self.quiet:
            return
        self._clear()
        print(line, file=self.stream, flush=True)
        self._draw()

    def warn(self, line: str) -> None:
        """A line of its own on stderr even when quiet (a warning), under the status line."""
        self._clear()
        print(line, file=self.stream, flush=True)
        self._draw()

    def done(self, n: int = 1, label: str | None = None) -> None:
        """``n`` more items finished; ``label``: what is under way now."""
        self.finished += n
        if label is not None:
            self.label = label
        self._draw()

    def begin(self, label: str) -> None:
        """Say what is under way (the status line names it)."""
        self.label = label
        self._draw()

    def tick(self) -> None:
        """Redraw the clock if a second has gone by (call it while waiting)."""
        if self.drawing and self.now() - self._drawn >= REDRAW_S:
            self._draw()

    def close(self) -> None:
        """Erase the status line: what follows starts on a clean line."""
        self._clear()

    def _draw(self) -> None:
        if not self.drawing:
            return
        width = _columns(self.stream)
        self.stream.write(CLEAR + self.status()[: width - 1])
        self.stream.flush()
        self._drawn, self._shown = self.now(), True

    def _clear(self) -> None:
        if self._shown:
            self.stream.write(CLEAR)
            self.stream.flush()
            self._shown = False


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or unusual stream
        return False


def _columns(stream: TextIO) -> int:
    import os

    try:
        return os.get_terminal_size(stream.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80
