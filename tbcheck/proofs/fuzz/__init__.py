"""Fuzzing the one model with Hypothesis state machines (issue 4).

``fuzz(rules, prop, env)`` searches for a violation of one property by one rule set and shrinks
it; ``replay`` turns a counterexample into a timeline, JSON and a runnable reproduction.
"""

from tbcheck.proofs.draws import ParamDraw
from tbcheck.proofs.fuzz.machine import PropertyViolated, machine_class
from tbcheck.proofs.fuzz.runner import PROFILES, Outcome, fuzz

__all__ = ["PROFILES", "Outcome", "ParamDraw", "PropertyViolated", "fuzz", "machine_class"]
