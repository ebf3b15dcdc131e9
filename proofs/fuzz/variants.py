"""Which rule sets to fuzz: built-in names, or rule files (through ``tbcheck.loader`` once it
exists, so the fuzzer accepts exactly what ``prove`` accepts)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from model.api import RuleSet
from tbcheck.errors import UsageError


def builtin(name: str) -> type[RuleSet]:
    from model.registry import BUILTIN_MODULES
    from model.registry import builtin as get

    if name not in BUILTIN_MODULES:
        raise UsageError(f"unknown variant {name!r}; choose from: {', '.join(BUILTIN_MODULES)}")
    return get(name)


def load_file(path: str) -> type[RuleSet]:
    """The rule set a file defines. Every failure is a one-line ``UsageError``."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"--variant-file {path!r}: no such file")
    if importlib.util.find_spec("tbcheck.loader") is not None:
        loader = importlib.import_module("tbcheck.loader")
        return loader.load_rules_file(str(p))  # type: ignore[no-any-return]
    return _import_rules(p)


def _import_rules(p: Path) -> type[RuleSet]:
    modname = f"tbcheck_rules_{abs(hash(str(p.resolve())))}"
    spec = importlib.util.spec_from_file_location(modname, p)
    if spec is None or spec.loader is None:
        raise UsageError(f"{p}: not a Python file")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except Exception as exc:  # the user's file: any error is bad input
        sys.modules.pop(modname, None)
        line = getattr(exc, "lineno", None)
        where = f"{p}:{line}" if line else str(p)
        raise UsageError(f"{where}: {type(exc).__name__}: {exc}") from None
    found = [v for v in vars(mod).values() if isinstance(v, type) and issubclass(v, RuleSet)
             and v is not RuleSet and v.__module__ == modname]
    if len(found) != 1:
        raise UsageError(f"{p}: defines {len(found)} RuleSet subclasses, expected exactly one")
    rules = found[0]
    missing = [h for h in RuleSet.REQUIRED_HOOKS if getattr(rules, h) is getattr(RuleSet, h)]
    if missing:
        raise UsageError(f"{p}: {rules.__name__} lacks hook(s) {', '.join(missing)}")
    if not rules.name:
        rules.name = p.stem
    return rules
