"""The gate: what each cell must say at the depth asked, and whether what it said passes.

A built-in rule set declares each property's outcome at every depth (``RuleSet.expected``,
documented in ``tbcheck/model/api.py``), in one of these forms:

- ``"violated from depth K"``: a counterexample exists at depth K, none at a smaller one;
  asked a depth below K the cell is proved (to the depth asked);
- ``"violated from depth K; proved to depth R below it"``: the same, but below K the proof
  reaches depth R only (``proved@R`` when asked more than R and less than K);
- ``"proved to depth K"``: the proof reaches depth K and no further, whatever more is asked:
  asked K or less, proved; asked more, ``proved@K``;
- ``"proved for every depth"``: proved at any depth asked (``(all)`` where the induction
  closes; a bounded proof to the depth asked meets it too);

each optionally after ``"vacuous below depth J, "``: the property's situation (a stop and a
resume, say) needs J events, so asked less than J the cell is ``vacuous``; and a proof's
form (the last two, or the proof below a violation) optionally followed by any number of
``"; to depth R from depth D"``: asked D or more, the proof reaches depth R only. A deeper
question spends more of the same budget on the search for a counterexample and asks the
solver about a longer unrolling, so a proof can reach less when more is asked; since verdicts
are deterministic, that too is an outcome one can declare.

A cell without a declaration (every cell of a user's file) is required to be proved at the
depth asked or for every depth. ``proved@k`` below it, ``unknown``, ``vacuous``, ``violated``
and tool errors fail the gate. With ``accept_partial``, wherever a proof is due any proof
passes, a ``proved@k`` as a partial answer that says so.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

PASS, FAIL, PARTIAL = "pass", "fail", "accepted partial"
_N = r"([1-9][0-9]*)"
_FORM = re.compile(rf"^(?:vacuous below depth {_N}, )?(?:violated from depth {_N}"
                   rf"(?:; proved to depth {_N} below it)?|proved to depth {_N}"
                   r"|(proved for every depth))((?:; to depth [1-9][0-9]* from depth "
                   r"[1-9][0-9]*)*)$")
_LESS = re.compile(rf"; to depth {_N} from depth {_N}")


@dataclass(frozen=True)
class Declaration:
    """One declared outcome. ``violated_from``: the least depth of a violation (None: none at
    any depth); ``proved_to``: how deep a proof reaches, below that (None: as deep as asked);
    ``situation``: the least depth at which the property's situation is reachable."""

    violated_from: int | None = None
    proved_to: int | None = None
    situation: int = 1
    #: (D, R): asked D or more, the proof reaches depth R only; D increasing, R decreasing
    less: tuple[tuple[int, int], ...] = ()

    @property
    def verdict(self) -> str:
        return "proved" if self.violated_from is None else "violated"

    def due(self, asked: int) -> str:
        """The outcome due at depth ``asked``: "vacuous", "violated", "proved" or "proved@K"."""
        if asked < self.situation:
            return "vacuous"
        if self.violated_from is not None and asked >= self.violated_from:
            return "violated"
        reach = self.proved_to
        for d, r in self.less:
            if asked >= d:
                reach = r
        if reach is None or asked <= reach:
            return "proved"
        return f"proved@{reach}"

    def admits_violation(self, depth: int) -> bool:
        """Whether a counterexample at ``depth`` agrees with the declaration (a proof to a
        smaller depth says nothing of it)."""
        if self.violated_from is not None:
            return depth >= self.violated_from
        reach = [r for _, r in self.less] + ([self.proved_to] if self.proved_to else [])
        return bool(reach) and depth > min(reach)

    def __str__(self) -> str:
        first = f"vacuous below depth {self.situation}, " if self.situation > 1 else ""
        less = "".join(f"; to depth {r} from depth {d}" for d, r in self.less)
        if self.violated_from is not None:
            below = "" if self.proved_to is None else \
                f"; proved to depth {self.proved_to} below it"
            return f"{first}violated from depth {self.violated_from}{below}{less}"
        return first + ("proved for every depth" if self.proved_to is None
                        else f"proved to depth {self.proved_to}") + less


def parse(text: Any) -> Declaration:
    """A declaration from its text; ValueError naming the forms when it is none of them or
    contradicts itself (a situation deeper than the violation, a proof reaching it)."""
    m = _FORM.match(text) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"cannot read the declaration {text!r}: write \"violated from depth "
                         "K\" (optionally \"; proved to depth R below it\"), \"proved to depth "
                         "K\" or \"proved for every depth\", optionally after \"vacuous below "
                         "depth J, \" and followed by \"; to depth R from depth D\"")
    situation, violated, below, proved, _, tail = m.groups()
    less = tuple((int(d), int(r)) for r, d in _LESS.findall(tail))
    d = Declaration(int(violated) if violated else None,
                    int(below or proved) if (below or proved) else None,
                    int(situation) if situation else 1, less)
    top = d.violated_from - 1 if d.violated_from is not None else None
    for i, (at, r) in enumerate(less):
        prev_at, prev_r = less[i - 1] if i else (0, d.proved_to)
        if at <= prev_at or (prev_r is not None and r >= prev_r) or r >= at or (
                top is not None and r >= top):
            raise ValueError(f"{text!r} contradicts itself: each \"; to depth R from depth "
                             "D\" must ask more (D) and reach less (R < D) than the one before")
    if d.violated_from is not None and (d.situation > d.violated_from or (
            d.proved_to is not None and d.proved_to >= d.violated_from - 1)):
        raise ValueError(f"{text!r} contradicts itself: a violation at depth "
                         f"{d.violated_from} needs its situation and a proof below it")
    if d.proved_to is not None and d.situation > d.proved_to:
        raise ValueError(f"{text!r} contradicts itself: the situation is out of the "
                         "proof's reach")
    return d


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
    if accept_partial and got.startswith("proved") and want.startswith("proved"):
        # partial answers accepted: how deep a due proof reaches does not matter
        return (PARTIAL if got.startswith("proved@") else PASS), want
    return FAIL, want
