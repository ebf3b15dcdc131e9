"""The rule set to check a trace against: a built-in by name, or a user's rule file."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from model.api import RuleSet
from tbcheck.errors import UsageError


def builtin(name: str) -> type[RuleSet]:
    from model.registry import BUILTIN_MODULES
    from model.registry import builtin as load

    if name not in BUILTIN_MODULES:
        raise UsageError(f"unknown variant {name!r}; built-in variants: "
                         f"{', '.join(BUILTIN_MODULES)} (or give a rule file with "
                         "--variant-file)")
    return load(name)


def from_file(path: str) -> type[RuleSet]:
    """The ``RuleSet`` subclass a rule file defines. ``tbcheck.loader`` is the shared loader
    once it exists (it checks rule files thoroughly); until then the file is imported here."""
    try:
        from tbcheck.loader import load_rules_file  # type: ignore[import-not-found]
    except ImportError:
        return _import(path)
    return load_rules_file(path)  # type: ignore[no-any-return]


def _import(path: str) -> type[RuleSet]:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"--variant-file: no such file {path!r}")
    name = f"tbcheck_rules_{abs(hash(str(p.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, p)
    if spec is None or spec.loader is None:
        raise UsageError(f"--variant-file: cannot import {path!r} (not a Python file?)")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # a user's file: any error is theirs to fix, in one line
        sys.modules.pop(name, None)
        raise UsageError(f"{path}: {type(exc).__name__}: {exc}".splitlines()[0]) from None
    found = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, RuleSet)
             and v is not RuleSet and v.__module__ == name]
    if len(found) > 1:
        found = [v for v in found if v.__name__ == "Rules"] or found
    if len(found) != 1:
        raise UsageError(f"{path}: expected one RuleSet subclass, found "
                         f"{len(found) or 'none'}" + (f" ({', '.join(v.__name__ for v in found)};"
                                                      " name the one to use Rules)"
                                                      if found else ""))
    rules = found[0]
    missing = [h for h in RuleSet.REQUIRED_HOOKS if getattr(rules, h) is getattr(RuleSet, h)]
    if missing:
        raise UsageError(f"{path}: {rules.__name__} does not define {', '.join(missing)}")
    return rules


def name_of(rules: type[RuleSet], fallback: str) -> str:
    return rules.name or fallback
