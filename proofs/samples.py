"""Concrete states of random runs, by control key: the cheap first sieve of invariant candidates.

A candidate false in any state a real run reaches cannot be an invariant, and Python ints say
so in microseconds where the solver takes milliseconds. The runs draw every number from the
envelope (its ends as often as its middle) and every event the step alternatives allow, as the
bounded model checker does; they only prune, so nothing depends on their being thorough.
"""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any

from model.api import RuleSet
from model.domain import Int, value
from model.structure import key
from model.world import Params, Path, World
from proofs.envelope import Envelope
from proofs.fuzz.draws import HostDraw, ParamDraw
from proofs.quantities import Values, quantities
from proofs.unroll import StepVars, alternatives, take, tolerances

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


def random_params(env: Envelope, rng: random.Random) -> Params:
    top = env.max_initial - 1
    shared = _pick(rng, env.fmin_hz, env.fmax_hz)
    base = _pick(rng, 0, top)
    hosts = []
    for _ in range(env.nhosts):
        f = shared if env.same_frequency or rng.random() < 0.5 else _pick(rng, env.fmin_hz,
                                                                           env.fmax_hz)
        hosts.append(HostDraw(f, _pick(rng, 0, top), _pick(rng, 0, env.eps_ns),
                              _pick(rng, 0, top)))
    return ParamDraw(tuple(hosts), base, _pick(rng, 0, top), env.ncpus).params()


Samples = dict[Any, list[tuple[Values, int]]]


def sample(rules: type[RuleSet], env: Envelope, runs: int = 40, depth: int = 8,
           seed: int = 0, route: list[Any] | None = None, out: Samples | None = None
           ) -> Samples:
    """Quantities of the states random runs reach after each step, with the events so far.
    With ``route`` (step alternatives), every run takes those steps, in that order, to reach
    a control state that random runs missed."""
    rng = random.Random(seed)
    alts = alternatives(env)
    out = defaultdict(list) if out is None else out
    for _ in range(runs):
        params = random_params(env, rng)
        world = World(rules, params, tolerances(rules, env, params), record_observations=False)
        path = world.boot()
        _keep(out, world, path, 0)
        for n in range(1, (depth if route is None else len(route)) + 1):
            sv = StepVars([], *(Int(_pick(rng, 0, hi)) for hi in (
                env.max_run_ns, env.max_phase_ns, env.max_phase_ns, env.max_phase_ns)))
            choices = [a for a in alts if world.enabled(path.ws, sv.event(a))]
            if route is not None and route[n - 1] not in choices:
                break
            alt = rng.choice(choices) if route is None else route[n - 1]
            path = next(p for p in take(world, path, sv, alt) if value(p.cond))
            path.checks.clear()
            _keep(out, world, path, n)
    return out


def _keep(out: Samples, world: World, path: Path, n: int) -> None:
    k = key(path.ws)
    if len(out[k]) < PER_KEY:
        out[k].append((quantities(world, path.ws), n))
