"""Load rule sets: the built-in ones by name, a user's own from a Python file.

A user's file is checked before any verdict depends on it: it must import, define exactly one
``RuleSet`` subclass with every required hook, and survive a smoke run on both engines (a
short concrete scenario through every event, and one symbolic step of each). Any mistake is a
``UsageError`` naming the file (and the line, where there is one): one line, exit status 2.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from pathlib import Path

from tbcheck.errors import UsageError
from tbcheck.model.api import RuleSet
from tbcheck.model.registry import BUILTIN_MODULES, builtin

HOOK_ARITY = {"stop": 2, "cont": 1, "pre_save": 1, "post_load": 2, "setup": 1, "boot": 2,
              "read_tb": 2}


def load_builtin(name: str) -> type[RuleSet]:
    if name not in BUILTIN_MODULES:
        raise UsageError(f"unknown rule set {name!r}; `tbcheck list` shows them")
    cls = builtin(name)
    check_declarations(cls, name)
    return cls


def check_declarations(cls: type[RuleSet], where: str) -> None:
    """``expected`` names properties and says of each an outcome ``tbcheck.gate`` can read;
    ``assume`` names properties and envelope settings."""
    from dataclasses import fields

    from tbcheck.gate import parse
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.properties import property_names

    names = property_names()
    for prop, text in dict(cls.expected).items():
        if prop not in names:
            raise UsageError(f"{where}: expected: unknown property {prop!r}")
        try:
            parse(text)
        except ValueError as exc:
            raise UsageError(f"{where}: expected[{prop!r}]: {exc}") from None
    settings = {f.name for f in fields(Envelope)}
    for prop, extra in dict(cls.assume).items():
        if prop not in names:
            raise UsageError(f"{where}: assume: unknown property {prop!r}")
        bad = [k for k in extra if k not in settings]
        if bad:
            raise UsageError(f"{where}: assume[{prop!r}]: unknown envelope setting(s) "
                             f"{', '.join(bad)}")


def load_rules_file(path: str) -> type[RuleSet]:
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{path}: no such rule file")
    mod_name = f"tbcheck_user_rules_{abs(hash(str(p.resolve())))}"
    spec = importlib.util.spec_from_file_location(mod_name, p)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise UsageError(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - any import-time error is the file's
        raise UsageError(f"{path}:{_line_in(path, exc)}: {type(exc).__name__}: {exc}") from None
    found = [c for c in vars(module).values() if inspect.isclass(c) and issubclass(c, RuleSet)
             and c is not RuleSet and c.__module__ == mod_name]
    if not found:
        raise UsageError(f"{path}: defines no subclass of tbcheck.RuleSet")
    if len(found) > 1:
        names = ", ".join(c.__name__ for c in found)
        raise UsageError(f"{path}: defines several rule sets ({names}); keep one a file")
    cls = found[0]
    if not cls.name:
        cls.name = p.stem.replace("_", "-")
    check_hooks(cls, path)
    check_declarations(cls, path)
    smoke(cls, path)
    return cls


def check_hooks(cls: type[RuleSet], path: str) -> None:
    for hook in RuleSet.REQUIRED_HOOKS:
        if getattr(cls, hook) is getattr(RuleSet, hook):
            raise UsageError(f"{path}: rule set {cls.name} lacks hook {hook}()")
    for hook, arity in HOOK_ARITY.items():
        fn = getattr(cls, hook)
        try:
            inspect.signature(fn).bind(None, *range(arity))
        except TypeError:
            params = len(inspect.signature(fn).parameters) - 1
            raise UsageError(f"{path}: {hook}() takes {params} argument(s) after self; "
                             f"the API passes {arity}") from None


def smoke(cls: type[RuleSet], path: str) -> None:
    """Run the rule set once through every event on both engines, to fail early and clearly."""
    from tbcheck.defaults import concrete_params, tolerances_for
    from tbcheck.model.events import Cont, LoadVM, Migrate, MigrateFail, Run, SaveVM, Stop, Write
    from tbcheck.model.world import RuleError
    from tbcheck.proofs.concrete import run
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.proofs.unroll import unroll

    s = 10**9
    params = concrete_params()
    events = [Run(_i(s)), Stop(), Run(_i(s)), Migrate(1, _i(1), _i(2), _i(3)), Cont(),
              Migrate(2, _i(1), _i(2), _i(3)), MigrateFail(_i(1), _i(2)), SaveVM("a", _i(5)),
              Stop(), LoadVM("a", _i(7)), Cont(), Migrate(0, _i(1), _i(2), _i(3), paused=True),
              Cont(), Run(_i(s))]
    if cls.guest_writes_tb:
        events += [Write(1, _i(7 * s)), Run(_i(s))]
    try:
        run(cls, params, events, tolerances_for(cls, params))
        unroll(cls, Envelope(depth=1, nhosts=2))
    except RuleError as exc:
        raise UsageError(f"{path}: {exc}") from None
    except UsageError:
        raise
    except Exception as exc:  # noqa: BLE001 - a hook's own error, reported at its line
        raise UsageError(f"{path}:{_line_in(path, exc)}: {type(exc).__name__}: {exc}") from None


def _i(n: int):  # noqa: ANN202 - tiny helper
    from tbcheck.model.domain import Int

    return Int(n)


def _line_in(path: str, exc: BaseException) -> int | str:
    """The innermost line of ``path`` in the exception's traceback, or '?'."""
    target = str(Path(path).resolve())
    line: int | str = getattr(exc, "lineno", None) or "?"
    for frame in traceback.extract_tb(exc.__traceback__):
        if str(Path(frame.filename).resolve()) == target:
            line = frame.lineno or line
    return line
