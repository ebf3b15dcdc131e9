"""Pictures of what the guest saw (``--plot FILE`` on ``run``, ``prove`` and ``validate``).

A timeline of 20-digit numbers is hard to read; a line is not. Each picture plots the TB a
guest read minus the TB it should have read, against true time, one line a vCPU: flat at zero
while all is well, a step where a pause or a migration gained or lost time. Behind the lines,
bands show where the guest lived (its host or VM) and its run state; events are vertical marks.
A violation is a red cross at the read that broke the property, with the range the property
allowed at that read drawn as a bar: the distance from the cross to the bar is the bug.

For a model run (``plot_trace``) "should have read" is the timeline's expected TB (the boot TB
plus the time the guest should have seen, times ``f_g``: the ``seen-expected`` column of the
text timeline). For a recorded trace (``plot_validation``) it is the scenario's first read plus
true time times ``f_g``, so a pause shows as the guest falling behind; each read is a point
with its time window (the QMP round trip it happened in) as a horizontal bar.

Every artist carries an id (matplotlib's ``gid``, an ``id`` in the SVG): ``series-vcpuN``,
``host-band-*``, ``state-band-*``, ``event-*``, ``violation``, ``tolerance``, ``reads-*``,
``mismatch-*``, so that a test, or a web page, can find them. matplotlib is an optional
dependency (the ``plot`` extra); without it ``--plot`` is a one-line error.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tbcheck.errors import UsageError
from tbcheck.model.domain import Num, value
from tbcheck.timeline import expected_tb

FORMATS = (".svg", ".png")
STATE_COLOURS = {"running": "#ffffff", "paused": "#d9d9d9", "finish-migrate": "#fde9b0",
                 "inmigrate": "#fde9b0", "postmigrate": "#fde9b0", "save-vm": "#cfe3f7",
                 "restore-vm": "#cfe3f7", "prelaunch": "#eeeeee"}
HOST_COLOURS = ("#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860")
VCPU_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22")
NS = 1e9


def check_target(path: str, flag: str = "--plot") -> None:
    """Refuse, before any work, a file that cannot be written or drawn: its extension, its
    folder, and matplotlib itself."""
    ext = Path(path).suffix.lower()
    if ext not in FORMATS:
        raise UsageError(f"{flag} {path}: the file name must end in .svg or .png")
    folder = Path(path).resolve().parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise UsageError(f"{flag} {path}: {folder} is not a folder tbcheck can write to")
    if importlib.util.find_spec("matplotlib") is None:
        raise UsageError(f"{flag} needs matplotlib, which is not installed: "
                         "pip install 'tbcheck[plot]' (or pip install matplotlib)")


def numbered(path: str, n: int) -> str:
    """The n-th of several pictures asked as ``path``: ``path`` itself, then ``stem-2.svg`` ..."""
    if n == 1:
        return path
    p = Path(path)
    return str(p.with_name(f"{p.stem}-{n}{p.suffix}"))


@dataclass(frozen=True)
class Violation:
    """Where a property broke, as a picture needs it: the read (time, vCPU, TB seen) and the
    range of TB values the property allowed there (``hi`` None: no upper bound)."""

    prop: str
    step: int
    t_ns: int
    cpu: int
    seen: int
    lo: int | None
    hi: int | None


def violation(trace: Any, check: Any, step: int, tol: Any) -> Violation:
    """The one place a picture reads a check record: the read it judged (time, the culprit
    vCPU, the TB seen) and the range the property allowed it, which the record carries from
    the same ``*_range`` functions of ``properties.predicates`` the verdict used. ``tol`` is
    unused: the record holds what the tolerances made of the range."""
    cpu = check.culprit() or 0
    seen = _int(check.seen[cpu]) if cpu < len(check.seen) else None
    lo, hi = check.allowed[cpu] if cpu < len(check.allowed) else (None, None)
    t = None if check.t is None else _int(check.t)
    if t is None or seen is None:  # no time or TB in the check: the step's read of that vCPU
        at_step = [o for o in trace.observations if o.step == step]
        o = next((o for o in at_step if o.cpu == cpu and (seen is None or _int(o.tb) == seen)),
                 at_step[-1] if at_step else trace.observations[-1])
        t, cpu = _int(o.t), o.cpu
        seen = _int(o.tb) if seen is None else seen
    return Violation(check.prop, step, int(t), int(cpu), int(seen),
                     None if lo is None else _int(lo), None if hi is None else _int(hi))


def plot_trace(path: str, rules: Any, params: Any, trace: Any, tol: Any,
               prop: str | None = None) -> None:
    """A model run: the TB seen minus expected, per vCPU, with hosts, run states, events and
    the first violation (of ``prop``, or of any property)."""
    fig, (ax, strip) = _figure(2, heights=(5, 1))
    obs = sorted(trace.observations, key=lambda o: (_int(o.t), o.step))
    delta = {id(o): _int(o.tb) - expected_tb(trace, params, o.guest_ns) for o in obs}
    starts, after = _walk(rules, params, trace.events, tol)
    end = max([_int(o.t) / NS for o in obs] + [t for t, _, _ in after] + [0.0])
    # a read happens during its event, the state after it at the event's end
    keyed = [((_int(o.t) / NS, o.step, 0), (_int(o.t) / NS, o.host, o.state)) for o in obs]
    keyed += [((p[0], k, 1), p) for k, p in enumerate(after, 1)]
    _bands(ax, strip, [p for _, p in sorted(keyed)], end)
    for cpu in range(params.ncpus):
        mine = [o for o in obs if o.cpu == cpu]
        # between two reads the guest's TB and the expected one advance alike (both stand
        # still while it is paused): the difference holds until the next read shows a jump
        ax.plot([_int(o.t) / NS for o in mine], [delta[id(o)] for o in mine],
                marker="o", markersize=3, linewidth=1.2, color=VCPU_COLOURS[cpu % 8],
                drawstyle="steps-post", label=f"vCPU {cpu}", gid=f"series-vcpu{cpu}")
    at: dict[float, list[str]] = {}
    for step, (ev, t) in enumerate(zip(trace.events, starts, strict=True), 1):
        ax.axvline(t, color="#555555", linewidth=0.6, linestyle=":", gid=f"event-{step}")
        at.setdefault(t, []).append(f"{step}: {_short(ev)}")
    for t, labels in at.items():  # events at one instant share a label
        ax.annotate(", ".join(labels), (t, 0.99), xycoords=("data", "axes fraction"),
                    rotation=90, fontsize=6, va="top", ha="right", color="#333333")
    bad = trace.violations(prop)
    if bad:
        step, check = bad[0]
        v = violation(trace, check, step, tol)
        o = min(obs, key=lambda o: (abs(_int(o.t) - v.t_ns), o.cpu != v.cpu))
        exp = _int(o.tb) - delta[id(o)]
        _violation_mark(ax, v.t_ns / NS, v.seen - exp,
                        None if v.lo is None else v.lo - exp,
                        None if v.hi is None else v.hi - exp, v.prop)
        title = f"{rules.name}: {v.prop} violated at event {v.step}"
    else:
        title = (f"{rules.name}: no property violated" if prop is None
                 else f"{rules.name}: {prop} holds")
    ax.set_title(title, fontsize=10)
    ax.set_ylabel(f"TB seen − TB expected (ticks; f_g = {_int(params.f_g)} Hz)", fontsize=8)
    _yscale(ax, [delta[id(o)] for o in obs])
    ax.legend(loc="best", fontsize=7)
    strip.set_xlabel("true time (s)", fontsize=8)
    _save(fig, path)


def _walk(rules: Any, params: Any, events: list[Any], tol: Any
          ) -> tuple[list[float], list[tuple[float, int, str]]]:
    """Each event's start time, and the host and run state after each event, from the one
    model's concrete engine (a paused guest reads nothing, so its reads do not show them)."""
    from tbcheck.model.world import World
    from tbcheck.properties.monitor import Monitor

    world = World(rules, params, Monitor(tol))
    path = world.boot()
    starts: list[float] = []
    after: list[tuple[float, int, str]] = []
    for ev in events:
        starts.append(_int(path.ws.t) / NS)
        path = next(p for p in world.step(path, ev) if value(p.cond))
        after.append((_int(path.ws.t) / NS, path.ws.vm.host, path.ws.vm.state))
    return starts, after


