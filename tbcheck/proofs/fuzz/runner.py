"""Run the state machine for one rule set and one property, and say what it found.

Reproducibility: every run has a seed (``@seed``; drawn and reported when not given), or is
derandomized (profile ``ci``). Hypothesis's ``seed`` does not switch the example database off for
state machines, so a failure found once lands in ``.hypothesis/`` and the next run replays it
first. Each (rule set, property, envelope) has its own database key and its own random stream.

Hypothesis also draws, now and then, integer constants it finds in the source of the local
modules loaded (a rule file's among them: a good source of edge values). ``fuzz`` loads the
model's modules before it starts, so a run is a function of the seed, the options and the rule
files loaded; with the default database, also of the failures kept from earlier runs.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import random
import time
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, Verbosity, seed, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test
from hypothesis.statistics import collector

from tbcheck.model.api import RuleSet
from tbcheck.proofs.counterexample import Violation, minimize
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.fuzz.machine import PropertyViolated, Stats, machine_class

#: Settings profiles: ``ci`` is small and derandomized (no database: Hypothesis ties
#: derandomize to database=None), ``dev`` searches longer and keeps failures in the database.
PROFILES: dict[str, dict[str, Any]] = {
    "ci": {"max_examples": 200, "derandomize": True, "stateful_step_count": 20},
    "dev": {"max_examples": 2000, "derandomize": False, "stateful_step_count": 30},
}

DEFAULT_DB = "default"  # the database argument meaning ".hypothesis/examples in the cwd"


@dataclass
class FuzzOutcome:
    """What one fuzzing run found. ``verdict``: "violated", "not found" or "error"."""

    variant: str
    prop: str
    verdict: str
    examples: int  # examples until the first violation, or all examples run
    total_examples: int  # including database replay and shrinking
    seconds: float
    seconds_to_find: float | None = None
    seed: int | None = None
    violation: Violation | None = None  # shrunk, then minimized
    shrunk_events: int = 0  # events of Hypothesis's shrunk example, before ``minimize``
    events_run: int = 0  # events applied over all examples
    error: str = ""
    notes: list[str] = field(default_factory=list)
    valid_examples: int | None = None  # examples Hypothesis counts against max_examples

    @property
    def examples_per_s(self) -> float:
        return self.total_examples / self.seconds if self.seconds > 0 else 0.0


class _Valid:
    """The examples Hypothesis counts against ``max_examples`` (its own statistics, which also
    drive ``pytest --hypothesis-show-statistics``): it runs more than asked, discarding those
    whose draw was rejected or overran its budget, and replays kept failures first. ``valid``
    stays None where the statistics do not have the expected form (an untested Hypothesis)."""

    def __init__(self) -> None:
        self.valid: int | None = None

    def __call__(self, stats: Any) -> None:
        try:
            cases = [tc for phase in ("reuse-phase", "generate-phase")
                     for tc in stats.get(phase, {}).get("test-cases", [])]
            self.valid = sum(tc["status"] in ("valid", "interesting") for tc in cases)
        except (AttributeError, KeyError, TypeError):
            self.valid = None


def make_settings(profile: str, examples: int | None, database: Any, steps: int | None,
                  shrink: bool = True) -> settings:
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}")
    p = dict(PROFILES[profile])
    if examples is not None:
        p["max_examples"] = examples
    if steps is not None:
        p["stateful_step_count"] = steps
    if not p["derandomize"]:
        if database == DEFAULT_DB:
            p["database"] = DirectoryBasedExampleDatabase(".hypothesis/examples")
        elif database is None or isinstance(database, ExampleDatabase):
            p["database"] = database
        else:
            p["database"] = DirectoryBasedExampleDatabase(str(database))
    return settings(deadline=None, verbosity=Verbosity.quiet, report_multiple_bugs=False,
                    print_blob=False, suppress_health_check=list(HealthCheck),
                    phases=[ph for ph in Phase if ph is not Phase.explain
                            and (shrink or ph is not Phase.shrink)], **p)


def database_key(rules: type[RuleSet], prop: str, env: Envelope) -> bytes:
    """Distinct per rule set (its source, so an edited rule file starts afresh), property and
    envelope: a replayed example always belongs to the same question."""
    try:
        src = inspect.getsource(rules)
    except (OSError, TypeError):
        src = rules.__qualname__
    h = hashlib.sha256()
    for part in (rules.name or rules.__qualname__, src, prop, repr(env)):
        h.update(part.encode() + b"\0")
    return h.digest()


def _preload() -> None:
    """Load every local module a run may import, before Hypothesis first reads its constants."""
    from tbcheck.model.registry import BUILTIN_MODULES

    for mod in (*BUILTIN_MODULES.values(), "tbcheck.proofs.fuzz.replay", "tbcheck.loader"):
        importlib.import_module(mod)


def fuzz(rules: type[RuleSet], prop: str, env: Envelope, *, profile: str = "dev",
         examples: int | None = None, seed_value: int | None = None,
         database: Any = DEFAULT_DB, steps: int | None = None, shrink: bool = True
         ) -> FuzzOutcome:
    """Search for a violation of ``prop`` by ``rules``; shrink it if found (and ``shrink``).
    Hypothesis's explain phase is off: it re-runs the failure hundreds of times to say which
    parts vary, and the timeline says more."""
    _preload()
    stats = Stats()
    cls = machine_class(rules, prop, env, stats)

    def factory() -> RuleBasedStateMachine:
        return cls()

    # Hypothesis hashes a state machine factory into its database key and derandomized seed;
    # this attribute is how it tells parametrized cases apart.
    factory._hypothesis_internal_add_digest = database_key(rules, prop, env)  # type: ignore
    cfg = make_settings(profile, examples, database, steps, shrink)
    if seed_value is None and not cfg.derandomize:
        seed_value = random.SystemRandom().randrange(2**32)
    if seed_value is not None:
        seed(seed_value)(factory)
    name = rules.name or rules.__qualname__
    t0 = stats.t0 = time.perf_counter()
    count = _Valid()
    try:
        with collector.with_value(count):
            run_state_machine_as_test(factory, settings=cfg)
    except PropertyViolated as exc:
        cx = minimize(rules, env, Violation(exc.draw, exc.events, exc.step, exc.check),
                      prop)
        return FuzzOutcome(name, prop, "violated", stats.first_found or stats.examples,
                       stats.examples, time.perf_counter() - t0,
                       stats.first_found_s, seed_value, cx, len(exc.events), stats.events,
                       notes=list(getattr(exc, "__notes__", [])), valid_examples=count.valid)
    except Exception as exc:  # a rule set that crashes (RuleError ...) is a finding too
        return FuzzOutcome(name, prop, "error", stats.examples, stats.examples,
                       time.perf_counter() - t0, None, seed_value, events_run=stats.events,
                       error=f"{type(exc).__name__}: {exc}",
                       notes=list(getattr(exc, "__notes__", [])), valid_examples=count.valid)
    return FuzzOutcome(name, prop, "not found", stats.examples, stats.examples,
                   time.perf_counter() - t0, None, seed_value, events_run=stats.events,
                   valid_examples=count.valid)
