"""``tbcheck validate``: check a trace recorded from real QEMU against the properties and,
with ``--variant``/``--variant-file``, against a rule set's predictions (docs/validate.md).

Exit status: 0 when it passes, 1 when a property or a read does not, 2 for a malformed or
truncated trace or other bad input.
"""

from __future__ import annotations

import argparse
import json
import sys

from tbcheck.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("trace", metavar="TRACE", help="trace file written by tbcheck record")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--variant", metavar="NAME",
                       help="also check that this built-in rule set predicts every read "
                       "(tbcheck list shows them)")
    which.add_argument("--variant-file", metavar="PATH",
                       help="also check that the rule set in this file predicts every read")
    parser.add_argument("--tb-freq", type=int, metavar="HZ",
                        help="the guest's nominal TB frequency, if the trace does not know it")
    parser.add_argument("--json", action="store_true", help="print a JSON document")
    parser.add_argument("--plot", metavar="FILE",
                        help="draw every scenario's reads, with their time windows, minus the "
                        "first read plus true time at f_g (FILE.svg or FILE.png; needs the "
                        "plot extra, pip install 'tbcheck[plot]')")


def run(args: argparse.Namespace) -> int:
    if args.tb_freq is not None and args.tb_freq <= 0:
        raise UsageError("--tb-freq must be positive")
    if args.plot:
        from tbcheck.plot import check_target

        check_target(args.plot)
    from tbcheck.loader import load_builtin, load_rules_file
    from tbcheck.trace import read_trace
    from tbcheck.validate.conformance import conformance
    from tbcheck.validate.judge import judge
    from tbcheck.validate.rebuild import load
    from tbcheck.validate.report import Validation, text, to_json

    rules = None
    if args.variant:
        rules = load_builtin(args.variant)
    elif args.variant_file:
        rules = load_rules_file(args.variant_file)
    info = load(args.trace, read_trace(args.trace), args.tb_freq)
    name = None if rules is None else rules.name or args.variant or args.variant_file
    verdicts = judge(info, rules.offset_granularity if rules else 0)
    conf = None if rules is None else conformance(info, rules, name or "")
    found = Validation(info, name, dict(getattr(rules, "expected", {}) or {}), verdicts, conf)
    if args.json:
        json.dump(to_json(found), sys.stdout, indent=2)
        print()
    else:
        print(text(found))
    if args.plot:
        from tbcheck.plot import plot_validation

        plot_validation(args.plot, found)
    return 0 if found.ok else 1