def plot_validation(path: str, outcome: Any) -> None:
    """A recorded trace: per scenario, every read minus (the scenario's first read + true time
    × f_g), with its time window; the VMs and run states as bands, the reconstructed events as
    marks, every mismatch (of a property or of the rule set's prediction) with its range."""
    info = outcome.info
    scenarios = [sc for sc in info.scenarios if sc.reads]
    if not scenarios:
        raise UsageError(f"--plot: the trace {info.path} has no reads to draw")
    fig, axes = _figure(2 * len(scenarios), heights=(4, 1) * len(scenarios), width=10)
    rows = [v.mismatch for v in outcome.verdicts if v.mismatch is not None]
    if outcome.conformance is not None:
        rows += list(outcome.conformance.mismatches)
    f_g = info.f_g
    for k, sc in enumerate(scenarios):
        ax, strip = axes[2 * k], axes[2 * k + 1]
        ref = sc.reads[0]

        def expected(t_ns: float, ref: Any = ref) -> float:
            return ref.tb + (t_ns - ref.win.mid) * f_g / NS

        reads = sorted(sc.reads, key=lambda r: r.win.mid)
        end = max(sc.rel_ms(r.win.hi) / 1e3 for r in reads)
        _bands(ax, strip, [(sc.rel_ms(r.win.mid) / 1e3, _vm_host(sc, r.vm),
                            r.runstate or "unknown") for r in reads], end, prefix=f"{k}-",
               host_names=sc.vms)
        for cpu in sorted({r.vcpu for r in reads}):
            mine = [r for r in reads if r.vcpu == cpu]
            xs = [sc.rel_ms(r.win.mid) / 1e3 for r in mine]
            ax.errorbar(xs, [r.tb - expected(r.win.mid) for r in mine],
                        xerr=[[(r.win.mid - r.win.lo) / NS for r in mine],
                              [(r.win.hi - r.win.mid) / NS for r in mine]],
                        fmt="o", markersize=2.5, linewidth=0.8, color=VCPU_COLOURS[cpu % 8],
                        label=f"vCPU {cpu}", gid=f"reads-{sc.name}-vcpu{cpu}")
        for st in sc.steps:
            lo, hi = sc.rel_ms(st.win.lo) / 1e3, sc.rel_ms(st.win.hi) / 1e3
            ax.axvspan(lo, max(hi, lo + end * 1e-3), color="#555555", alpha=0.25,
                       linewidth=0, gid=f"event-{sc.name}-{st.index}")
            ax.annotate(st.label(), (lo, 1.0), xycoords=("data", "axes fraction"),
                        rotation=90, fontsize=6, va="top", ha="right")
        for n, row in enumerate(r for r in rows if r.scenario == sc.name):
            t_ns = sc.begin_mono + row.t_ms * 1e6
            exp = expected(t_ns)
            _violation_mark(ax, row.t_ms / 1e3, row.tb - exp, row.lo - exp,
                            None if row.hi is None else row.hi - exp, row.what or "mismatch",
                            gid=f"mismatch-{sc.name}-{n}", label=n == 0)
        ax.set_title(f"{sc.name}" + ("" if sc.ok else " (the recorder reported a failure)"),
                     fontsize=9)
        ax.set_ylabel("TB − expected (ticks)", fontsize=7)
        ax.legend(loc="lower left", fontsize=6)
        strip.set_xlabel("time since the scenario began (s)", fontsize=7)
    fig.suptitle(f"{info.path}: QEMU {info.qemu}, {info.machine}, f_g {f_g} Hz "
                 f"(expected: the scenario's first read + true time × f_g)", fontsize=9)
    _save(fig, path)


