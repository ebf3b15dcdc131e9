"""``tbcheck list``: the rule sets and the properties, one line each."""

from __future__ import annotations

import argparse
import json


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args: argparse.Namespace) -> int:
    from tbcheck.model.registry import builtins
    from tbcheck.properties import PROPERTIES

    variants = [{"name": c.name, "summary": c.summary, "source": c.source,
                 "offset_granularity": c.offset_granularity, "assume": c.assume,
                 "expected": c.expected} for c in builtins().values()]
    props = [{"name": p.name, "summary": p.summary} for p in PROPERTIES.values()]
    if args.json:
        print(json.dumps({"variants": variants, "properties": props}, indent=2))
        return 0
    w = max(len(v["name"]) for v in variants + props)
    print("rule sets:")
    for v in variants:
        print(f"  {v['name']:<{w}}  {v['summary']}")
        print(f"  {'':<{w}}  source: {v['source']}")
        if v["offset_granularity"] > 1:
            print(f"  {'':<{w}}  declares offset granularity {v['offset_granularity']} ticks")
        for prop, extra in v["assume"].items():
            print(f"  {'':<{w}}  assumes for {prop}: " +
                  ", ".join(f"{k} = {x}" for k, x in extra.items()))
    print("properties:")
    for p in props:
        print(f"  {p['name']:<{w}}  {p['summary']}")
    return 0
