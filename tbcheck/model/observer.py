"""What the world tells whoever watches it: the moments the properties speak of.

The model owns the moments (a read of every vCPU, an explicit stop and resume, QEMU's own stop
and resume around a migration or a snapshot, a loadvm); the properties own what is checked at
them (``tbcheck.properties.monitor.Monitor``). The world keeps the watcher's memory (its ghost)
in each world state, so both engines copy it with the state; the world reads only the fields
``GhostView`` names. Defining the contract here lets the model import nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from tbcheck.model.domain import Num, Obligation

Emit = Callable[[Any], None]  # receives one check record


class GhostView(Protocol):
    """The watcher's memory, as far as the world uses it (display time, the last reads, the
    reference a loaded snapshot sets)."""

    last: list[Num] | None
    pause_ref: list[Num] | None
    pause_kind: str | None
    pause_rounded: bool
    guest_ns: Num
    shift: list[Num] | None


@dataclass(frozen=True)
class ScaledRun:
    """A run on a host whose hardware scales some vCPUs' counters: the facts the rounding of
    ``(H * ratio) >> frac_bits`` depends on. ``frac_bits[i]`` is None for an unscaled vCPU."""

    f_h: Num  # the host counter's frequency
    host_ticks: Num  # how far the host counter advanced during the run
    frac_bits: list[int | None]


class Observer(Protocol):
    """The hooks the world calls, in the order the events reach them."""

    def ghost(self) -> GhostView: ...

    def on_obligations(self, obligations: list[Obligation], hook: str, emit: Emit,
                       vcpu: int | None = None) -> None: ...

    def on_reads(self, g: Any, t: Num, tbs: list[Num], emit: Emit) -> None: ...

    def on_chain_start(self, g: Any, t: Num, tbs: list[Num]) -> None: ...

    def on_run(self, t_a: Num, tbs_a: list[Num], t_b: Num, tbs_b: list[Num], situation: Any,
               emit: Emit, scaled: ScaledRun | None = None) -> None: ...

    def on_explicit_stop(self, g: Any, tbs: list[Num]) -> None: ...

    def on_guest_write(self, g: Any, cpu: int, before: list[Num], value: Num) -> None: ...

    def on_explicit_cont(self, g: Any, tbs: list[Num], emit: Emit) -> None: ...

    def on_implicit_stop(self, g: Any, migrating: bool) -> None: ...

    def on_implicit_resume(self, g: Any, t: Num, tbs: list[Num]) -> None: ...

    def on_paused_arrival(self, g: Any, t: Num, tbs: list[Num], emit: Emit) -> None: ...

    def on_snapshot_resume(self, ref: list[Num], tbs: list[Num], what: str,
                           emit: Emit, rounded: bool = False) -> None: ...

    def on_branch_restart(self, g: Any) -> None: ...
