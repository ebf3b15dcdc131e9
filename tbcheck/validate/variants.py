"""The rule set to check a trace against: a built-in by name, or a user's rule file (both
through the shared loader, so a rule file is checked the same way by every command)."""

from __future__ import annotations

from tbcheck.loader import load_builtin, load_rules_file
from tbcheck.model.api import RuleSet


def builtin(name: str) -> type[RuleSet]:
    return load_builtin(name)


def from_file(path: str) -> type[RuleSet]:
    return load_rules_file(path)


def name_of(rules: type[RuleSet], fallback: str) -> str:
    return rules.name or fallback
