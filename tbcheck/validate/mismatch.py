"""A mismatch: one read (or a value derived from it) outside the range a property or a rule set
allowed, as every report shows it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tbcheck.validate.records import Reading, RecordedScenario


@dataclass
class Mismatch:
    """What the guest saw at one moment and the range a property or a rule set allowed."""

    scenario: str
    line: int
    t_ms: float  # true time of the read's window midpoint, since the scenario began
    vm: str
    host: int
    runstate: str | None
    event: str
    vcpu: int
    tb: int
    lo: int
    hi: int | None  # None: no upper bound
    f_g: int
    what: str = ""
    model: int | None = None  # the value the range is built around (the model's, the expected)
    point: str = ""

    @property
    def miss(self) -> int:
        """Ticks outside the allowed range: positive above it, negative below, 0 inside."""
        if self.tb < self.lo:
            return self.tb - self.lo
        if self.hi is not None and self.tb > self.hi:
            return self.tb - self.hi
        return 0

    @property
    def miss_ms(self) -> float:
        return self.miss * 1e3 / self.f_g

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "line": self.line, "t_ms": round(self.t_ms, 3),
                "vm": self.vm, "host": self.host, "runstate": self.runstate,
                "event": self.event, "vcpu": self.vcpu, "tb": self.tb,
                "allowed": [self.lo, self.hi], "expected_tb": self.model, "miss_ticks": self.miss,
                "miss_ms": round(self.miss_ms, 6), "what": self.what}


def mismatch_at(sc: RecordedScenario, r: Reading, lo: int, hi: int | None, f_g: int,
                what: str = "", shift: int = 0, model: int | None = None) -> Mismatch:
    """Read ``r`` against ``lo..hi``; ``shift`` moves a range stated for a value derived from
    ``r.tb`` (``r.tb - shift``) onto the read itself, so that it compares like with like. A read
    judged less what the guest wrote (``r.written``) is shown as the guest saw it."""
    shift += r.written
    event = f"read @{r.point}"
    if 0 <= r.step < len(sc.steps):
        event += f" (after {sc.steps[r.step].label()})"
    host = sc.vms.index(r.vm) if r.vm in sc.vms else -1
    return Mismatch(sc.name, r.line, sc.rel_ms(r.win.mid), r.vm, host, r.runstate, event,
                    r.vcpu, r.tb + r.written, lo + shift, None if hi is None else hi + shift,
                    f_g, what,
                    None if model is None else model + shift, r.point)
