"""What ``tbcheck validate`` prints: a text report for people, a JSON document for programs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tbcheck.gate import declared_verdict
from tbcheck.validate.conformance import Conformance
from tbcheck.validate.judge import OnTrace, TraceVerdict
from tbcheck.validate.mismatch import Mismatch
from tbcheck.validate.records import TraceInfo
from tbcheck.validate.written import describe

MAX_TEXT_ROWS = 20  # mismatches printed per report (JSON has them all)


@dataclass
class Validation:
    """Everything one validation found, and whether it passes."""

    info: TraceInfo
    variant: str | None
    expected: dict[str, str]  # the rule set's declared verdicts (empty without a variant)
    verdicts: list[TraceVerdict]
    conformance: Conformance | None

    def failed_properties(self) -> list[str]:
        """Properties whose verdict on the trace contradicts what must hold: without a variant
        every judged property must hold; with one, only a declared "proved" one."""
        return [v.prop for v in self.verdicts if v.verdict is OnTrace.VIOLATED
                and (self.variant is None
                     or declared_verdict(self.expected.get(v.prop)) == "proved")]

    def skipped(self) -> list[tuple[str, str]]:
        out = []
        for sc in self.info.scenarios:
            if not sc.ok:
                out.append((sc.name, f"recording failed: {sc.error or 'no reason given'}"))
            elif sc.problem:
                out.append((sc.name, f"cannot be mapped onto the model's events: {sc.problem}"))
        return out

    def partly_judged(self) -> list[tuple[str, str]]:
        """Scenarios that reached a case outside the model: judged up to it, said why."""
        return [(sc.name, sc.outside) for sc in self.info.scenarios
                if sc.ok and not sc.problem and sc.outside]

    @property
    def ok(self) -> bool:
        unmapped = any(sc.ok and sc.problem for sc in self.info.scenarios)
        return (not self.failed_properties() and not unmapped
                and (self.conformance is None or self.conformance.ok))


def format_mismatch(r: Mismatch) -> str:
    hi = "inf" if r.hi is None else str(r.hi)
    model = "" if r.model is None else f" (expected {r.model})"
    return (f"{r.scenario:<20} {r.t_ms:>+10.3f} ms  {r.vm}/h{r.host:<2} {r.runstate or '-':<14} "
            f"vCPU{r.vcpu} {r.event}: TB {r.tb}, allowed {r.lo}..{hi}{model}, missed by "
            f"{r.miss:+d} ticks ({r.miss_ms:+.3f} ms)  [line {r.line}]")


def grouped(rows: list[Mismatch]) -> list[tuple[Mismatch, int]]:
    """Consecutive mismatches at one read point, as its first row and how many there were."""
    out: list[tuple[Mismatch, int]] = []
    for r in rows:
        if out and (out[-1][0].scenario, out[-1][0].point, out[-1][0].vm) == (
                r.scenario, r.point, r.vm):
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((r, 1))
    return out


def text(o: Validation) -> str:
    info = o.info
    err = f" (measured, +-{info.f_err} Hz)" if info.f_err else ""
    lines = [f"trace {info.path}: QEMU {info.qemu}, {info.machine}, f_g {info.f_g} Hz{err}, "
             f"{info.vcpus} vCPU(s), {len(info.scenarios)} scenario(s)"]
    for name, why in o.skipped():
        lines.append(f"  skipped {name}: {why}")
    for name, why in o.partly_judged():
        lines.append(f"  judged {name} up to a case outside the model: {why}")
    for sc in info.scenarios:
        if sc.written or sc.while_writing:
            left = (f"; {sc.while_writing} read(s) before its last write left out"
                    if sc.while_writing else "")
            lines.append(f"  {sc.name}: the guest wrote its TB before the first step "
                         f"({describe(sc.written, info.f_g) or 'the vCPUs agree after it'}"
                         f"{' against vCPU 0' if sc.written else ''}{left}): its own doing, "
                         "judged less it")
    lines.append("")
    lines.append("properties on the trace (each read a point in its QMP round trip):")
    for v in o.verdicts:
        what = v.verdict
        if v.situations:
            what += f" on {v.situations} situation(s)"
            if v.failed:
                what += f", {v.failed} failed"
        if v.note:
            what += f" ({v.note})"
        decl = o.expected.get(v.prop)
        flag = "  <- FAILS" if v.prop in o.failed_properties() else ""
        decl_s = f"  [{o.variant} declares {decl}]" if decl else ""
        lines.append(f"  {v.prop:<20} {what}{decl_s}{flag}")
    for v in o.verdicts:
        if v.mismatch is not None:
            lines.append(f"  first mismatch of {v.prop}: {v.mismatch.what}")
            lines.append(f"    {format_mismatch(v.mismatch)}")
    c = o.conformance
    if c is not None:
        lines.append("")
        lines.append(f"conformance of {c.variant}: {c.conforming}/{c.reads} reads as the rule "
                     "set predicts" + (f", {c.unpredicted} read(s) it makes no prediction for"
                                       if c.unpredicted else ""))
        for s in c.scenarios:
            note = f"  {s.error}" if s.error else ""
            lines.append(f"  {s.name:<20} {s.conforming:>4}/{s.reads:<4}{note}")
        groups = grouped(c.mismatches)
        if groups:
            lines.append("mismatches (time since the scenario began, VM/host, run state, what "
                         "the guest saw; the first of each read point):")
            for r, n in groups[:MAX_TEXT_ROWS]:
                more = f"  + {n - 1} more read(s) @{r.point}" if n > 1 else ""
                lines.append(f"  {format_mismatch(r)}{more}")
            if len(groups) > MAX_TEXT_ROWS:
                lines.append(f"  ... and {len(groups) - MAX_TEXT_ROWS} more read points "
                             "(--json lists every read)")
    lines.append("")
    lines.append("validate: " + ("OK" if o.ok else "FAILED" + _why(o)))
    return "\n".join(line.rstrip() for line in lines)


def _why(o: Validation) -> str:
    parts = [f"{p} violated" for p in o.failed_properties()]
    if any(sc.ok and sc.problem for sc in o.info.scenarios):
        parts.append("a scenario could not be mapped")
    if o.conformance is not None and not o.conformance.ok:
        c = o.conformance
        parts.append(f"{c.reads - c.conforming} read(s) not as {c.variant} predicts"
                     + ("; " + "; ".join(c.errors) if c.errors else ""))
    return ": " + ", ".join(parts) if parts else ""


def to_json(o: Validation) -> dict[str, Any]:
    c = o.conformance
    return {
        "trace": o.info.path,
        "variant": o.variant,
        "qemu": o.info.qemu,
        "machine": o.info.machine,
        "f_g": o.info.f_g,
        "f_g_error_hz": o.info.f_err,
        "ok": o.ok,
        "skipped": [{"scenario": n, "reason": why} for n, why in o.skipped()],
        "outside_model": [{"scenario": n, "reason": why} for n, why in o.partly_judged()],
        "guest_written": [{"scenario": sc.name, "vcpu": v, "ticks": d, "error_ticks": u}
                          for sc in o.info.scenarios for v, (d, u) in sorted(sc.written.items())],
        "reads_while_writing": {sc.name: sc.while_writing for sc in o.info.scenarios
                                if sc.while_writing},
        "results": [{"variant": o.variant, "property": v.prop, "verdict": v.verdict,
                     "situations": v.situations, "failed": v.failed,
                     "expected": o.expected.get(v.prop),
                     "mismatch": v.mismatch.to_json() if v.mismatch else None}
                    for v in o.verdicts],
        "conformance": None if c is None else {
            "reads": c.reads, "conforming": c.conforming, "unpredicted": c.unpredicted,
            "scenarios": [{"scenario": s.name, "reads": s.reads, "conforming": s.conforming,
                           "error": s.error,
                           "fitted_ms": {k: round(v, 6) for k, v in s.fitted.items()}}
                          for s in c.scenarios],
            "mismatches": [r.to_json() for r in c.mismatches],
        },
    }
