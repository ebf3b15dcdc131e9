"""The envelope (docs/properties.md): the ranges every symbolic parameter ranges over."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from tbcheck.properties.monitor import Tolerances

if TYPE_CHECKING:
    from tbcheck.model.api import RuleSet
    from tbcheck.model.world import Params

NS_PER_S = 10**9
SCALING = {"any": "each host may or may not scale its counter for a guest",
           "all": "every host can scale its counter for a guest",
           "none": "no host can scale its counter for a guest"}


@dataclass(frozen=True)
class Envelope:
    fmin_hz: int = 10**6
    fmax_hz: int = 10**10
    eps_ns: int = 10**6  # |s_h - s_k| <= eps for every two hosts' realtime clocks
    max_run_ns: int = 86_400 * NS_PER_S  # each run(d) up to one day
    max_phase_ns: int = 3_600 * NS_PER_S  # each migration or snapshot phase up to one hour
    max_initial: int = 2**62  # initial counters, TB and clocks below this (no wrap in horizon)
    ncpus: int = 2
    nhosts: int = 3
    depth: int = 8
    same_frequency: bool = False
    scaling: str = "any"  # hosts with counter scaling: "any" (each host symbolic), "all", "none"
    frac_bits: int = 48  # the scaling ratio's fraction bits: 48 (Intel VMX) or 32 (AMD SVM)
    slots: tuple[str, ...] = ("s1",)
    slack_ticks: int = 2  # rounding allowed where a frequency conversion rounds
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    def validate(self) -> None:
        """Absurd parameters are refused with a message naming the culprit."""
        from tbcheck.errors import UsageError

        checks = [
            (1 <= self.fmin_hz <= self.fmax_hz,
             f"--fmin {self.fmin_hz} / --fmax {self.fmax_hz}: need 1 <= fmin <= fmax"),
            (self.fmax_hz < 2**63, f"--fmax {self.fmax_hz}: below 2**63 Hz"),
            (0 <= self.eps_ns < 2**40, f"--eps {self.eps_ns}: between 0 and 2**40 ns"),
            (0 <= self.max_run_ns < 2**55, f"--max-run {self.max_run_ns}: between 0 and 2**55 ns"),
            (0 <= self.max_phase_ns < 2**55,
             f"--max-phase {self.max_phase_ns}: between 0 and 2**55 ns"),
            (2 <= self.ncpus <= 8, f"--vcpus {self.ncpus}: between 2 and 8"),
            (1 <= self.nhosts <= 6, f"--hosts {self.nhosts}: between 1 and 6"),
            (1 <= self.depth <= 16, f"--depth {self.depth}: between 1 and 16"),
            (0 <= self.slack_ticks < 2**32, f"--slack {self.slack_ticks}: between 0 and 2**32"),
            (1 <= len(self.slots) <= 3, "snapshot slots: between 1 and 3"),
            (self.scaling in SCALING, f"--scaling {self.scaling}: one of {', '.join(SCALING)}"),
            (self.frac_bits in (32, 48), f"--frac-bits {self.frac_bits}: 48 (Intel) or 32 (AMD)"),
        ]
        for ok, msg in checks:
            if not ok:
                raise UsageError(msg)

    def describe(self) -> dict[str, Any]:
        d = asdict(self)
        d["slots"] = list(self.slots)
        d["assumptions"] = list(self.assumptions) or self.default_assumptions()
        return d

    def default_assumptions(self) -> list[str]:
        out = ["hosts' realtime clocks agree exactly" if self.eps_ns == 0 else
               f"hosts' realtime clocks agree within {self.eps_ns} ns"]
        out.append("same TB frequency on all hosts" if self.same_frequency
                   else "host TB frequencies may differ")
        if self.scaling != "any" or self.frac_bits != 48:  # the default goes unsaid, as the
            out.append(SCALING[self.scaling]  # frequency range does (the JSON has them all)
                       + f" ({self.frac_bits} fraction bits)")
        return out

    def drawn_for(self, rules: type[RuleSet]) -> Envelope:
        """The envelope as concrete draws take it for ``rules``: a rule set that does not scale
        never reads a host's scaling, so none is drawn for it (no random draw spent on it: its
        random runs and fuzzing stay the same sequences)."""
        return self if rules.scales else replace(self, scaling="none")

    def host_scales(self) -> bool | None:
        """Whether every host scales (True), none does (False), or each may (None)."""
        return {"any": None, "all": True, "none": False}[self.scaling]


def tolerances(rules: type[RuleSet], env: Envelope, params: Params) -> Tolerances:
    """How both engines judge a rule set within ``env``: the envelope's eps and slack, the
    rule set's declared offset granularity, the boot host's frequency."""
    return Tolerances(params.f_g, env.eps_ns, env.slack_ticks, rules.offset_granularity)
