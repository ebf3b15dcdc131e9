"""What an invariant may speak of: the numbers of a world state, named, and the TB it implies.

An induction needs facts about states that no single step shows (the TB saved at a pause equals
the one the guest last read; both vCPUs hold the same offset ...). They are drawn from a fixed
family of *candidates* over a state's *quantities*: every number the state holds (named by its
path, e.g. ``vm.rules.guest_timebase``) and the TB values the rule set's own hooks would give now
(``tb_now``), after a ``cont`` (``tb_resume``) and after loading each snapshot (``tb_restore``).
The hooks run on a copy of the state, through the same world code as every other engine, so a
quantity means the same on Python ints (to filter candidates cheaply) and on z3 terms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tbcheck.model.api import PAUSED, RUNNING
from tbcheck.model.domain import Bool, Int, Num, SymbolicBranch, collect_obligations
from tbcheck.model.events import Cont, LoadVM
from tbcheck.model.structure import PLAIN, clone
from tbcheck.model.world import Path, RuleError, World, WorldState
from tbcheck.properties.predicates import as_int

Values = dict[str, Int]


def named_leaves(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every ``Num``/``Bool`` of a state with its path, in ``structure.leaves`` order."""
    if isinstance(obj, (Num, Bool)):
        return [(prefix, obj)]
    if isinstance(obj, PLAIN):
        return []
    if isinstance(obj, (list, tuple)):
        return [x for i, v in enumerate(obj) for x in named_leaves(v, f"{prefix}[{i}]")]
    if isinstance(obj, dict):
        return [x for k, v in obj.items() for x in named_leaves(v, f"{prefix}[{k}]")]
    return [x for k, v in vars(obj).items() if not k.startswith("__")
            for x in named_leaves(v, f"{prefix}.{k}" if prefix else k)]


def _is_display_only(name: str) -> bool:
    """Not a quantity: true time, the ideal guest clock (display), and the running chain's
    reference (tracks-wall-clock's ghost): no candidate relates it to true time, and where it
    equals ``ghost.last`` in the samples, ``prune`` would state the facts about the last read
    of it, and lose them when a run moves the two apart."""
    return name == "t" or name.endswith("guest_ns") or name.startswith("ghost.chain_")


def _what_if(world: World, ws: WorldState, act: Callable[[Path], list[Num]]) -> list[Num] | None:
    """The TB values ``act`` reads on a copy of ``ws`` (None where the rule set cannot say)."""
    path = Path(clone(ws), Bool(True))
    try:
        with collect_obligations():
            return act(path)
    except (SymbolicBranch, RuleError):
        return None


def _restore(world: World, name: str) -> Callable[[Path], list[Num]]:
    """What the guest reads once snapshot ``name`` is loaded, at once, and it runs again: the
    world's own ``loadvm`` (then ``cont`` if it left the guest paused), so the hooks run in the
    order and run states the events give them."""
    def act(path: Path) -> list[Num]:
        path = world.step(path, LoadVM(name, Int(0)))[0]  # a symbolic refusal forks off
        if path.ws.vm.state != RUNNING:
            path = world.step(path, Cont())[0]
        assert path.ws.ghost.last is not None  # every resume ends with a read
        return path.ws.ghost.last
    return act


def quantities(world: World, ws: WorldState) -> Values:
    """The named quantities of ``ws`` as exact integers (the same names for one control key)."""
    out: Values = {}
    for name, x in named_leaves(ws):
        if isinstance(x, Num) and not _is_display_only(name):
            out[name] = as_int(x)
    host = world.params.hosts[ws.vm.host]
    out["t"] = as_int(ws.t)
    out["f_g"] = as_int(world.params.f_g)
    out["host.freq"] = as_int(host.freq)
    out["host.realtime"] = as_int(ws.t + host.skew)
    out["host.monotonic"] = as_int(ws.t + host.mono0)
    groups: list[tuple[str, list[Num] | None]] = [
        ("tb_now", _what_if(world, ws, lambda p: world._read(p, "what-if")))]
    if ws.vm.state == PAUSED:
        groups.append(("tb_resume", _what_if(world, ws, lambda p: world._resume(p, "what-if"))))
    for s in ws.snapshots:
        groups.append((f"tb_restore[{s}]", _what_if(world, ws, _restore(world, s))))
    for label, tbs in groups:
        for i, x in enumerate(tbs or []):
            out[f"{label}[{i}]"] = as_int(x)
    return out


