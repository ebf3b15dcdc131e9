"""The gate: what each cell must say at the depth asked, and whether what it said passes.

A built-in rule set declares each property's outcome at every depth (``RuleSet.expected``,
documented in ``model/api.py``), in one of three forms:

- ``"violated from depth K"``: a counterexample exists with K events, none with fewer; asked
  a depth below K the cell is proved (to the depth asked);
- ``"proved to depth K"``: the proof reaches depth K and no further, whatever more is asked:
  asked K or less, proved; asked more, ``proved@K``;
- ``"proved for every depth"``: proved at any depth asked (``(all)`` where the induction
  closes; a bounded proof to the depth asked meets it too);

each optionally after ``"vacuous below depth J, "``: the property's situation (a stop and a
resume, say) needs J events, so asked less than J the cell is ``vacuous``.

A cell without a declaration (every cell of a user's file) is required to be proved at the
depth asked or for every depth. ``proved@k`` below it, ``unknown``, ``vacuous``, ``violated``
and tool errors fail the gate; with ``accept_partial`` a ``proved@k`` passes, and says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PASS, FAIL, PARTIAL = "pass", "fail", "accepted partial"
_VACUOUS = re.compile(r"^vacuous below depth ([1-9][0-9]*), (.*)$")
_FORMS = {
    "violated": re.compile(r"^violated from depth ([1-9][0-9]*)$"),
    "proved": re.compile(r"^proved to depth ([1-9][0-9]*)$"),
    "every": re.compile(r"^proved for every depth$"),
}


@dataclass(frozen=True)
class Declaration:
    """One declared outcome: ``verdict`` "proved" or "violated"; ``depth`` the least depth of a
    violation, or the depth a proof reaches (None: every depth)."""

    verdict: str
    depth: int | None = None
    situation: int = 1  # the least depth at which the property's situation is reachable

    def due(self, asked: int) -> str:
        """The outcome due at depth ``asked``: "vacuous", "violated", "proved" or "proved@K"."""
        if asked < self.situation:
            return "vacuous"
        if self.verdict == "violated":
            assert self.depth is not None
            return "violated" if asked >= self.depth else "proved"
        if self.depth is None or asked <= self.depth:
            return "proved"
        return f"proved@{self.depth}"

    def admits_violation(self, depth: int) -> bool:
        """Whether a counterexample of ``depth`` events agrees with the declaration."""
        if self.verdict == "violated":
            assert self.depth is not None
            return depth >= self.depth
        return self.depth is not None and depth > self.depth

    def __str__(self) -> str:
        first = f"vacuous below depth {self.situation}, " if self.situation > 1 else ""
        if self.verdict == "violated":
            return f"{first}violated from depth {self.depth}"
        return first + ("proved for every depth" if self.depth is None
                        else f"proved to depth {self.depth}")


def parse(text: Any) -> Declaration:
    """A declaration from its text; ValueError naming the forms when it is none of them."""
    if isinstance(text, str) and (m := _VACUOUS.match(text)):
        core = parse(m.group(2))
        if int(m.group(1)) > (core.depth or int(m.group(1))):
            raise ValueError(f"{text!r}: the situation cannot need more events than the "
                             "outcome's depth")
        return Declaration(core.verdict, core.depth, int(m.group(1)))
    if isinstance(text, str):
        if m := _FORMS["violated"].match(text):
            return Declaration("violated", int(m.group(1)))
        if m := _FORMS["proved"].match(text):
            return Declaration("proved", int(m.group(1)))
        if _FORMS["every"].match(text):
            return Declaration("proved")
    raise ValueError(f"cannot read the declaration {text!r}: write \"violated from depth K\", "
                     "\"proved to depth K\" or \"proved for every depth\", optionally after "
                     "\"vacuous below depth J, \"")


def depth_needed(events: list[dict[str, Any]]) -> int:
    """The depth at which a counterexample's events fit (events in their JSON form): a step of
    the unrolling is an event and then a wait (``proofs.unroll``), so every event but a run
    takes a step, and a wait before the first event takes one of its own."""
    n = sum(1 for e in events if e["event"] != "run")
    lead = next((i for i, e in enumerate(events) if e["event"] != "run"), len(events))
    return n + (1 if any(e["d"] for e in events[:lead]) else 0)


def declared_verdict(text: str | None) -> str | None:
    """The verdict word of a declaration ("proved" or "violated"), None without one."""
    return None if text is None else parse(text).verdict


def outcome(rec: dict[str, Any], asked: int) -> str:
    """What a cell reached, in the gate's terms: "proved" (to the depth asked, or for every
    depth), "proved@k" (k below it), or the verdict itself (violated, unknown ...)."""
    if rec["verdict"] == "proved" and not rec.get("unbounded") and rec["depth"] < asked:
        return f"proved@{rec['depth']}"
    return str(rec["verdict"])


def reached(rec: dict[str, Any]) -> str:
    """What a cell reached, in words (the JSON's ``reached``)."""
    if rec["verdict"] == "proved":
        return "proved for every depth" if rec.get("unbounded") \
            else f"proved to depth {rec['depth']}"
    if rec["verdict"] == "violated" and rec.get("counterexample"):
        cx = rec["counterexample"]
        return f"violated at depth {cx['depth']}"
    return str(rec["verdict"])


def due(declared: str | None, asked: int) -> str:
    """The outcome a cell must have at depth ``asked``: its declaration's, or "proved"."""
    return parse(declared).due(asked) if declared else "proved"


def judge(rec: dict[str, Any], asked: int, accept_partial: bool = False) -> tuple[str, str]:
    """(the gate's word for the cell: PASS, FAIL or PARTIAL; the outcome that was due)."""
    want, got = due(rec.get("declared"), asked), outcome(rec, asked)
    if got == want:
        return PASS, want
    if accept_partial and got.startswith("proved@") and want.startswith("proved"):
        return PARTIAL, want
    return FAIL, want
