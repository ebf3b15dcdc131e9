"""What a process keeps of one rule set under one envelope, for all the cells it proves.

The unrolling is built when a cell first needs it (or before the cells are forked:
``proofs.bmc.prepare``), the random runs' finding for each property is kept (they are asked
before the unrolling, then again by the pipeline), and the induction finds its invariant once.
Solving adds nothing to an unrolling (each query is pushed and popped or on its own solver).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tbcheck.model.api import RuleSet
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.hunt import Found, hunt
from tbcheck.proofs.induction import SEARCH, Facts, Inductor
from tbcheck.proofs.unroll import Unrolling, unroll

#: where a cell gets its rule set's invariant facts: the run's one search of them
#: (``tbcheck.workers``), given the rule set, the envelope and the search's budget
FactsSource = Callable[[type[RuleSet], Envelope, int], Facts | None]


@dataclass
class Work:
    """A process's work on ``rules`` under ``env``."""

    rules: type[RuleSet]
    env: Envelope
    unrolling: Unrolling | None = None
    hunts: dict[tuple[str, int], Found] = field(default_factory=dict)
    inductors: dict[tuple[int, Any], Inductor] = field(default_factory=dict)

    def unrolled(self) -> Unrolling:
        if self.unrolling is None:
            self.unrolling = unroll(self.rules, self.env)
        return self.unrolling

    def inductor(self, units: int, facts: FactsSource | None = None) -> Inductor:
        """The rule set's induction, its invariant searched for (or fetched) once."""
        if (units, facts) not in self.inductors:
            source = None if facts is None else partial(facts, self.rules, self.env, units)
            self.inductors[units, facts] = Inductor(self.rules, self.env, units or SEARCH,
                                                    source=source)
        return self.inductors[units, facts]

    def hunted(self, prop: str, runs: int) -> Found:
        if (prop, runs) not in self.hunts:
            self.hunts[prop, runs] = hunt(self.rules, prop, self.env, runs)
        return self.hunts[prop, runs]


_WORK: dict[tuple[type[RuleSet], Envelope], Work] = {}


def work(rules: type[RuleSet], env: Envelope) -> Work:
    """The process's work on ``rules`` under ``env``; a process keeps one rule set's."""
    if (rules, env) not in _WORK:
        if any(r is not rules for r, _ in _WORK):
            _WORK.clear()
        _WORK[rules, env] = Work(rules, env)
    return _WORK[rules, env]
