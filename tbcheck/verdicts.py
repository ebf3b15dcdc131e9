"""Verdicts as records, and their three renderings: the table, JSON, JUnit XML."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from xml.etree import ElementTree as ET

from tbcheck.eventspec import run_command
from tbcheck.gate import FAIL, PARTIAL, PASS, depth_needed, due, judge, outcome, reached
from tbcheck.model.codec import events_json
from tbcheck.model.domain import value
from tbcheck.proofs.bmc import Verdict
from tbcheck.proofs.envelope import Envelope
from tbcheck.timeline import explain, params_line, render, rows
from tbcheck.weakenings import tolerances, tolerances_line, weakenings


def params_json(params: Any) -> dict[str, Any]:
    return {"hosts": [{"freq_hz": value(h.freq), "counter0": value(h.counter0),
                       "realtime0_ns": value(h.skew), "monotonic0_ns": value(h.mono0),
                       "scaling": value(h.scaling), "frac_bits": h.frac_bits}
                      for h in params.hosts],
            "tb0": value(params.tb0), "ncpus": params.ncpus}


def verdict_record(v: Verdict) -> dict[str, Any]:
    """A verdict as JSON-ready data."""
    rec: dict[str, Any] = {"variant": v.variant, "property": v.prop, "verdict": v.verdict,
                           "depth": v.depth, "unbounded": v.unbounded,
                           "seconds": round(v.seconds, 3), "resources": v.resources,
                           "queries": v.queries,
                           "reason": v.reason, "assumptions": v.assumptions,
                           "found_by": v.found_by or ("solver" if v.counterexample else ""),
                           "counterexample": None}
    w: dict[str, Any] = {"assumptions": v.witnesses.get("assumptions", {})}
    sit = v.witnesses.get("situation")
    if sit is not None:
        w["situation"] = {"reachable": sit["reachable"]}
        if sit["reachable"]:
            w["situation"].update(step=sit["step"], events=events_json(sit["events"]),
                                  params=params_json(sit["params"]))
    rec["witnesses"] = w
    cx = v.counterexample
    if cx is not None:
        bad = cx.trace.violations(v.prop)
        rec["counterexample"] = {
            "params": params_json(cx.params),
            "events": events_json(cx.trace.events),
            "depth": depth_needed(events_json(cx.trace.events)),
            "observations": rows(cx.trace, cx.params, v.prop),
            "replayed": cx.replayed,
            "explanation": explain(bad[0][1], cx.params) if bad else v.reason,
            "timeline": params_line(cx.params) + "\n" + render(cx.trace, cx.params, v.prop),
        }
    rec["reached"] = reached(rec)
    return rec


def cell_record(v: Verdict, rules: Any, kind: str, ref: str) -> dict[str, Any]:
    """A cell's record: the verdict, the rule set's declaration (a built-in's; a user's file
    declares none) and what it declares that weakens the verdict."""
    builtin = kind == "builtin"
    rec = verdict_record(v)
    rec["ref"], rec["kind"] = ref, kind
    rec["declared"] = rules.expected.get(v.prop) if builtin else None
    rec["weakenings"] = weakenings(rules, v.prop, builtin)
    return rec


def replay_facts(rec: dict[str, Any], rules: Any, env: Envelope) -> None:
    """Add to a cell's record the tolerances its checks used and, for a counterexample, the
    ``tbcheck run`` line that replays it, both under the cell's envelope (a built-in's
    assumption may set eps)."""
    builtin = rec.get("kind", "builtin") == "builtin"
    cell = replace(env, **rules.assume.get(rec["property"], {})) if builtin else env
    cx = rec["counterexample"]
    f_g = cx["params"]["hosts"][0]["freq_hz"] if cx else None
    rec["tolerances"] = tolerances(rec["property"], cell, rules, f_g)
    if cx:
        ref = rec.get("ref", rec["variant"])
        cx["command"] = run_command(cx["params"], cx["events"],
                                    variant=ref if builtin else None,
                                    variant_file=None if builtin else ref,
                                    eps_ns=cell.eps_ns, slack=cell.slack_ticks)


def gate(results: list[dict[str, Any]], asked: int, accept_partial: bool = False
         ) -> list[dict[str, Any]]:
    """Judge every cell at depth ``asked`` (``tbcheck.gate``): each record gets what was
    asked, what it reached, what was due and the gate's word; the cells that fail."""
    for r in results:
        r["asked_depth"] = asked
        r["outcome"] = outcome(r, asked)
        r["gate"], r["due"] = judge(r, asked, accept_partial)
    return [r for r in results if r["gate"] == FAIL]


