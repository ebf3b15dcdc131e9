"""What the guest (or its firmware) wrote to its vCPUs' TBs before the trace's first read.

A machine that lets the guest write its TB (``mttbl``/``mttbu``: powernv, mac99, not sPAPR under
KVM) may start with vCPUs that disagree: firmware that sets each thread's TB, or a kernel that
synchronises them its own way. That is the guest's doing, never the hypervisor's, so the
validator learns each vCPU's written offset from the scenario's first reads and judges the rest
of the trace against it, as the model judges a run after ``write(I, TB)``
(docs/properties.md, "A guest's write"): ``vcpus-agree`` compares each vCPU less what was
written to it, and a hypervisor that later loses the write (QEMU 7.2 under TCG does not migrate
a vCPU's ``tb_offset``) fails there.
"""

from __future__ import annotations

from dataclasses import replace

from tbcheck.properties import predicates as P
from tbcheck.validate.records import Reading, RecordedScenario, TraceInfo

SLACK = 2  # ticks of rounding, each side


def _err(a: Reading, b: Reading, info: TraceInfo) -> int:
    """Ticks two reads' windows and the frequency's error allow between them, plus rounding."""
    return (-(-(a.win.width + b.win.width) * info.f_g // (2 * 10**9))
            + info.drift(b.win.mid - a.win.mid) + SLACK)


def _early(sc: RecordedScenario) -> list[int]:
    """The guest's reads before the scenario's first step (nothing of the hypervisor's yet)."""
    return [i for i, r in enumerate(sc.reads) if r.guest and r.step == 0 and r.branch == 0]


def while_writing(sc: RecordedScenario, info: TraceInfo) -> list[int]:
    """The reads before the guest's last write in that first stretch: a vCPU whose TB jumped
    between two of its reads there was written by the guest (the hypervisor did nothing yet),
    and every read before the jump is left out, since the write may precede any of them."""
    last: dict[int, Reading] = {}
    early = _early(sc)
    cut = 0
    for k, i in enumerate(early):
        r = sc.reads[i]
        p = last.get(r.vcpu)
        if p is not None and abs(r.tb - p.tb - int(P.ticks(r.win.mid - p.win.mid, info.f_g))) \
                > _err(p, r, info):
            cut = k
        last[r.vcpu] = r
    return early[:cut]


def drop_reads(sc: RecordedScenario, drop: list[int]) -> None:
    """Remove reads ``drop`` (indices into ``sc.reads``) from the scenario, order included."""
    gone = set(drop)
    new = {}
    for i in range(len(sc.reads)):
        if i not in gone:
            new[i] = len(new)
    sc.reads = [r for i, r in enumerate(sc.reads) if i not in gone]
    sc.order = [(k, new[i] if k == "read" else i) for k, i in sc.order
                if not (k == "read" and i in gone)]


def written_at_boot(sc: RecordedScenario, info: TraceInfo) -> dict[int, tuple[int, int]]:
    """vCPU -> (ticks, err): how far its TB stood from vCPU 0's before the scenario's first
    step, within ``err``, for each vCPU whose difference cannot be 0. Every pair of reads (vCPU
    0, vCPU v) before the first step bounds the difference (the two carried to one instant at
    ``f_g``, each a point in its window); the bounds are intersected. Only those reads count:
    a difference that appears later is the hypervisor's."""
    early = [sc.reads[i] for i in _early(sc)]
    out: dict[int, tuple[int, int]] = {}
    for v in sorted({r.vcpu for r in early} - {0}):
        lo, hi = None, None
        for a in (r for r in early if r.vcpu == 0):
            for b in (r for r in early if r.vcpu == v):
                err = _err(a, b, info)
                d = b.tb - (a.tb + int(P.ticks(b.win.mid - a.win.mid, info.f_g)))
                lo = d - err if lo is None else max(lo, d - err)
                hi = d + err if hi is None else min(hi, d + err)
        if lo is None or hi is None or lo > hi or lo <= 0 <= hi:
            continue  # no pair, reads that contradict one another, or no write to see
        out[v] = ((lo + hi) // 2, -(-(hi - lo) // 2))
    return out


def describe(written: dict[int, tuple[int, int]], f_g: int) -> str:
    """``vCPU 1 +17179869184 ticks (+33.554 s)``, for the report."""
    return ", ".join(f"vCPU {v} {d:+d} ticks ({d / f_g:+.3f} s)"
                     for v, (d, _) in sorted(written.items()))


def own_view(sc: RecordedScenario) -> RecordedScenario:
    """The scenario with each read less what the guest wrote to its vCPU (``Reading.written``
    keeps it, for the report): what the hypervisor answers for."""
    if not sc.written:
        return sc
    reads = [replace(r, tb=r.tb - sc.written[r.vcpu][0], written=sc.written[r.vcpu][0])
             if r.vcpu in sc.written else r for r in sc.reads]
    return replace(sc, reads=reads)


def uncertainty(sc: RecordedScenario) -> int:
    """Ticks by which two vCPUs' written offsets may be misjudged: every comparison of the
    scenario allows that much more."""
    return sum(sorted((u for _, u in sc.written.values()), reverse=True)[:2])
