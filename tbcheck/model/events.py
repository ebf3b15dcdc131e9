"""docs/properties.md's events, with their parameters (each a number, symbolic in proofs).

Durations are true nanoseconds (``Int``). A migration's phases are told apart so that a rule
reading a clock at one point and not another is caught: ``p_save`` from the implicit stop to
``pre_save`` (the last RAM pages), ``p_transfer`` to the destination's ``post_load``, and
``p_resume`` until the destination runs. ``Migrate.paused``: the destination was started
paused (QEMU ``-S -incoming``): a running guest stays paused there from the load until a ``cont``
(``p_resume`` is then time the paused guest does not see).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields
from typing import Any

from tbcheck.model.domain import Num


@dataclass(frozen=True)
class Run:
    d: Num
    kind = "run"


@dataclass(frozen=True)
class Stop:
    kind = "stop"


@dataclass(frozen=True)
class Cont:
    kind = "cont"


@dataclass(frozen=True)
class Migrate:
    dst: int
    p_save: Num
    p_transfer: Num
    p_resume: Num
    paused: bool = False  # the destination was started paused (-S): no resume on its own
    kind = "migrate"


@dataclass(frozen=True)
class MigrateFail:
    p_save: Num
    p_cancel: Num
    kind = "migrate-fail"


@dataclass(frozen=True)
class SaveVM:
    name: str
    p_ram: Num
    kind = "savevm"


@dataclass(frozen=True)
class LoadVM:
    name: str
    p_load: Num
    kind = "loadvm"


@dataclass(frozen=True)
class Read:
    cpu: int
    kind = "read"


@dataclass(frozen=True)
class Write:
    """The guest writes ``tb`` (ticks) to vCPU ``cpu``'s TB, where the machine allows it."""

    cpu: int
    tb: Num
    kind = "write"


Event = Run | Stop | Cont | Migrate | MigrateFail | SaveVM | LoadVM | Read | Write
EVENT_TYPES: dict[str, type] = {t.kind: t for t in (Run, Stop, Cont, Migrate, MigrateFail,
                                                    SaveVM, LoadVM, Read, Write)}


def depth_of(events: list[Event]) -> int:
    """How deep a sequence is: its events other than runs (each step is an event and the run
    after it, and a run on its own is a step's plain wait)."""
    return sum(1 for e in events if not isinstance(e, Run))


def describe(ev: Event, value: Any = None) -> str:
    """``migrate(dst=2, p_save=10, ...)`` with numbers shown by ``value`` (default: as they are)."""
    parts = []
    for f in fields(ev):  # type: ignore[arg-type]
        x = getattr(ev, f.name)
        if is_default(f, x):  # a flag left at its default is not shown
            continue
        parts.append(f"{f.name}={value(x) if value and isinstance(x, Num) else x}")
    return f"{ev.kind}({', '.join(parts)})"


def is_default(f: Any, x: Any) -> bool:
    """Whether field ``f`` holds its default (a flag such as ``Migrate.paused`` left off)."""
    return f.default is not MISSING and isinstance(x, bool) and x == f.default
