"""After Hypothesis's shrinker (or a random run): drop the events a violation does not need,
then make its numbers plain.

Hypothesis shrinks toward fewer steps *and* smaller values, and stops in a local minimum: under
KVM-HV every ``cont`` rounds the offset up to 2**24 ticks, so a shrunk example may keep a few
stop/cont pairs that let a 1 ns pause show instead of a longer one. Deleting events (one, or an
adjacent pair) and keeping the values is a cheap pass on the concrete engine that removes them;
each candidate must still have every event enabled and still violate the property.

A random run's numbers are arbitrary (a phase of 2414290676368 ns). ``simplify`` lowers each
one, in turn, to the envelope's lowest value, to 0, or to the number cut to one or two
significant digits, and keeps the change when the violation persists: what is left is what
the bug needs, and a reader sees 2000000000000 ns where it was.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import Int
from tbcheck.model.events import Event
from tbcheck.proofs.concrete import NotEnabled
from tbcheck.proofs.concrete import run as concrete_run
from tbcheck.proofs.draws import HostDraw, ParamDraw
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.properties.monitor import Check


@dataclass
class Violation:
    """A violation: the world's constants, the events, and the first failing check."""

    draw: ParamDraw
    events: list[Event]
    step: int  # the event (1-based; 0 is boot) whose check failed
    check: Check


def first_violation(rules: type[RuleSet], env: Envelope, draw: ParamDraw, events: list[Event],
                    prop: str) -> Violation | None:
    """The first failing check of ``prop`` when the concrete engine runs ``events``."""
    try:
        trace = concrete_run(rules, draw.params(), events, tolerances(rules, env, draw.params()),
                             strict=True)
    except NotEnabled:
        return None
    bad = trace.violations(prop)
    return Violation(draw, list(events), bad[0][0], bad[0][1]) if bad else None


def minimize(rules: type[RuleSet], env: Envelope, cx: Violation, prop: str
             ) -> Violation:
    """Greedily delete adjacent pairs, then single events, while the violation persists (the
    events after the failing one are dropped first); then ``simplify`` the numbers."""
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
    return simplify(rules, env, best, prop)


def _plainer(x: int, lo: int, also: tuple[int, ...] = ()) -> list[int]:
    """Plainer values than ``x`` within ``lo..x`` (``also`` first, if in range), plainest first;
    none when ``x`` is already one of ``also`` (a host at the boot host's frequency)."""
    if x in also:
        return []
    cuts = [x // 10**k * 10**k for k in (max(0, len(str(x)) - d) for d in (1, 2))]
    return [c for c in dict.fromkeys((*also, lo, 0, *cuts)) if lo <= c and c != x
            and (c < x or c in also)]


def _numbers(cx: Violation, env: Envelope) -> list[tuple[int, int, tuple[int, ...]]]:
    """Every number of a counterexample, flat: (value, lowest allowed, preferred values). Under
    ``same_frequency`` the hosts' frequency is one number (the boot host's), lowered for all."""
    boot_f = cx.draw.hosts[0].freq
    out = []
    for i, h in enumerate(cx.draw.hosts):
        if not (i and env.same_frequency):
            out.append((h.freq, env.fmin_hz, (boot_f,) if i else ()))
        out += [(h.counter0, 0, ()), (h.e_skew, 0, ()), (h.mono0, 0, ())]
    out += [(cx.draw.realtime0, 0, ()), (cx.draw.tb0, 0, ())]
    for e in cx.events:
        out += [(int(getattr(e, f.name).v), 0, ()) for f in fields(e)
                if isinstance(getattr(e, f.name), Int)]
    return out


def _rebuilt(cx: Violation, values: list[int], same_frequency: bool = False
             ) -> tuple[ParamDraw, list[Event]]:
    it = iter(values)
    hosts: list[HostDraw] = []
    for i, old in enumerate(cx.draw.hosts):
        f = hosts[0].freq if i and same_frequency else next(it)
        hosts.append(HostDraw(f, next(it), next(it), next(it), old.scales))
    draw = ParamDraw(tuple(hosts), next(it), next(it), cx.draw.ncpus, cx.draw.frac_bits)
    events = [replace(e, **{f.name: Int(next(it)) for f in fields(e)
                            if isinstance(getattr(e, f.name), Int)}) for e in cx.events]
    return draw, events


def simplify(rules: type[RuleSet], env: Envelope, cx: Violation, prop: str,
             tries: int = 400) -> Violation:
    """Lower each number while the violation persists, at most ``tries`` concrete runs."""
    best, i = cx, 0
    while tries > 0:
        flat = _numbers(best, env)
        if i >= len(flat):
            break
        x, lo, also = flat[i]
        for c in _plainer(x, lo, also)[:tries]:
            tries -= 1
            values = [v for v, _, _ in flat]
            values[i] = c
            found = first_violation(rules, env, *_rebuilt(best, values, env.same_frequency),
                                    prop)
            if found is not None:  # an earlier failure drops the events after it
                found.events = found.events[:found.step]
                best = found
                break
        i += 1
    return best