@dataclass(frozen=True)
class Candidate:
    """One conjecture about the states of one control key: ``a <op> b + k`` or a bound."""

    kind: str  # a key of _KINDS, below
    a: str
    b: str = ""
    k: int = 0

    def holds(self, q: Values, growth: Int) -> Bool:
        """Whether it holds of quantities ``q``; ``growth`` is the bound's allowance."""
        return _KINDS[self.kind][0](self, q, growth)

    def __str__(self) -> str:
        return _KINDS[self.kind][1](self)


_BOUND = "B + R*t + E*n"  # the growing bound, as the README writes it
#: each kind: what it says of quantities ``q`` (``g``: the bound's allowance), and its text
_KINDS: dict[str, tuple[Callable[[Candidate, Values, Int], Bool], Callable[[Candidate], str]]] = {
    "eq": (lambda c, q, g: q[c.a] == q[c.b], lambda c: f"{c.a} == {c.b}"),
    "le": (lambda c, q, g: q[c.a] <= q[c.b] + c.k,
           lambda c: f"{c.a} <= {c.b}" + (f" + {c.k}" if c.k else "")),
    "const": (lambda c, q, g: q[c.a] == c.k, lambda c: f"{c.a} == {c.k}"),
    "ge0": (lambda c, q, g: q[c.a] >= 0, lambda c: f"{c.a} >= 0"),
    "bound": (lambda c, q, g: q[c.a] <= g, lambda c: f"{c.a} <= {_BOUND}"),
    "sum0": (lambda c, q, g: q[c.a] + q[c.b] >= 0, lambda c: f"{c.a} + {c.b} >= 0"),
    "sumbound": (lambda c, q, g: q[c.a] + q[c.b] <= g, lambda c: f"{c.a} + {c.b} <= {_BOUND}"),
}


#: quantities the parameters and the time fix: facts among them alone follow from the envelope
ENVIRONMENT = frozenset({"t", "f_g", "host.freq", "host.realtime", "host.monotonic"})
CLOCKS = ("host.monotonic", "host.realtime")  # what a rule may keep an offset from


def candidates(generic: Values, first: Values | None, granularity: int) -> list[Candidate]:
    """Every candidate over a generic state's quantities that the envelope does not already
    imply; ``first`` (a concrete state's values, if any) seeds the constants."""
    names = sorted(generic)
    out: list[Candidate] = []
    for i, a in enumerate(names):
        env_a = a in ENVIRONMENT
        if first is not None and not env_a:
            out.append(Candidate("const", a, k=int(first[a].v)))
        if generic[a].lo < 0 and not env_a:
            out.append(Candidate("ge0", a))
            # an offset from a clock: their sum is a clock of its own, which never goes below
            # 0 nor past the bound (QEMU's virtual clock, cpu_clock_offset + CLOCK_MONOTONIC)
            out += [Candidate(k, a, b) for b in CLOCKS if b in generic
                    for k in ("sum0", "sumbound")]
        if not env_a:
            out.append(Candidate("bound", a))
        for b in names[i + 1:]:
            out.append(Candidate("eq", a, b))
        for b in names:
            if b != a and not (env_a and b in ENVIRONMENT):
                out.append(Candidate("le", a, b))
                if granularity > 1:
                    out.append(Candidate("le", a, b, granularity - 1))
    return out


def prune(cands: list[Candidate]) -> list[Candidate]:
    """Drop what the rest implies: quantities equal to one another are represented by the first
    of their class; every other candidate speaks of representatives only."""
    rep: dict[str, str] = {}

    def find(x: str) -> str:
        while rep.get(x, x) != x:
            x = rep[x]
        return x

    for c in cands:
        if c.kind == "eq":
            a, b = sorted((find(c.a), find(c.b)))
            if a != b:
                rep[b] = a
    out = [Candidate("eq", find(x), x) for x in sorted(rep)]
    for c in cands:
        if c.kind == "eq":
            continue
        if find(c.a) == c.a and (not c.b or find(c.b) == c.b):
            out.append(c)
    return out