# ---------------------------------------------------------------------- drawing helpers
def _figure(n: int, heights: tuple[int, ...], width: float = 9.0) -> tuple[Any, Any]:
    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise UsageError("--plot needs matplotlib, which is not installed: "
                         "pip install 'tbcheck[plot]' (or pip install matplotlib)") from None
    fig = Figure(figsize=(width, 0.75 * sum(heights) + 0.5), layout="constrained")
    axes = fig.subplots(n, 1, gridspec_kw={"height_ratios": list(heights)})
    for i in range(1, n, 2):
        axes[i].sharex(axes[i - 1])
        axes[i].set_yticks([])
        axes[i - 1].tick_params(labelbottom=False, labelsize=7)
        axes[i].tick_params(labelsize=7)
    return fig, axes


def _bands(ax: Any, strip: Any, points: list[tuple[float, int, str]], end: float,
           prefix: str = "", host_names: list[str] | None = None) -> None:
    """Run states as background bands on ``ax``; hosts as coloured bands on ``strip``, both
    from one point to the next (a state or host holds from the read that shows it)."""
    for kind, key in (("state", 2), ("host", 1)):
        spans: list[tuple[float, float, Any]] = []
        for i, p in enumerate(points):
            nxt = points[i + 1][0] if i + 1 < len(points) else end
            if spans and spans[-1][2] == p[key]:
                spans[-1] = (spans[-1][0], nxt, p[key])
            else:
                spans.append((p[0], nxt, p[key]))
        spans = [sp for i, sp in enumerate(spans) if sp[1] > sp[0] or i == len(spans) - 1]
        for n, (a, b, what) in enumerate(spans):
            b = max(b, a + max(end, 1e-9) * 2e-3)  # a span of one read: visible all the same
            if kind == "state":
                ax.axvspan(a, b, color=STATE_COLOURS.get(what, "#f4f4f4"), alpha=0.8,
                           linewidth=0, zorder=0, gid=f"state-band-{prefix}{n}-{what}")
                if what != "running":
                    ax.annotate(what, ((a + b) / 2, 0.02), xycoords=("data", "axes fraction"),
                                fontsize=6, ha="center", color="#666666")
            else:
                name = host_names[what] if host_names and 0 <= what < len(host_names) \
                    else f"h{what}"
                strip.axvspan(a, b, color=HOST_COLOURS[what % len(HOST_COLOURS)], alpha=0.7,
                              linewidth=0, gid=f"host-band-{prefix}{n}-{name}")
                strip.annotate(name, ((a + b) / 2, 0.5), xycoords=("data", "axes fraction"),
                               fontsize=7, ha="center", va="center", color="white")
    strip.set_ylabel("host", fontsize=7)


