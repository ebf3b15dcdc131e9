"""A Hypothesis state machine over the one world: the model's events as rules, one property's checks
as the invariant.

The machine drives ``model.world.World`` exactly as the concrete engine does (``boot`` then
``step``, keeping the one path whose condition holds), so a violation it finds is a violation of
the model, not of a second implementation. Preconditions ask ``World.enabled``. Only the chosen
property fails the machine: each property gets its own shrunk counterexample.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import note
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import U64, Int, value
from tbcheck.model.events import (
    Cont,
    Event,
    LoadVM,
    Migrate,
    MigrateFail,
    Read,
    Run,
    SaveVM,
    Stop,
    Write,
)
from tbcheck.model.world import Path, World
from tbcheck.proofs import draws
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.properties.monitor import Check, Monitor


class PropertyViolated(AssertionError):
    """The chosen property failed; carries the whole (shrunk, on the final run) example."""

    def __init__(self, message: str, draw: draws.ParamDraw, events: list[Event], step: int,
                 check: Check) -> None:
        super().__init__(message)
        self.draw, self.events, self.step, self.check = draw, list(events), step, check


@dataclass
class Stats:
    """Counts across every example Hypothesis runs (generation, replay and shrinking alike)."""

    examples: int = 0
    events: int = 0  # events applied, over all examples
    first_found: int | None = None  # examples run when the property first failed
    first_found_s: float | None = None  # seconds from ``t0`` to then
    t0: float = field(default_factory=time.perf_counter)

    def started(self) -> None:
        self.examples += 1

    def found(self) -> None:
        if self.first_found is None:
            self.first_found = self.examples
            self.first_found_s = time.perf_counter() - self.t0


def explain(prop: str, step: int, check: Check, events: list[Event]) -> str:
    """Hypothesis's note on the failing example (the command prints ``tbcheck.timeline``'s)."""
    last = events[step - 1].kind if 0 < step <= len(events) else "boot"
    seen = [value(x) for x in check.seen]
    return f"{prop} violated at event {step} ({last}): {check.what}: TBs {seen}"


def machine_class(rules: type[RuleSet], prop: str, env: Envelope,
                  stats: Stats | None = None) -> type[RuleBasedStateMachine]:
    """The state machine for ``rules`` judged on ``prop`` within ``env`` (hosts, slots, ranges)."""
    stats = stats if stats is not None else Stats()
    dur, phase = draws.run_ns(env), draws.phase_ns(env)
    # the events the preconditions ask about, made once: Hypothesis asks every rule's
    # precondition at every step, and enabledness depends on the kind alone (and a migration's
    # paused)
    zero = Int(0)
    probe_run, probe_stop, probe_cont, probe_read = Run(zero), Stop(), Cont(), Read(0)
    probe_migrate, probe_fail = Migrate(0, zero, zero, zero), MigrateFail(zero, zero)
    probe_migrate_paused = Migrate(0, zero, zero, zero, paused=True)
    probe_save = SaveVM(env.slots[0], zero)

    class TimebaseMachine(RuleBasedStateMachine):
        snapshots = Bundle("snapshots")

        def __init__(self) -> None:
            super().__init__()
            stats.started()
            self.world: World | None = None
            self.path: Path | None = None
            self.draw: draws.ParamDraw | None = None
            self.events: list[Event] = []
            self.seen = 0

        # -------------------------------------------------------------- the hosts, then boot
        @initialize(f0=draws.freq(env), c0=draws.initial(env), e0=draws.skew(env),
                    m0=draws.initial(env), others=draws.hosts(env.drawn_for(rules)),
                    realtime0=draws.initial(env), tb0=draws.initial(env))
        def boot(self, f0: int, c0: int, e0: int, m0: int, others: list[Any], realtime0: int,
                 tb0: int) -> None:
            self.draw = draws.resolve(env.drawn_for(rules), f0, c0, e0, m0, others, realtime0,
                                      tb0)
            params = self.draw.params()
            self.world = World(rules, params, Monitor(tolerances(rules, env, params)))
            self.path = self.world.boot()

        def can(self, ev: Event) -> bool:
            return self.path is not None and self.world is not None \
                and self.world.enabled(self.path.ws, ev)

        def apply(self, ev: Event) -> None:
            assert self.world is not None and self.path is not None
            assert self.world.enabled(self.path.ws, ev), f"{ev.kind} drawn while not enabled"
            self.path.note = ""
            nxt = [p for p in self.world.step(self.path, ev) if value(p.cond)]
            assert len(nxt) == 1, "a concrete step took no path or several"
            self.path = nxt[0]
            self.events.append(ev)
            stats.events += 1
            if self.path.note:
                note(f"event {len(self.events)} ({ev.kind}) refused: {self.path.note}")

        # -------------------------------------------------------------- docs/properties.md's events
        @precondition(lambda self: self.can(probe_run))
        @rule(d=dur)
        def run(self, d: int) -> None:
            self.apply(Run(Int(d)))

        @precondition(lambda self: self.can(probe_stop))
        @rule()
        def stop(self) -> None:
            self.apply(Stop())

        @precondition(lambda self: self.can(probe_cont))
        @rule()
        def cont(self) -> None:
            self.apply(Cont())

        @precondition(lambda self: self.can(probe_migrate))
        @rule(dst=st.integers(0, env.nhosts - 1), p_save=phase, p_transfer=phase,
              p_resume=phase)
        def migrate(self, dst: int, p_save: int, p_transfer: int, p_resume: int) -> None:
            self.apply(Migrate(dst, Int(p_save), Int(p_transfer), Int(p_resume)))

        @precondition(lambda self: self.can(probe_migrate_paused))
        @rule(dst=st.integers(0, env.nhosts - 1), p_save=phase, p_transfer=phase,
              p_resume=phase)
        def migrate_paused(self, dst: int, p_save: int, p_transfer: int, p_resume: int) -> None:
            """A running guest's migration into a destination started paused (-S)."""
            self.apply(Migrate(dst, Int(p_save), Int(p_transfer), Int(p_resume), paused=True))

        @precondition(lambda self: self.can(probe_fail))
        @rule(p_save=phase, p_cancel=phase)
        def migrate_fail(self, p_save: int, p_cancel: int) -> None:
            self.apply(MigrateFail(Int(p_save), Int(p_cancel)))

        @precondition(lambda self: self.can(probe_save))
        @rule(target=snapshots, name=st.sampled_from(env.slots), p_ram=phase)
        def savevm(self, name: str, p_ram: int) -> str:
            self.apply(SaveVM(name, Int(p_ram)))
            return name

        @precondition(lambda self: self.path is not None
                      and any(self.can(LoadVM(n, zero)) for n in self.path.ws.snapshots))
        @rule(name=snapshots, p_load=phase)
        def loadvm(self, name: str, p_load: int) -> None:
            self.apply(LoadVM(name, Int(p_load)))

        @precondition(lambda self: self.can(probe_read))
        @rule(cpu=st.integers(0, env.ncpus - 1))
        def read(self, cpu: int) -> None:
            self.apply(Read(cpu))

        @precondition(lambda self: self.can(Write(0, U64(0))))
        @rule(cpu=st.integers(0, env.ncpus - 1), tb=draws.initial(env))
        def write(self, cpu: int, tb: int) -> None:
            """The guest writes a vCPU's TB (where the rule set's machine allows it)."""
            self.apply(Write(cpu, U64(tb)))

        # -------------------------------------------------------------- the property
        @invariant()
        def property_holds(self) -> None:
            if self.path is None:
                return
            new = self.path.checks[self.seen:]
            self.seen = len(self.path.checks)
            for step, chk in new:
                if chk.prop == prop and not value(chk.ok):
                    stats.found()
                    msg = explain(prop, step, chk, self.events)
                    note(msg)
                    assert self.draw is not None
                    raise PropertyViolated(msg, self.draw, self.events, step, chk)

    TimebaseMachine.__name__ = TimebaseMachine.__qualname__ = "TimebaseMachine"
    return TimebaseMachine

