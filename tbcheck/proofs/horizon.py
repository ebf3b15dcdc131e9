"""How far an unbounded proof reaches: any number of events, within a time no counter outlives.

An induction over events cannot speak of "all time": a 64-bit counter at 10 GHz wraps after 58
years, and a rule that adds the hosts' clock disagreement at every migration lets the TB run
ahead by ``eps * f`` per event. The induction therefore carries a bound that grows with true
time ``t`` and the number of events ``n`` so far, ``B + R*t + E*n`` (``B`` the envelope's
initial values plus one disagreement, ``R`` the fastest counter in ticks per ns, ``E`` what one
event may add beyond that), and holds for every event that starts before ``t_max`` and is among
the first ``n_max`` events, where the bound stays below 2**63.
"""

from __future__ import annotations

from dataclasses import dataclass

from tbcheck.model.domain import Int
from tbcheck.proofs.envelope import NS_PER_S, Envelope

N_MAX = 1 << 32  # events
ROUNDING = 64  # ticks an event may gain from the floors of its conversions (a few each)
NS_PER_YEAR = 365 * 86_400 * NS_PER_S


@dataclass(frozen=True)
class Horizon:
    base: int  # B
    rate: int  # R, ticks per ns (at least 1: the clocks count ns)
    per_event: int  # E
    n_max: int
    t_max: int  # ns: the last instant at which an event may start

    def growth(self, t: Int, n: Int) -> Int:
        return t * self.rate + n * self.per_event + self.base  # type: ignore[return-value]

    def describe(self) -> str:
        years = self.t_max / NS_PER_YEAR
        return (f"any number of events (up to 2**{self.n_max.bit_length() - 1}) starting within "
                f"{years:.1f} years of boot")


def horizon(env: Envelope, granularity: int) -> Horizon | None:
    """The horizon of ``env``, or None when its numbers leave no room below 2**63."""
    rate = max(1, -(-env.fmax_hz // NS_PER_S))
    base = env.max_initial + rate * env.eps_ns
    per_event = rate * (env.eps_ns + 1) + granularity + env.slack_ticks + ROUNDING
    step = env.max_run_ns + 3 * env.max_phase_ns
    room = (1 << 63) - 1 - base - per_event * N_MAX
    t_max = room // rate - step
    return Horizon(base, rate, per_event, N_MAX, t_max) if t_max > 0 else None
