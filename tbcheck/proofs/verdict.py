"""A cell's verdict and its counterexample, as the proof passes (``proofs.passes``) build them.

The statuses and the ways a violation is found are string-valued enums: a record's JSON is the
words it always was, and a misspelt status is a name error, not a silent mismatch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import z3

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import U64, Bool, Int, Num, value
from tbcheck.model.events import Event, Run
from tbcheck.model.world import HostParams, Params
from tbcheck.proofs.concrete import Trace, run
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.proofs.unroll import Unrolling


class Status(StrEnum):
    """What a cell's proof concluded."""

    PROVED = "proved"
    VIOLATED = "violated"
    UNKNOWN = "unknown"
    VACUOUS = "vacuous"
    TOOL_ERROR = "tool-error"


class FoundBy(StrEnum):
    """Which pass found a violation (none for any other verdict)."""

    NONE = ""
    RANDOM = "random"
    SOLVER = "solver"
    FUZZ = "fuzz"


@dataclass
class Counterexample:
    params: Params
    events: list[Event]
    trace: Trace
    replayed: bool
    step: int


@dataclass
class Verdict:
    variant: str
    prop: str
    verdict: Status
    depth: int
    unbounded: bool = False
    seconds: float = 0.0
    witnesses: dict[str, Any] = field(default_factory=dict)
    counterexample: Counterexample | None = None
    reason: str = ""
    queries: int = 0
    assumptions: list[str] = field(default_factory=list)
    resources: int = 0  # z3 resource units the cell spent (its budget's measure)
    found_by: FoundBy = FoundBy.NONE  # for a violation (or a counterexample that fails)


def _num(model: z3.ModelRef, x: Num) -> int:
    if not x.symbolic:
        return int(x.v)
    return model.eval(x.reduced().v, model_completion=True).as_long()


def decode(u: Unrolling, model: z3.ModelRef, upto: int) -> tuple[Params, list[Event]]:
    """The concrete parameters and the first ``upto`` steps' events of a solver model."""
    sp = u.sym.params
    hosts = [HostParams(Int(_num(model, h.freq)), U64(_num(model, h.counter0)),
                        Int(_num(model, h.skew)), Int(_num(model, h.mono0)),
                        Bool(bool(value(h.scaling, model))), h.frac_bits)
             for h in sp.hosts]
    params = Params(hosts, U64(_num(model, sp.tb0)), sp.ncpus)
    events: list[Event] = []
    for sv in u.sym.steps[:upto]:
        alt = u.alts[next(j for j, b in enumerate(sv.choice)
                          if z3.is_true(model.eval(b, model_completion=True)))]
        c = type(sv)(sv.choice, *(Int(_num(model, x)) for x in (sv.d, sv.p1, sv.p2, sv.p3)),
                     U64(_num(model, sv.w)))
        if alt[0] != "run":
            events.append(c.event(alt))
        events.append(Run(c.rest(alt)))
    return params, events


def replay(rules: type[RuleSet], env: Envelope, prop: str, params: Params,
           events: list[Event], step: int) -> Counterexample:
    """``events`` run on the concrete engine: whether it shows ``prop`` violated."""
    trace = run(rules, params, events, tolerances(rules, env, params))
    return Counterexample(params, events, trace, bool(trace.violations(prop)), step)


def refuted(u: Unrolling, v: Verdict, model: z3.ModelRef, step: int) -> Verdict:
    """``v`` violated by the solver's ``model`` (a violation at ``step``) if its replay shows
    the violation; a tool error if the two engines disagree."""
    params, events = decode(u, model, step)
    cx = replay(u.rules, u.env, v.prop, params, events, step)
    v.counterexample, v.found_by = cx, FoundBy.SOLVER
    if cx.replayed:
        v.verdict = Status.VIOLATED
    else:
        v.verdict = Status.TOOL_ERROR
        v.reason = ("the solver's counterexample does not replay in the concrete engine: "
                    "the two engines disagree (a tbcheck bug)")
    return v
