"""Fuzzing the one model with Hypothesis state machines (issue 4).

``fuzz(rules, prop, env)`` searches for a violation of one property by one rule set and shrinks
it; ``replay`` runs a counterexample on the concrete engine again and writes it as a runnable
reproduction (``tbcheck.timeline`` shows it as every command does).
"""

from tbcheck.proofs.draws import ParamDraw
from tbcheck.proofs.fuzz.machine import PropertyViolated, machine_class
from tbcheck.proofs.fuzz.runner import PROFILES, FuzzOutcome, fuzz

__all__ = ["PROFILES", "FuzzOutcome", "ParamDraw", "PropertyViolated", "fuzz", "machine_class"]