def cell_text(r: dict[str, Any], markers: str = "") -> str:
    """A cell as the table and the progress lines show it: ``proved@3``, ``proved (all)`` ...
    with the weakenings' markers, how it was found, and ``!`` (fails the gate) or ``~`` (a
    partial proof the gate accepted)."""
    every = " (all)" if r.get("unbounded") else ""
    found = " (fuzz)" if r.get("found_by") == "fuzz" else (
        " (wall clock)" if r.get("wall_clock") else "")
    mark = {FAIL: " !", PARTIAL: " ~"}.get(r.get("gate", PASS), "")
    cached = " (cached)" if r.get("cached") else ""
    return r.get("outcome", r["verdict"]) + every + markers + found + cached + mark


def _legend(results: list[dict[str, Any]]) -> tuple[dict[tuple[str, str], str], list[str]]:
    """Each distinct weakening numbered once: the markers of each cell, and the legend (which
    rule sets declare it, and the properties it weakens)."""
    numbers: dict[tuple[str, str], int] = {}
    who: dict[tuple[str, str], list[str]] = {}
    where: dict[tuple[str, str], list[str]] = {}
    marks: dict[tuple[str, str], str] = {}
    for r in results:
        nums = []
        for w in r.get("weakenings", []):
            key = (f"{w['name']} = {w['value']}", w["says"])
            numbers.setdefault(key, len(numbers) + 1)
            for seen, x in ((who, r["variant"]), (where, r["property"])):
                if x not in seen.setdefault(key, []):
                    seen[key].append(x)
            nums.append(str(numbers[key]))
        marks[r["variant"], r["property"]] = f" [{','.join(nums)}]" if nums else ""
    lines = [f"[{n}] {', '.join(who[key])} declare{'s' if len(who[key]) == 1 else ''} "
             f"{key[0]}: {key[1]}; weakens {', '.join(where[key])}"
             for key, n in numbers.items()]
    return marks, lines


def must_say(declared: str | None, asked: int = 8) -> str:
    """What a cell must say at depth ``asked``: its declaration's outcome, or ``proved``."""
    return due(declared, asked)


def expected_of(rec: dict[str, Any]) -> str:
    return rec.get("due") or must_say(rec.get("declared"), rec.get("asked_depth", rec["depth"]))


def render_table(env: Envelope, results: list[dict[str, Any]], props: list[str],
                 elapsed: float, explain_all: bool = False) -> str:
    variants: list[str] = []
    for r in results:
        if r["variant"] not in variants:
            variants.append(r["variant"])
    cell = {(r["variant"], r["property"]): r for r in results}
    marks, legend = _legend(results)
    width = max([len(v) for v in variants] + [8])
    cw = max([19] + [len(cell_text(r, marks[r["variant"], r["property"]])) for r in results])
    lines = ["envelope: " + ", ".join(env.describe()["assumptions"]) +
             f"; depth {env.depth} asked; {env.nhosts} hosts; {env.ncpus} vCPUs"]
    head = f"{'rule set':<{width}}  " + "  ".join(f"{p:<{cw}}" for p in props)
    lines += [head, "-" * len(head)]
    for v in variants:
        cells = []
        for p in props:
            r = cell.get((v, p))
            cells.append(f"{'' if r is None else cell_text(r, marks[v, p]):<{cw}}")
        lines.append(f"{v:<{width}}  " + "  ".join(cells).rstrip())
    lines += legend
    if any(r.get("outcome", "").startswith("proved@") for r in results):
        lines.append(f"@k: proved to depth k only, of the {env.depth} asked; undecided deeper "
                     f"within the budget, and no counterexample found to depth {env.depth}")
    if any(r.get("unbounded") for r in results):
        lines.append("(all): proved for every depth by induction (" +
                     next(r["reason"].split("holds for ")[-1] for r in results
                          if r.get("unbounded")) + ")")
    if any(r.get("found_by") == "fuzz" for r in results):
        lines.append("(fuzz): the counterexample was found by fuzzing the concrete engine "
                     "when the solver could not decide, and replayed like the solver's")
    if any(r.get("wall_clock") for r in results):
        lines.append("(wall clock): the cell outran the --timeout safety net and was stopped; "
                     "its budget in resource units was not reached (a solver that hangs)")
    if any(r.get("cached") for r in results):
        lines.append("(cached): decided by an earlier run with the same inputs, read from the "
                     "verdict cache (--no-cache decides it again)")
    partial_ok = [r for r in results if r.get("gate") == PARTIAL]
    if partial_ok:
        lines.append("~: a partial proof, accepted by --accept-partial (it does not reach the "
                     "depth asked)")
    bad = [r for r in results if r.get("gate", FAIL if r["verdict"] != expected_of(r) else PASS)
           == FAIL]
    if any(r.get("declared") for r in bad):
        lines.append("!: not the outcome the rule set declares for the depth asked")
    if any(not r.get("declared") for r in bad):
        lines.append("!: not proved to the depth asked, as required of a cell without a "
                     "declaration")
    lines.append("")
    lines.append(f"{len(results)} verdicts in {elapsed:.1f} s; " + _summary(results, bad,
                                                                         partial_ok))
    for r in bad:
        how = f"declared {r['declared']}" if r.get("declared") else "required"
        lines.append(f"  {r['variant']} {r['property']}: {cell_text(r).rstrip(' !')}; due: "
                     f"{expected_of(r)} ({how})" +
                     (f" ({r['reason']})" if r["reason"] else ""))
        if r["counterexample"]:
            lines.append("    " + r["counterexample"]["explanation"])
    for r in partial_ok:
        lines.append(f"  {r['variant']} {r['property']}: {r['outcome']} accepted "
                     f"(--accept-partial), {r['due']} due")
    shown = results if explain_all else bad
    for r in shown:
        if explain_all:
            lines.append("")
            lines.append(f"{r['variant']} / {r['property']}: {cell_text(r)}; "
                         f"{r.get('reached', r['verdict'])}; tolerances: "
                         f"{tolerances_line(r.get('tolerances') or {})}" +
                         "".join(f"; {w['says']}" for w in r.get("weakenings", [])))
        if r["counterexample"]:
            if not explain_all:
                lines.append("")
            lines.append(f"{r['variant']} / {r['property']}: "
                         f"{r['counterexample']['explanation']}")
            lines.append(r["counterexample"]["timeline"])
            if r["counterexample"].get("command"):
                lines.append("replay: " + r["counterexample"]["command"])
    return "\n".join(lines)


