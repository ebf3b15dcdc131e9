"""After Hypothesis's shrinker: drop the events a violation does not need.

Hypothesis shrinks toward fewer steps *and* smaller values, and stops in a local minimum: under
KVM-HV every ``cont`` rounds the offset up to 2**24 ticks, so a shrunk example may keep a few
stop/cont pairs that let a 1 ns pause show instead of a longer one. Deleting events (one, or an
adjacent pair) and keeping the values is a cheap pass on the concrete engine that removes them;
each candidate must still have every event enabled and still violate the property.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.api import RuleSet
from model.concrete import NotEnabled
from model.concrete import run as concrete_run
from model.events import Event
from proofs.envelope import Envelope
from proofs.fuzz.draws import ParamDraw
from proofs.fuzz.machine import tolerances
from properties.monitor import Check


@dataclass
class Counterexample:
    """A violation: the world's constants, the events, and the first failing check."""

    draw: ParamDraw
    events: list[Event]
    step: int  # the event (1-based; 0 is boot) whose check failed
    check: Check


def first_violation(rules: type[RuleSet], env: Envelope, draw: ParamDraw, events: list[Event],
                    prop: str) -> Counterexample | None:
    """The first failing check of ``prop`` when the concrete engine runs ``events``."""
    try:
        trace = concrete_run(rules, draw.params(), events, tolerances(rules, env, draw),
                             strict=True)
    except NotEnabled:
        return None
    bad = trace.violations(prop)
    return Counterexample(draw, list(events), bad[0][0], bad[0][1]) if bad else None


def minimize(rules: type[RuleSet], env: Envelope, cx: Counterexample, prop: str
             ) -> Counterexample:
    """Greedily delete adjacent pairs, then single events, while the violation persists; the
    events after the failing one are dropped first."""
    best = first_violation(rules, env, cx.draw, cx.events[:cx.step], prop) or cx
    changed = True
    while changed:
        changed = False
        for width in (2, 1):
            i = 0
            while i + width <= len(best.events):
                cand = best.events[:i] + best.events[i + width:]
                found = first_violation(rules, env, best.draw, cand, prop)
                if found is not None:
                    best, changed = found, True
                    best.events = best.events[:best.step]
                else:
                    i += 1
    return best
