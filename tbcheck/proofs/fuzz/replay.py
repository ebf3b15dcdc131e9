"""A fuzz counterexample replayed: the concrete engine's trace of it, and a runnable script.

``replayed`` runs the events through ``proofs.concrete.run`` itself, whose ``Trace`` is what
every counterexample is shown as (``tbcheck.timeline``): a violation the fuzzer reports that the
concrete engine does not reproduce would be a bug of the tool, and ``confirm`` says so.
"""

from __future__ import annotations

import json

from tbcheck.model.api import RuleSet
from tbcheck.model.codec import events_json
from tbcheck.model.events import Event
from tbcheck.proofs.concrete import Trace
from tbcheck.proofs.concrete import run as concrete_run
from tbcheck.proofs.draws import ParamDraw
from tbcheck.proofs.envelope import Envelope, tolerances


def replayed(rules: type[RuleSet], env: Envelope, draw: ParamDraw, events: list[Event]) -> Trace:
    """The concrete engine's run of ``events`` from ``draw``'s constants, under ``env``."""
    params = draw.params()
    return concrete_run(rules, params, events, tolerances(rules, env, params), strict=True)


def confirm(rules: type[RuleSet], env: Envelope, draw: ParamDraw, events: list[Event],
            prop: str) -> bool:
    """Whether the concrete engine, run on its own, shows the violation too."""
    return bool(replayed(rules, env, draw, events).violations(prop))


def reproduction(rules_ref: str, env: Envelope, draw: ParamDraw, events: list[Event],
                 prop: str) -> str:
    """A self-contained Python script replaying the counterexample on the concrete engine.

    ``rules_ref`` is a built-in name, or ``file:PATH`` for a rule file."""
    if rules_ref.startswith("file:"):
        get = (f"from tbcheck.loader import load_rules_file\n"
               f"rules = load_rules_file({rules_ref[5:]!r})")
    else:
        get = f"from tbcheck.model.registry import builtin\nrules = builtin({rules_ref!r})"
    hosts = ",\n".join(
        f"    HostParams(freq=Int({h.freq}), counter0=U64({h.counter0}), "
        f"skew=Int({draw.realtime0 + h.e_skew}), mono0=Int({h.mono0}), "
        f"scaling=Bool({h.scales}), frac_bits={draw.frac_bits})" for h in draw.hosts)
    evs = ",\n".join(f"    {json.dumps(e)}" for e in events_json(events))
    return "\n".join([
        "from tbcheck.model.codec import events_from_json",
        "from tbcheck.proofs.concrete import run",
        "from tbcheck.model.domain import Bool, Int, U64",
        "from tbcheck.model.world import HostParams, Params",
        "from tbcheck.properties.monitor import Tolerances",
        "from tbcheck.timeline import explain",
        get,
        f"params = Params(hosts=[\n{hosts},\n], tb0=U64({draw.tb0}), ncpus={draw.ncpus})",
        f"events = events_from_json([\n{evs},\n])",
        f"tol = Tolerances(params.f_g, eps_ns={env.eps_ns}, slack={env.slack_ticks}, "
        "granularity=rules.offset_granularity)",
        "trace = run(rules, params, events, tol)",
        f"for step, check in trace.violations({prop!r}):",
        "    print(f'event {step}: {explain(check, params)}')",
    ]).replace("\n\n", "\n")