def _violation_mark(ax: Any, x: float, y: float, lo: float | None, hi: float | None,
                    what: str, gid: str = "violation", label: bool = True) -> None:
    """The read that broke a property (a red cross) and the range it had to lie in (a bar;
    with no upper bound, up to the top of the picture)."""
    if lo is not None:
        top = hi if hi is not None else max(y, lo) + abs(y - lo) + 1
        ax.errorbar([x], [(lo + top) / 2], yerr=[[(top - lo) / 2], [(top - lo) / 2]],
                    fmt="none", ecolor="#d62728", elinewidth=5, capsize=7, capthick=1.5,
                    alpha=0.5, gid="tolerance" if gid == "violation" else f"tolerance-{gid}",
                    label="allowed range" if label else None)
        near = min(max(y, lo), top)  # the allowed value nearest to the one seen
        ax.plot([x, x], [near, y], color="#d62728", linestyle=":", linewidth=1.2,
                gid="miss" if gid == "violation" else f"miss-{gid}")
    ax.plot([x], [y], marker="X", markersize=11, color="#d62728", linestyle="none",
            gid=gid, label=f"violation: {what}" if label else None)


def _yscale(ax: Any, ys: list[float]) -> None:
    """Symmetric-log when the values span many decades (a wrapped TB next to a few ticks)."""
    big = max((abs(y) for y in ys), default=0)
    small = [abs(y) for y in ys if y]
    if big > 10**6 and small and big / max(min(small), 1) > 10**4:
        ax.set_yscale("symlog", linthresh=max(min(small), 1))


def _short(ev: Any) -> str:
    """An event as a person writes it: ``migrate(1, resume=10 ms)``, durations in units."""
    from dataclasses import fields

    args = []
    for f in fields(ev):
        x = getattr(ev, f.name)
        if isinstance(x, Num):
            ns = _int(x)
            if ns:
                args.append(f"{f.name.removeprefix('p_')}={_duration(ns)}"
                            if f.name != "d" else _duration(ns))
        else:
            args.append(str(x))
    return f"{ev.kind}({', '.join(args)})" if args else ev.kind


def _duration(ns: int) -> str:
    for unit, size in (("d", 86_400 * 10**9), ("h", 3_600 * 10**9), ("s", 10**9),
                       ("ms", 10**6), ("us", 10**3)):
        if abs(ns) >= size:
            return f"{ns / size:g} {unit}"
    return f"{ns} ns"


def _vm_host(sc: Any, vm: str) -> int:
    return sc.vms.index(vm) if vm in sc.vms else 0


def _int(x: Any) -> Any:
    return value(x) if isinstance(x, Num) else x


def _save(fig: Any, path: str) -> None:
    import matplotlib

    with matplotlib.rc_context({"svg.hashsalt": "tbcheck", "svg.fonttype": "none"}):
        meta = {"Date": None} if path.lower().endswith(".svg") else {}
        try:
            fig.savefig(path, metadata=meta)
        except OSError as exc:
            raise UsageError(f"--plot {path}: cannot write it ({exc.strerror})") from None
