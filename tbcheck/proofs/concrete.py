"""The concrete engine: run an event sequence on Python ints and return what the guest saw."""

from __future__ import annotations

from dataclasses import dataclass, field

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import value
from tbcheck.model.events import Event, describe
from tbcheck.model.world import Observation, Params, World
from tbcheck.properties.monitor import Check, Monitor, Tolerances


class NotEnabled(ValueError):
    """The event cannot happen in the VM's current run state (e.g. ``cont`` while running)."""


@dataclass
class Trace:
    events: list[Event]
    observations: list[Observation]
    checks: list[tuple[int, Check]]
    notes: list[str] = field(default_factory=list)

    def violations(self, prop: str | None = None) -> list[tuple[int, Check]]:
        return [(i, c) for i, c in self.checks
                if not value(c.ok) and (prop is None or c.prop == prop)]


def run(rules_cls: type[RuleSet], params: Params, events: list[Event], tol: Tolerances,
        strict: bool = True) -> Trace:
    """Boot, apply ``events`` in order; with ``strict`` an event that is not enabled raises,
    otherwise it is skipped (the fuzzer's choice)."""
    world = World(rules_cls, params, Monitor(tol))
    path = world.boot()
    done: list[Event] = []
    notes: list[str] = []
    for ev in events:
        if not world.enabled(path.ws, ev):
            if strict and ev.kind == "write" and not rules_cls.guest_writes_tb:
                who = rules_cls.name or "this rule set"
                raise NotEnabled(f"{describe(ev, value)}: the machine of {who} does not let "
                                 "the guest write its TB (guest_writes_tb)")
            if strict:
                raise NotEnabled(f"{describe(ev, value)} cannot happen in state {path.ws.vm.state}")
            continue
        path.note = ""
        nxt = [p for p in world.step(path, ev) if value(p.cond)]
        assert len(nxt) == 1, "concrete run took no path or several"
        path = nxt[0]
        done.append(ev)
        notes.append(path.note)
    return Trace(done, path.observations, path.checks, notes)


