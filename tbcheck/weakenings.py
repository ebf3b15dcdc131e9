"""What a rule set declares that weakens a verdict, and the tolerances each property's checks use.

A rule set may declare an offset granularity (KVM-HV rounds TB offsets up to 2**24 ticks: the
properties that compare TB values then accept that much) and, for a built-in, assumptions per
property (same frequency on all hosts, eps = 0 ...). Each makes a verdict say less than the
property's words, so each is listed beside the verdict wherever it is printed.

Which tolerances a property's checks read is not written down a second time here: it is read
off the one monitor (``properties.monitor``) by running the concrete engine once with
tolerances that record each field the checks read before they are emitted.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from tbcheck.model.api import RuleSet
from tbcheck.properties.monitor import Monitor, Tolerances

FIELDS = ("eps_ns", "slack", "granularity")  # f_g is the guest's, not a tolerance


class _Spy(Tolerances):
    """Tolerances that remember which of their fields were read since the last ``take``."""

    def __getattribute__(self, name: str) -> Any:
        if name in FIELDS:
            object.__getattribute__(self, "log").add(name)
        return object.__getattribute__(self, name)

    def take(self) -> set[str]:
        log = object.__getattribute__(self, "log")
        out = set(log)
        log.clear()
        return out


class _Idle(RuleSet):
    """A rule set that does nothing at its hooks: every event runs, every check is emitted."""

    name = "idle"

    def stop(self, vm: Any, state: str) -> None:
        pass

    def cont(self, vm: Any) -> None:
        pass

    def pre_save(self, vm: Any) -> Any:
        from tbcheck.model.api import Record

        return Record()

    def post_load(self, vm: Any, record: Any) -> None:
        return None


@cache
def tolerances_used() -> dict[str, frozenset[str]]:
    """For each property, the tolerance fields its checks read (from one concrete run through
    every event, each check credited with the fields read since the one before it)."""
    from tbcheck.defaults import concrete_params
    from tbcheck.eventspec import parse
    from tbcheck.model.world import World

    params = concrete_params()
    spy = _Spy(params.f_g, 10**6, 2, 1 << 24)
    object.__setattr__(spy, "log", set())
    used: dict[str, set[str]] = {}

    class Recording(World):
        def _emit(self, path: Any) -> Any:
            inner = super()._emit(path)

            def credit(check: Any) -> None:
                used.setdefault(check.prop, set()).update(spy.take())
                inner(check)
            return credit

    world = Recording(_Idle, params, Monitor(spy))
    path = world.boot()
    for ev in parse("run(1s) stop run(1s) migrate(1, 1ms, 2ms, 3ms) cont run(1s) "
                    "migrate(2, 1ms, 2ms, 3ms) run(1s) migrate-fail(1ms, 2ms) savevm(s1, 5ms) "
                    "run(1s) stop loadvm(s1, 7ms) cont run(1s) loadvm(s1, 7ms) run(1s)"):
        assert world.enabled(path.ws, ev), ev
        path = world.step(path, ev)[0]
    return {p: frozenset(f) for p, f in used.items()}


def weakenings(rules: type[RuleSet], prop: str, use_assumptions: bool) -> list[dict[str, Any]]:
    """What ``rules`` declares that weakens ``prop``'s verdict: its offset granularity where the
    property's checks use it, and (a built-in's) assumptions for the property."""
    out: list[dict[str, Any]] = []
    g = rules.offset_granularity
    if g > 1 and "granularity" in tolerances_used().get(prop, frozenset()):
        out.append({"name": "offset_granularity", "value": g,
                    "says": f"offsets rounded to {_pow2(g)} ticks: a TB compared with the one "
                            f"due may be up to {g - 1} ticks above it"})
    if use_assumptions:
        for key, val in sorted(rules.assume.get(prop, {}).items()):
            out.append({"name": f"assume {key}", "value": val, "says": _assumption(key, val)})
    return out


def _assumption(key: str, val: Any) -> str:
    if key == "same_frequency" and val:
        return "assumes the same TB frequency on all hosts"
    if key == "eps_ns":
        return ("assumes the hosts' realtime clocks agree exactly (eps = 0)" if val == 0 else
                f"assumes the hosts' realtime clocks agree within {val} ns")
    return f"assumes {key} = {val}"


def _pow2(n: int) -> str:
    return f"2^{n.bit_length() - 1}" if n & (n - 1) == 0 else str(n)


def tolerances(prop: str, env: Any, rules: type[RuleSet], f_g: int | None = None
               ) -> dict[str, Any]:
    """The tolerances ``prop``'s checks used in a cell: eps in ns and in ticks (at ``f_g``, or
    over the envelope's frequencies), slack and granularity in ticks; only those it reads."""
    used = tolerances_used().get(prop, frozenset())
    out: dict[str, Any] = {}
    if "eps_ns" in used:
        out["eps_ns"] = env.eps_ns
        if f_g is not None:
            out["eps_ticks"] = env.eps_ns * f_g // 10**9
        else:
            out["eps_ticks"] = [env.eps_ns * env.fmin_hz // 10**9,
                                env.eps_ns * env.fmax_hz // 10**9]
    if "slack" in used:
        out["slack_ticks"] = env.slack_ticks
    if "granularity" in used:
        out["granularity_ticks"] = rules.offset_granularity
    if prop == "guest-frequency":  # part of the property's words: the hardware's own rounding
        out["scaled_rounding"] = (f"ceil(f_g / f_h) + ceil(host ticks / 2^{env.frac_bits}) "
                                  "on a vCPU the rule set scales")
    return out


def tolerances_line(tol: dict[str, Any]) -> str:
    """The tolerances in words, for ``--explain``."""
    if not tol:
        return "exact (no tolerance)"
    parts = []
    if "eps_ns" in tol:
        t = tol["eps_ticks"]
        ticks = f"{t[0]}..{t[1]} ticks over the envelope's f_g" if isinstance(t, list) \
            else f"{t} ticks at f_g"
        parts.append(f"eps {tol['eps_ns']} ns ({ticks})")
    if "slack_ticks" in tol:
        parts.append(f"slack {tol['slack_ticks']} ticks")
    if "granularity_ticks" in tol:
        parts.append(f"granularity {tol['granularity_ticks']} ticks")
    if "scaled_rounding" in tol:
        parts.append(f"scaling {tol['scaled_rounding']}")
    return ", ".join(parts)
