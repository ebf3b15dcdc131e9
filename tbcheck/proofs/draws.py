"""What the fuzzer draws: plain integers within the envelope, and the ``Params`` built from them.

Every draw is one bounded integer (or a bool), so Hypothesis shrinks each toward zero: durations
toward 0 ns, a host's frequency toward "same as the boot host" and the slowest counter, clock
skews toward agreement. Frequencies, skews and phases hit the envelope's edges half the time.
The realtime clocks are laid out as the symbolic engine lays them out (``proofs.unroll.symbols``):
one base ``realtime0`` plus a per-host ``e_h`` in ``[0, eps]``, so ``|s_h - s_k| <= eps`` holds by
construction and a fuzzer counterexample maps onto the SMT engine's variables one to one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from hypothesis import strategies as st

from tbcheck.model.domain import U64, Bool, Int
from tbcheck.model.world import HostParams, Params
from tbcheck.proofs.envelope import Envelope


@dataclass(frozen=True)
class HostDraw:
    """One host as drawn: ``freq`` is already resolved (the boot host's when not ``differs``)."""

    freq: int
    counter0: int
    e_skew: int  # the realtime clock reads t + realtime0 + e_skew
    mono0: int
    scales: bool = False  # the host's hardware can scale a guest's counter


@dataclass(frozen=True)
class ParamDraw:
    """The world's constants as plain ints: what a counterexample prints and replays."""

    hosts: tuple[HostDraw, ...]
    realtime0: int
    tb0: int
    ncpus: int
    frac_bits: int = 48  # the scaling ratio's format, the envelope's

    def params(self) -> Params:
        """The concrete engine's ``Params`` (same types as the symbolic engine's symbols)."""
        hosts = [HostParams(Int(h.freq), U64(h.counter0), Int(self.realtime0 + h.e_skew),
                            Int(h.mono0), Bool(h.scales), self.frac_bits) for h in self.hosts]
        return Params(hosts, U64(self.tb0), self.ncpus)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @staticmethod
    def from_json(d: dict[str, Any]) -> ParamDraw:
        return ParamDraw(tuple(HostDraw(**h) for h in d["hosts"]), d["realtime0"], d["tb0"],
                         d["ncpus"], d.get("frac_bits", 48))


def edgy(lo: int, hi: int, edges: tuple[int, ...]) -> st.SearchStrategy[int]:
    """An integer in ``lo..hi`` that is one of ``edges`` half of the time (the first edge is
    where it shrinks to). The bugs live at the envelope's corners: clocks exactly ``eps`` apart,
    the slowest or fastest counter, phases of 0 ns; a uniform draw almost never hits them."""
    return st.one_of(st.sampled_from(edges), st.integers(lo, hi))


def initial(env: Envelope) -> st.SearchStrategy[int]:
    """An initial counter, clock or TB: below ``2**62`` by default (no wrap in the horizon)."""
    return st.integers(0, env.max_initial - 1)


def run_ns(env: Envelope) -> st.SearchStrategy[int]:
    return st.integers(0, env.max_run_ns)


def phase_ns(env: Envelope) -> st.SearchStrategy[int]:
    return edgy(0, env.max_phase_ns, (0,))


def freq(env: Envelope) -> st.SearchStrategy[int]:
    return edgy(env.fmin_hz, env.fmax_hz, (env.fmin_hz, env.fmax_hz))


def skew(env: Envelope) -> st.SearchStrategy[int]:
    """A host's realtime clock's offset from the base, ``0..eps``."""
    return edgy(0, env.eps_ns, (0, env.eps_ns))


def differs(env: Envelope) -> st.SearchStrategy[bool]:
    """Whether a host's counter runs at its own frequency (False shrinks to equal frequencies)."""
    return st.just(False) if env.same_frequency else st.booleans()


def scales(env: Envelope) -> st.SearchStrategy[bool]:
    """Whether a host can scale a guest's counter (the envelope's, else either: shrinks to no)."""
    fixed = env.host_scales()
    return st.booleans() if fixed is None else st.just(fixed)


def hosts(env: Envelope) -> st.SearchStrategy[list[tuple[bool, int, int, int, int, bool]]]:
    """Per host after the boot host: (differs, freq, counter0, e_skew, mono0, scales)."""
    five = st.tuples(differs(env), freq(env), initial(env), skew(env), initial(env))
    fixed = env.host_scales()  # fixed: no draw at all, so the other draws stay as they were
    one = five.map(lambda t: (*t, fixed)) if fixed is not None else st.tuples(
        differs(env), freq(env), initial(env), skew(env), initial(env), scales(env))
    return st.lists(one, min_size=env.nhosts - 1, max_size=env.nhosts - 1)


def resolve(env: Envelope, f0: int, c0: int, e0: int, m0: int,
            others: list[tuple[bool, int, int, int, int, bool]], realtime0: int,
            tb0: int) -> ParamDraw:
    """Put the drawn integers together; a host that does not differ runs at the boot host's.
    The boot host scales only where the envelope says all do (the guest's rate is its own)."""
    hs = [HostDraw(f0, c0, e0, m0, env.host_scales() is True)]
    hs += [HostDraw(f if d else f0, c, e, m, s) for d, f, c, e, m, s in others]
    return ParamDraw(tuple(hs), realtime0, tb0, env.ncpus, env.frac_bits)


def params(env: Envelope) -> st.SearchStrategy[ParamDraw]:
    """The world's constants in one draw (for plain ``@given`` tests of the engines)."""
    return st.builds(lambda f0, c0, e0, m0, others, r0, tb0: resolve(
        env, f0, c0, e0, m0, others, r0, tb0), freq(env), initial(env),
        skew(env), initial(env), hosts(env), initial(env), initial(env))


def events(env: Envelope, max_len: int) -> st.SearchStrategy[list[Any]]:
    """Event sequences of docs/properties.md's kinds; some may not be enabled where they fall (the
    concrete engine's ``strict=False`` skips those)."""
    from tbcheck.model.domain import U64
    from tbcheck.model.events import (
        Cont,
        LoadVM,
        Migrate,
        MigrateFail,
        Read,
        Run,
        SaveVM,
        Stop,
        Write,
    )

    def i(s: st.SearchStrategy[int]) -> st.SearchStrategy[Int]:
        return s.map(Int)

    ph, slot = i(phase_ns(env)), st.sampled_from(env.slots)
    one = st.one_of(
        st.builds(Run, i(run_ns(env))), st.just(Stop()), st.just(Cont()),
        st.builds(Migrate, st.integers(0, env.nhosts - 1), ph, ph, ph, st.booleans()),
        st.builds(MigrateFail, ph, ph), st.builds(SaveVM, slot, ph),
        st.builds(LoadVM, slot, ph), st.builds(Read, st.integers(0, env.ncpus - 1)),
        st.builds(Write, st.integers(0, env.ncpus - 1), initial(env).map(U64)))
    return st.lists(one, max_size=max_len)
