"""Fuzzer findings shared by the test modules (each search runs once per test session)."""

from __future__ import annotations

from functools import cache

from tbcheck.model.registry import builtin
from tbcheck.proofs.counterexample import Violation
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.fuzz import fuzz

ENV = Envelope(slots=("s1", "s2"))


def finding(name: str, prop: str, shrink: bool = True, examples: int = 300) -> Violation:
    """The (shrunk or first) violation the fuzzer finds, ci profile, within ``examples``."""
    return _finding(name, prop, shrink, examples)


@cache
def _finding(name: str, prop: str, shrink: bool, examples: int) -> Violation:
    out = fuzz(builtin(name), prop, ENV, profile="ci", examples=examples, database=None,
               shrink=shrink)
    assert out.verdict == "violated", f"{name}: {prop}: {out.verdict} {out.error}"
    assert out.violation is not None
    return out.violation
