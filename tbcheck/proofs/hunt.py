"""The first search for a counterexample: random concrete runs, before any solver query.

The historical bugs are not rare: a running migration between hosts whose clocks disagree, a
snapshot loaded on another host. A random run at the envelope's corners hits them within a few
hundred runs, and a run of eight steps costs about 1.6 ms on Python ints, where the solver's
search of a deep step can spend seconds to learn the same. The runs are those of
``proofs.samples`` (the same steps as the unrolling), with a fixed seed, so a verdict does not
depend on luck from one run to the next. What is found is cut down by the fuzzer's
``minimize`` and then replayed by the checker like any solver model.
"""

from __future__ import annotations

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import value
from tbcheck.model.events import depth_of
from tbcheck.proofs.counterexample import Violation, first_violation, minimize
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.samples import walks

RUNS = 200  # default budget: seeds 0-4 find every built-in bug they find within 191 runs
# (bench/results/hunt.md)
STEPS = 8  # each run is at least this long: a long run hits a bug's few events more often,
# and what is found is cut down to the events it needs before its length is judged


class Disagreement(Exception):
    """A violation seen while stepping that the concrete engine's own run does not show."""


Found = tuple[Violation | None, int]  # the violation, and the runs it took


def hunt(rules: type[RuleSet], prop: str, env: Envelope, runs: int = RUNS, seed: int = 0
         ) -> Found:
    """The first violation of ``prop`` within ``env.depth`` events in ``runs`` random runs
    (of ``STEPS`` steps or more), with the events it does not need removed; and how many runs
    it took (all, when none)."""
    done, spent = 0, -1  # spent: a run whose violation was too long once cut down
    for walk, n in walks(rules, env, runs, max(env.depth, STEPS), seed):
        done += n == 0
        bad = any(c.prop == prop and not value(c.ok) for _, c in walk.path.checks)
        walk.path.checks.clear()
        if not bad or spent == done:
            continue
        found = first_violation(rules, env, walk.draw, list(walk.events), prop)
        if found is None:  # the world's own run disagrees with the stepping: say so loudly
            raise Disagreement(f"a random run's violation of {prop} does not show when its "
                               f"events are run again: the stepping and the concrete run "
                               f"disagree (a tbcheck bug)")
        cut = minimize(rules, env, found, prop)
        if depth_of(cut.events) <= env.depth:
            return cut, done
        spent = done
    return None, done
