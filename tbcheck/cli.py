"""Command-line entry point: one subcommand a module under tbcheck.commands.

Each subcommand module defines ``add_arguments(parser)`` and ``run(args) -> int``; the modules
import their heavy dependencies (z3, Hypothesis, qemu.qmp) inside ``run`` so start-up stays fast.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

from tbcheck.errors import UsageError

COMMANDS: dict[str, tuple[str, str]] = {
    "list": ("tbcheck.commands.list_cmd", "list the rule sets and properties"),
    "run": ("tbcheck.commands.run_cmd", "run an event sequence concretely and print the trace"),
    "prove": ("tbcheck.commands.prove_cmd", "prove or refute every property (z3, bounded)"),
    "diff": ("tbcheck.commands.diff_cmd", "are two rule sets guest-visibly equal? (z3, bounded)"),
    "fuzz": ("tbcheck.commands.fuzz_cmd", "search for violations with Hypothesis state machines"),
    "record": ("tbcheck.commands.record_cmd", "record a real QEMU guest's timebase over QMP"),
    "validate": ("tbcheck.commands.validate_cmd", "check a recorded trace against the model"),
}


class _Parser(argparse.ArgumentParser):
    """argparse whose errors follow the tool's convention: one line, exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


DESCRIPTION = ("Check how a hypervisor saves and restores a guest's timebase (stop/continue, "
               "migration, snapshots): prove each property of a rule set over a whole 64-bit "
               "envelope, or show a counterexample that replays. The properties, the envelope "
               "and the verdicts: docs/properties.md.")


def build_parser() -> argparse.ArgumentParser:
    from tbcheck import __version__

    parser = _Parser(prog="tbcheck", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"tbcheck {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_module=module)
        importlib.import_module(module).add_arguments(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "_module", None):
            parser.print_help()
            return 2
        return int(importlib.import_module(args._module).run(args))
    except UsageError as exc:
        print(f"tbcheck: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("tbcheck: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`tbcheck list --json | head`): not an error
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def entry() -> None:
    """The ``tbcheck`` command. Python orders sets of strings by a hash it seeds at random in
    each process, and an order that reaches the solver (the order in which terms are built)
    can change what z3 spends on a question, so a verdict that must be a function of its
    inputs runs with one fixed seed: the command starts itself again with PYTHONHASHSEED=0."""
    if os.environ.get("PYTHONHASHSEED") != "0" and sys.executable:
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, "-m", "tbcheck.cli", *sys.argv[1:]])
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
