"""The concrete world a command uses when the user gives no numbers: three 512 MHz hosts."""

from __future__ import annotations

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import U64, Int
from tbcheck.model.world import HostParams, Params
from tbcheck.properties.monitor import Tolerances

NOMINAL_HZ = 512_000_000  # sPAPR's TB frequency
REALTIME0 = 1_764_000_000 * 10**9  # a CLOCK_REALTIME of late 2025, ns


def concrete_params(freqs: list[int] | None = None, skews: list[int] | None = None,
                    counters: list[int] | None = None, tb0: int = 0, ncpus: int = 2) -> Params:
    freqs = freqs or [NOMINAL_HZ] * 3
    n = len(freqs)
    skews = skews or [0] * n
    counters = counters or [10**12 * (i + 1) for i in range(n)]
    hosts = [HostParams(Int(f), U64(c), Int(REALTIME0 + s), Int(10**13 * (i + 1)))
             for i, (f, s, c) in enumerate(zip(freqs, skews, counters, strict=True))]
    return Params(hosts, U64(tb0), ncpus)


def tolerances_for(rules: type[RuleSet], params: Params, eps_ns: int = 10**6,
                   slack: int = 2) -> Tolerances:
    return Tolerances(params.f_g, eps_ns, slack, rules.offset_granularity)
