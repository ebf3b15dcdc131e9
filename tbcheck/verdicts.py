"""Verdicts as records, and their three renderings: the table, JSON, JUnit XML."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from model.domain import value
from proofs.bmc import Verdict
from proofs.envelope import Envelope
from tbcheck.timeline import events_json, explain, params_line, render, rows


def params_json(params: Any) -> dict[str, Any]:
    return {"hosts": [{"freq_hz": value(h.freq), "counter0": value(h.counter0),
                       "realtime0_ns": value(h.skew), "monotonic0_ns": value(h.mono0)}
                      for h in params.hosts],
            "tb0": value(params.tb0), "ncpus": params.ncpus}


def verdict_record(v: Verdict) -> dict[str, Any]:
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
            "observations": rows(cx.trace, cx.params, v.prop),
            "replayed": cx.replayed,
            "explanation": explain(bad[0][1], cx.params) if bad else v.reason,
            "timeline": params_line(cx.params) + "\n" + render(cx.trace, cx.params, v.prop),
        }
    return rec


def must_say(declared: str | None) -> str:
    """What a cell must say: the rule set's declaration, or ``proved`` when it declares none."""
    return declared or "proved"


def expected_of(rec: dict[str, Any]) -> str:
    return must_say(rec.get("declared"))


def render_table(env: Envelope, results: list[dict[str, Any]], props: list[str],
                 elapsed: float, explain_all: bool = False) -> str:
    variants: list[str] = []
    for r in results:
        if r["variant"] not in variants:
            variants.append(r["variant"])
    cell = {(r["variant"], r["property"]): r for r in results}
    width = max([len(v) for v in variants] + [8])
    short = {p: p for p in props}
    lines = ["envelope: " + ", ".join(env.describe()["assumptions"]) +
             f"; depth {env.depth}; {env.nhosts} hosts; {env.ncpus} vCPUs"]
    head = f"{'rule set':<{width}}  " + "  ".join(f"{short[p]:<19}" for p in props)
    lines += [head, "-" * len(head)]
    for v in variants:
        cells = []
        for p in props:
            r = cell.get((v, p))
            if r is None:
                cells.append(f"{'':<19}")
                continue
            mark = "" if r["verdict"] == expected_of(r) else " !"
            star = "*" if r.get("assumptions") and r["assumptions"] != env.default_assumptions() \
                else ""
            shallow = f"@{r['depth']}" if r["verdict"] == "proved" and r["depth"] < env.depth \
                else ""
            found = " (fuzz)" if r.get("found_by") == "fuzz" else ""
            every = " (all)" if r.get("unbounded") else ""
            cells.append(f"{r['verdict'] + shallow + every + star + found + mark:<19}")
        lines.append(f"{v:<{width}}  " + "  ".join(cells))
    bad = [r for r in results if r["verdict"] != expected_of(r)]
    starred = {(r["variant"], r["property"]): r["assumptions"] for r in results
               if r.get("assumptions") and r["assumptions"] != env.default_assumptions()}
    for (v, p), a in starred.items():
        lines.append(f"* {v} {p}: under the assumptions " + "; ".join(a))
    if any(r["verdict"] == "proved" and r["depth"] < env.depth for r in results):
        lines.append(f"@k: proved to depth k only; undecided deeper within the timeout, and no "
                     f"counterexample found to depth {env.depth}")
    if any(r.get("unbounded") for r in results):
        lines.append("(all): proved for every depth by induction (" +
                     next(r["reason"].split("holds for ")[-1] for r in results
                          if r.get("unbounded")) + ")")
    if any(r.get("found_by") == "fuzz" for r in results):
        lines.append("(fuzz): the counterexample was found by fuzzing the concrete engine "
                     "when the solver could not decide, and replayed like the solver's")
    lines.append("")
    lines.append(f"{len(results)} verdicts in {elapsed:.1f} s; "
                 + ("every one as declared" if not bad else
                    f"{len(bad)} not as declared (marked !)"))
    for r in bad:
        lines.append(f"  {r['variant']} {r['property']}: {r['verdict']}, declared "
                     f"{expected_of(r)}" + (f" ({r['reason']})" if r["reason"] else ""))
        if r["counterexample"]:
            lines.append("    " + r["counterexample"]["explanation"])
    shown = results if explain_all else bad
    for r in shown:
        if r["counterexample"]:
            lines.append("")
            lines.append(f"{r['variant']} / {r['property']}: "
                         f"{r['counterexample']['explanation']}")
            lines.append(r["counterexample"]["timeline"])
    return "\n".join(lines)


def render_json(env: Envelope, results: list[dict[str, Any]], elapsed: float) -> str:
    out = [{k: v for k, v in r.items() if k != "ref"} for r in results]
    for r in out:
        if r["counterexample"]:
            r["counterexample"] = {k: v for k, v in r["counterexample"].items()
                                   if k != "timeline"}
    return json.dumps({"envelope": env.describe(), "seconds": round(elapsed, 3),
                       "results": out}, indent=2)


def write_junit(path: str, results: list[dict[str, Any]]) -> None:
    suite = ET.Element("testsuite", name="tbcheck prove", tests=str(len(results)))
    failures = 0
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=r["variant"], name=r["property"],
                             time=f"{r['seconds']:.3f}")
        if r["verdict"] != expected_of(r):
            failures += 1
            text = r["counterexample"]["timeline"] if r["counterexample"] else r["reason"]
            fail = ET.SubElement(case, "failure",
                                 message=f"{r['verdict']} (declared {expected_of(r)})")
            fail.text = text
    suite.set("failures", str(failures))
    ET.ElementTree(suite).write(path, encoding="utf-8", xml_declaration=True)