def _summary(results: list[dict[str, Any]], bad: list[dict[str, Any]],
             partial_ok: list[dict[str, Any]]) -> str:
    """"every one as declared" only where every cell has a declaration; a user's file's cells
    are held to what is required of them (proved to the depth asked)."""
    declared = all(r.get("declared") for r in results)
    some = any(r.get("declared") for r in results)
    word = "as declared" if declared else ("as declared or required" if some else "as required")
    if bad:
        return f"{len(bad)} not {word} (marked !)"
    extra = f" ({len(partial_ok)} partial, accepted by --accept-partial)" if partial_ok else ""
    return f"every one {word}{extra}"


def render_json(env: Envelope, results: list[dict[str, Any]], elapsed: float) -> str:
    out = [{k: v for k, v in r.items() if k != "ref"} for r in results]
    for r in out:
        if r["counterexample"]:
            r["counterexample"] = {k: v for k, v in r["counterexample"].items()
                                   if k != "timeline"}
    return json.dumps({"envelope": env.describe(), "seconds": round(elapsed, 3),
                       "results": out}, indent=2)


def write_junit(path: str, results: list[dict[str, Any]]) -> None:
    """One testcase a cell; its weakenings, tolerances, outcome and replay command as
    properties; a failure where the gate fails it."""
    suite = ET.Element("testsuite", name="tbcheck prove", tests=str(len(results)))
    failures = 0
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=r["variant"], name=r["property"],
                             time=f"{r['seconds']:.3f}")
        props = ET.SubElement(case, "properties")
        facts = [("outcome", cell_text(r)), ("reached", r.get("reached", r["verdict"])),
                 ("asked_depth", str(r.get("asked_depth", r["depth"])))]
        facts += [("weakening", w["says"]) for w in r.get("weakenings", [])]
        if r.get("tolerances") is not None:
            facts.append(("tolerances", tolerances_line(r["tolerances"])))
        if r["counterexample"] and r["counterexample"].get("command"):
            facts.append(("replay", r["counterexample"]["command"]))
        for name, val in facts:
            ET.SubElement(props, "property", name=name, value=val)
        if r.get("gate", FAIL if r["verdict"] != expected_of(r) else PASS) == FAIL:
            failures += 1
            text = r["counterexample"]["timeline"] if r["counterexample"] else r["reason"]
            how = f"declared {r['declared']}" if r.get("declared") else "required"
            fail = ET.SubElement(case, "failure",
                                 message=f"{cell_text(r).rstrip(' !')}; due: "
                                         f"{expected_of(r)} ({how})")
            fail.text = text
    suite.set("failures", str(failures))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
