"""Which rule sets to fuzz: built-in names or rule files, through the shared loader so the fuzzer
accepts exactly what ``prove`` accepts (and refuses it with the same one-line messages)."""

from __future__ import annotations

from tbcheck.model.api import RuleSet


def builtin(name: str) -> type[RuleSet]:
    from tbcheck.loader import load_builtin

    return load_builtin(name)


def load_file(path: str) -> type[RuleSet]:
    """The rule set a file defines; every mistake in it is a one-line ``UsageError``."""
    from tbcheck.loader import load_rules_file

    return load_rules_file(path)
