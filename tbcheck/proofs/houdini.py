"""An inductive invariant for a rule set, found by Houdini over the control graph.

Each control key (run state, host, rule flags, snapshots held ...) gets a *generic* state: the
same control, every number a fresh unknown of its C type. One step of every enabled event from
it, through the same world code as the bounded unrolling, gives the key's transitions. Houdini
starts from every candidate of ``proofs.quantities`` that random concrete runs did not refute
and drops, until nothing changes, each candidate that fails at boot or after a transition from
a state where all surviving candidates hold. What remains is inductive: it holds in every state
reachable within the horizon (``proofs.horizon``), at any depth.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

import z3

from tbcheck.model.api import RuleSet
from tbcheck.model.domain import Bool, Int, fresh
from tbcheck.model.structure import clone, key, rebuild
from tbcheck.model.world import Path, World, WorldState
from tbcheck.proofs.budget import MEGA, Budget
from tbcheck.proofs.envelope import Envelope, tolerances
from tbcheck.proofs.horizon import Horizon
from tbcheck.proofs.quantities import Candidate, Values, candidates, named_leaves, prune, quantities
from tbcheck.proofs.query import Query
from tbcheck.proofs.samples import sample
from tbcheck.proofs.unroll import Symbols, alternatives, as_z3, symbols, take
from tbcheck.properties.monitor import Check, Monitor

GUIDED_RUNS = 20  # concrete runs along the route to a control state random runs missed
SAMPLE_DEPTH = 8  # events a sieving run goes at least: the invariant is for every depth, and
# runs of the envelope's depth 4 left seed-corrected's search 172 facts (306 at 8), too few
# for its monotonic
SPLIT_AFTER = 120_000  # resource units: a question about many candidates that takes more
# is split in two
ABSTRACT_FIRST = 300_000  # for a question through the linear abstraction
QUERY = 2 * MEGA  # at most, for one question
GROWING = ("bound", "sumbound")  # the candidates that grow with time
WIDE = 1 << 130  # bounds of an unknown mathematical integer in a generic state


@dataclass(repr=False)  # z3 terms print slowly: keep reprs short
class Transition:
    cond: z3.BoolRef  # the event chosen and the branch taken
    post: Any  # the post state's control key
    post_ws: WorldState
    values: Values  # its quantities, over the pre state's unknowns
    n: Int
    checks: list[Check]
    terms: dict[Candidate, z3.BoolRef] = field(default_factory=dict)
    alt: Any = None  # the step alternative taken (None: boot)

    def term(self, c: Candidate, hz: Horizon) -> z3.BoolRef:
        """``c`` of the post state, as a solver term (built once)."""
        if c not in self.terms:
            self.terms[c] = z3.simplify(
                as_z3(c.holds(self.values, hz.growth(self.values["t"], self.n))))
        return self.terms[c]


@dataclass(repr=False)
class Generic:
    index: int
    ws: WorldState
    values: Values
    n: Int
    constraints: list[z3.BoolRef]
    transitions: list[Transition] = field(default_factory=list)
    itself: Transition | None = None  # the generic state as a post state, for its own terms
    used: dict[str, Candidate] = field(default_factory=dict)  # leaf: the fact built in


@dataclass(repr=False)
class Invariant:
    rules: type[RuleSet]
    env: Envelope
    horizon: Horizon
    sym: Symbols
    boot: Transition  # the boot state, as a transition from nothing
    generic: dict[Any, Generic]
    holds: dict[Any, list[Candidate]]
    queries: int = 0
    log: list[tuple[Candidate, Transition, str]] = field(default_factory=list)  # what fell, why

    def assume(self, g: Generic) -> list[z3.BoolRef]:
        if g.itself is None:
            g.itself = Transition(z3.BoolVal(True), key(g.ws), g.ws, g.values, g.n, [])
        return [g.itself.term(c, self.horizon) for c in self.holds[key(g.ws)]]

    def size(self) -> int:
        return sum(len(v) for v in self.holds.values())


class _Builder:
    def __init__(self, rules: type[RuleSet], env: Envelope, hz: Horizon) -> None:
        self.rules, self.env, self.hz = rules, env, hz
        self.sym = symbols(replace(env, depth=1), prefix="i_", scaling=rules.scales,
                           writes=rules.guest_writes_tb)
        self.world = World(rules, self.sym.params, Monitor(tolerances(rules, env, self.sym.params)),
                           record_observations=False)
        self.alts = alternatives(env, rules.guest_writes_tb)
        self.generic: dict[Any, Generic] = {}
        self.made = 0  # generic states built (a rebuilt one gets new unknowns)

    def generic_of(self, ws: WorldState, facts: list[Candidate] | None = None) -> Generic:
        """The generic state of ``ws``'s key: its control, every number a fresh unknown, except
        where ``facts`` make a rule's number a constant or a parameter (the guest frequency
        a rule keeps is the boot host's): that number is then the parameter's own term, with
        its range, which the linear abstraction needs to bound a product."""
        k = key(ws)
        if facts is None and k in self.generic:
            return self.generic[k]
        self.made += 1
        idx = self.made
        cons: list[z3.BoolRef] = []
        new: list[Any] = []
        used: dict[str, Candidate] = {}
        params = {"f_g": self.sym.params.f_g, "host.freq": self.sym.params.hosts[ws.vm.host].freq}
        for name, x in named_leaves(ws):
            tag = f"g{idx}_{name}"
            if isinstance(x, Bool):
                new.append(Bool(z3.Bool(tag)))
                continue
            if name.endswith("guest_ns"):
                new.append(Int(0))
                continue
            fact = _defining(name, facts or [], params)
            if fact is not None:
                used[name] = fact
                p = params.get(fact.b if fact.a == name else fact.a)
                new.append(type(x)(fact.k) if p is None else type(x)(p.v, p.lo, p.hi))
                continue
            lo, hi = (0, self.hz.t_max) if name == "t" else (
                (x.tmin(), x.tmax()) if x.BITS is not None else (-WIDE, WIDE))
            v, c = fresh(type(x), tag, lo, hi)
            new.append(v)
            cons.append(c)
        gws = rebuild(ws, iter(new))
        n, c = fresh(Int, f"g{idx}_n", 0, self.hz.n_max - 1)
        cons.append(c)
        g = Generic(idx, gws, quantities(self.world, gws), n, cons,  # type: ignore[arg-type]
                    used=used)
        self.generic[k] = g
        return g

    def transitions(self, g: Generic) -> list[Transition]:
        if g.transitions:
            return g.transitions
        sv = self.sym.steps[0]
        for j, alt in enumerate(self.alts):
            ev = sv.event(alt)
            if not self.world.enabled(g.ws, ev):
                continue
            for q in take(self.world, Path(clone(g.ws), Bool(sv.choice[j])), sv, alt):
                g.transitions.append(Transition(
                    as_z3(q.cond), key(q.ws), q.ws, quantities(self.world, q.ws),
                    g.n + 1, [c for _, c in q.checks], alt=alt))  # type: ignore[arg-type]
        return g.transitions


def _defining(name: str, facts: list[Candidate], params: dict[str, Any]) -> Candidate | None:
    """A fact making rule number ``name`` a constant or a parameter (ghosts stay unknowns)."""
    if name.startswith("ghost.") or name == "t":
        return None
    for c in facts:
        if c.kind == "const" and c.a == name:
            return c
        if c.kind == "eq" and {c.a, c.b} & {name} and ({c.a, c.b} - {name}) <= params.keys():
            return c
    return None


def find(rules: type[RuleSet], env: Envelope, hz: Horizon, units: int = 20 * MEGA,
         query: int = QUERY, hint: dict[Any, list[Candidate]] | None = None,
         trusted: bool = False) -> Invariant | None:
    """The invariant, or None if the budget (``units``, z3's resource units) ran out before
    Houdini's fixpoint. With ``hint`` (another search's facts by control key), a key it names
    starts from those facts instead of the sieved candidates: Houdini proves them again, so a
    wrong hint costs time, not soundness. With ``trusted`` too, the hint is the fixpoint that
    this same code reached on the same rule set and envelope in another process (the run's
    one search, ``tbcheck.workers``): the states and transitions are rebuilt without sieving
    again, and a control key the hint does not name gives None."""
    budget = Budget(units)
    b = _Builder(rules, env, hz)
    boot_path = b.world.boot()
    boot = Transition(as_z3(boot_path.cond), key(boot_path.ws), boot_path.ws,
                      quantities(b.world, boot_path.ws), Int(0),
                      [c for _, c in boot_path.checks])
    samples = (defaultdict(list) if hint else
               sample(rules, env, depth=max(env.depth, SAMPLE_DEPTH)))
    holds: dict[Any, list[Candidate]] = {}
    inv = Invariant(rules, env, hz, b.sym, boot, b.generic, holds)

    routes: dict[Any, list[Any]] = {boot.post: []}

    missing: list[Any] = []  # keys a trusted hint does not name

    def start(ws: WorldState, route: list[Any]) -> None:
        k = key(ws)
        if k in holds:
            return
        routes[k] = route
        if hint is not None and k in hint:
            holds[k] = list(hint[k])
            b.generic_of(ws, holds[k])
            return
        if trusted:
            missing.append(k)
            holds[k] = []
            return
        if not samples.get(k):  # random runs missed it: take the route there
            sample(rules, env, runs=GUIDED_RUNS, route=route, out=samples, seed=len(routes))
        seen = samples.get(k, [])
        cands = candidates(b.generic_of(ws).values, seen[0][0] if seen else None,
                           rules.offset_granularity)
        for vals, n in seen:
            growth = hz.growth(vals["t"], Int(n))
            cands = [c for c in cands if c.a in vals and (not c.b or c.b in vals)
                     and bool(c.holds(vals, growth))]
        holds[k] = prune(cands) if seen else cands
        b.generic_of(ws, holds[k])

    start(boot_path.ws, [])
    if not trusted and not _sieve(inv, Query(b.sym.constraints), [boot.cond], boot, holds,
                                  budget, query):
        return None
    work = [boot.post]
    while work:
        k = work.pop(0)
        g = b.generic[k]
        if any(c not in holds[k] for c in g.used.values()):  # a fact built in has fallen
            g = b.generic_of(g.ws, holds[k])
        before = list(holds[k])
        s = Query(b.sym.constraints + g.constraints)
        pre = inv.assume(g)
        for tr in b.transitions(g):
            if tr.post not in holds:
                start(tr.post_ws, routes[k] + [tr.alt])
                work.append(tr.post)
            before_post = len(holds[tr.post])
            if trusted:
                continue
            ok = _sieve(inv, s, pre + [tr.cond], tr, holds, budget, query)
            if not ok:
                return None
            if len(holds[tr.post]) != before_post and tr.post not in work and tr.post != k:
                work.append(tr.post)
            if holds[k] != before:
                break  # the pre state's own assumption weakened: start it again
        if holds[k] != before and k not in work:
            work.append(k)
    return None if missing else inv


def _sieve(inv: Invariant, s: Query, facts: list[z3.BoolRef], tr: Transition,
           holds: dict[Any, list[Candidate]], budget: Budget, query: int) -> bool:
    """Keep the post key's candidates that hold after ``tr`` from a state where ``facts`` hold;
    False if the budget ran out."""
    keep = _survivors(inv, s, facts, tr, holds[tr.post], budget, query)
    if keep is None:
        return False
    holds[tr.post] = keep
    return True


def _survivors(inv: Invariant, s: Query, facts: list[z3.BoolRef], tr: Transition,
               cands: list[Candidate], budget: Budget, query: int
               ) -> list[Candidate] | None:
    """The candidates that hold after ``tr`` from a state where ``facts`` hold (None if the
    budget ran out). The bounds that grow with time go their own way: each needs a product's
    bounds (``freq * duration <= fmax * duration``), which the linear abstraction shows in
    milliseconds and the exact solver in seconds, if at all; asked together with the other
    candidates, they made the whole question stall."""
    grows = [c for c in cands if c.kind in GROWING]
    rest = _exact_survivors(inv, s, facts, tr, [c for c in cands if c.kind not in GROWING],
                            budget, query)
    kept = _bound_survivors(inv, s, facts, tr, grows, budget, query)
    if rest is None or kept is None:
        return None
    return [c for c in cands if c in rest or c in kept]


def _exact_survivors(inv: Invariant, s: Query, facts: list[z3.BoolRef], tr: Transition,
                     cands: list[Candidate], budget: Budget, query: int
                     ) -> list[Candidate] | None:
    """Ask whether all hold; drop what a model refutes; ask what the solver cannot decide of
    the linear abstraction (qemu-tcg's ``muldiv64`` of the virtual clock and an unknown
    frequency: its search took 814 s without, 130 s with), then split it (a candidate
    undecided on its own is dropped: the invariant only gets weaker)."""
    todo = list(cands)
    while todo:
        terms = [tr.term(c, inv.horizon) for c in todo]
        if budget.out:
            return None
        inv.queries += 1
        units = query if len(todo) == 1 else min(SPLIT_AFTER, query)
        r, m = s.check(facts, z3.Not(z3.And(terms)), budget.share(units), len(todo) == 1)
        if r == z3.unsat:
            return todo
        kept = todo if m is None else [c for c, t in zip(todo, terms, strict=True)
                                       if z3.is_true(m.eval(t, model_completion=True))]
        if len(kept) < len(todo):
            inv.log += [(c, tr, "refuted") for c in todo if c not in kept]
            todo = kept
            continue
        if len(todo) == 1:
            inv.log.append((todo[0], tr, "undecided"))
            return []
        if _all_hold_abstractly(inv, s, facts, terms, budget):
            return todo
        half = len(todo) // 2
        first = _exact_survivors(inv, s, facts, tr, todo[:half], budget, query)
        second = _exact_survivors(inv, s, facts, tr, todo[half:], budget, query)
        return None if first is None or second is None else first + second
    return todo


def _bound_survivors(inv: Invariant, s: Query, facts: list[z3.BoolRef], tr: Transition,
                     cands: list[Candidate], budget: Budget, query: int
                     ) -> list[Candidate] | None:
    """The growing bounds that hold after ``tr``: all at once through the abstraction, else
    each on its own, the abstraction first."""
    if not cands:
        return []
    terms = [tr.term(c, inv.horizon) for c in cands]
    if budget.out:
        return None
    if _all_hold_abstractly(inv, s, facts, terms, budget):
        return cands
    kept = []
    for c, t in zip(cands, terms, strict=True):
        if budget.out:
            return None
        inv.queries += 1
        r = s.check(facts, z3.Not(t), budget.share(query), abstract_first=True)[0]
        if r == z3.unsat:
            kept.append(c)
        else:
            inv.log.append((c, tr, "refuted" if r == z3.sat else "undecided"))
    return kept


def _all_hold_abstractly(inv: Invariant, s: Query, facts: list[z3.BoolRef],
                         terms: list[z3.BoolRef], budget: Budget) -> bool:
    """Whether the linear abstraction shows every one of ``terms`` to hold, asked once, with
    ``ABSTRACT_FIRST`` units at most (False also when it cannot tell)."""
    inv.queries += 1
    return s.abstract_unsat(facts, z3.Not(z3.And(terms)), budget.share(ABSTRACT_FIRST))


def describe(inv: Invariant) -> dict[str, list[str]]:
    """The invariant in words, one list of facts per control key (for ``--explain``)."""
    out: dict[str, list[str]] = defaultdict(list)
    for k, cands in inv.holds.items():
        g = inv.generic[k]
        label = f"#{g.index} {g.ws.vm.state} on host {g.ws.vm.host}"
        out[label] = [str(c) for c in cands]
    return dict(out)


def checks_of(inv: Invariant, prop: str) -> list[tuple[Generic | None, Transition, Check]]:
    """Every check of ``prop`` the boot and the transitions emit, with their pre state."""
    out: list[tuple[Generic | None, Transition, Check]] = [
        (None, inv.boot, c) for c in inv.boot.checks if c.prop == prop]
    for g in inv.generic.values():
        for tr in g.transitions:
            out += [(g, tr, c) for c in tr.checks if c.prop == prop]
    return out
