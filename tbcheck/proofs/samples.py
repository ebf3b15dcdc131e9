"""Random concrete runs: the cheap first sieve of invariant candidates, and of counterexamples.

A candidate false in any state a real run reaches cannot be an invariant, and Python ints say
so in microseconds where the solver takes milliseconds. The runs draw every number from the
envelope (its ends as often as its middle) and every event the step alternatives allow, as the
bounded model checker does. For the invariant search they only prune, so nothing depends on
their being thorough; ``proofs.hunt`` looks in them for a violation before the solver starts.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import U64, Int, value
from tbcheck.model.events import Event, Run
from tbcheck.model.structure import key
from tbcheck.model.world import Path, World
from tbcheck.proofs.draws import HostDraw, ParamDraw
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.proofs.quantities import Values, quantities
from tbcheck.proofs.unroll import StepVars, alternatives, take
from tbcheck.properties.monitor import Monitor

PER_KEY = 24  # samples kept for each control key


def _pick(rng: random.Random, lo: int, hi: int) -> int:
    r = rng.random()
    if r < 0.2:
        return lo
    if r < 0.35:
        return hi
    if r < 0.6:
        return rng.randint(lo, min(hi, lo + 10**6))
    return rng.randint(lo, hi)


def random_draw(env: Envelope, rng: random.Random) -> ParamDraw:
    """The world's constants, drawn from the envelope (as the fuzzer's ``ParamDraw``, so a
    run found here minimizes and prints like the fuzzer's)."""
    top = env.max_initial - 1
    shared = _pick(rng, env.fmin_hz, env.fmax_hz)
    base = _pick(rng, 0, top)
    hosts = []
    for _ in range(env.nhosts):
        f = shared if env.same_frequency or rng.random() < 0.5 else _pick(rng, env.fmin_hz,
                                                                           env.fmax_hz)
        fixed = env.host_scales()
        hosts.append(HostDraw(f, _pick(rng, 0, top), _pick(rng, 0, env.eps_ns),
                              _pick(rng, 0, top), rng.random() < 0.5 if fixed is None else fixed))
    return ParamDraw(tuple(hosts), base, _pick(rng, 0, top), env.ncpus, env.frac_bits)


@dataclass
class Walk:
    """One random run: its constants, the world, and (after each step) the path it is on and
    the events so far, each step as the unrolling takes it (the event, then a run)."""

    draw: ParamDraw
    world: World
    path: Path
    events: list[Event] = field(default_factory=list)


def walks(rules: type[RuleSet], env: Envelope, runs: int, depth: int, seed: int,
          route: list[Any] | None = None) -> Iterator[tuple[Walk, int]]:
    """``runs`` random runs of ``depth`` steps (or along ``route``), yielding after boot
    (step 0) and after each step; the caller reads, then clears, ``walk.path.checks``."""
    rng = random.Random(seed)
    alts = alternatives(env, rules.guest_writes_tb)
    for _ in range(runs):
        draw = random_draw(env.drawn_for(rules), rng)
        params = draw.params()
        world = World(rules, params, Monitor(tolerances(rules, env, params)),
                      record_observations=False)
        w = Walk(draw, world, world.boot())
        yield w, 0
        for n in range(1, (depth if route is None else len(route)) + 1):
            sv = StepVars([], *(Int(_pick(rng, 0, hi)) for hi in (
                env.max_run_ns, env.max_phase_ns, env.max_phase_ns, env.max_phase_ns)))
            if rules.guest_writes_tb:  # drawn only then: the other rule sets' runs, and the
                # invariant candidates their samples seed, stay as they were
                sv.w = U64(_pick(rng, 0, env.max_initial - 1))
            choices = [a for a in alts if world.enabled(w.path.ws, sv.event(a))]
            if route is not None and route[n - 1] not in choices:
                break
            alt = rng.choice(choices) if route is None else route[n - 1]
            w.path = next(p for p in take(world, w.path, sv, alt) if value(p.cond))
            w.events += ([] if alt[0] == "run" else [sv.event(alt)]) + [Run(sv.rest(alt))]
            yield w, n


Samples = dict[Any, list[tuple[Values, int]]]


def sample(rules: type[RuleSet], env: Envelope, runs: int = 40, depth: int = 8,
           seed: int = 0, route: list[Any] | None = None, out: Samples | None = None
           ) -> Samples:
    """Quantities of the states random runs reach after each step, with the events so far.
    With ``route`` (step alternatives), every run takes those steps, in that order, to reach
    a control state that random runs missed."""
    out = defaultdict(list) if out is None else out
    for w, n in walks(rules, env, runs, depth, seed, route):
        w.path.checks.clear()
        _keep(out, w.world, w.path, n)
    return out


def _keep(out: Samples, world: World, path: Path, n: int) -> None:
    k = key(path.ws)
    if len(out[k]) < PER_KEY:
        out[k].append((quantities(world, path.ws), n))
