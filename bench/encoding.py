"""Why the number domain encodes C integers as z3 integers with lazy wraps, not bit-vectors.

One representative proof (a running guest's hop: the destination sets its offset from the TB
saved at the implicit stop plus the realtime clocks' difference in ticks; does the TB at resume
track true time within eps?) posed in four encodings, each with the same timeout:
  bv128     128-bit bit-vectors (wide enough that nothing overflows unnoticed)
  int-mod   integers, every u64 result reduced with ``% 2**64``
  int-ite   integers, every u64 result reduced with one ``If`` (inputs within one period)
  domain    the model's own number domain (lazy wraps; durations summed, skews as base + e)
Run: .venv/bin/python bench/encoding.py [timeout_s]
"""

from __future__ import annotations

import sys
import time

import z3

E9, M = 10**9, 2**64
EPS = 10**6


def query(kind: str) -> z3.BoolRef:
    if kind == "bv128":
        def var(n: str) -> z3.ExprRef:
            return z3.BitVec(n, 128)

        def k(v: int) -> z3.ExprRef:
            return z3.BitVecVal(v, 128)

        def le(a, b):  # noqa: ANN001, ANN202
            return z3.ULE(a, b)

        def div(a, b):  # noqa: ANN001, ANN202
            return z3.UDiv(a, b)

        def wrap(x):  # noqa: ANN001, ANN202
            return x & k(M - 1)
    else:
        def var(n: str) -> z3.ExprRef:
            return z3.Int(n)

        def k(v: int) -> z3.ExprRef:
            return z3.IntVal(v)

        def le(a, b):  # noqa: ANN001, ANN202
            return a <= b

        def div(a, b):  # noqa: ANN001, ANN202
            return a / b

        def wrap(x):  # noqa: ANN001, ANN202
            if kind == "int-mod":
                return x % M
            return z3.If(x < 0, x + M, z3.If(x >= M, x - M, x))
    f, d1, d2, d3 = var("f"), var("d1"), var("d2"), var("d3")
    c1, c2, base, e1, e2, off = (var(n) for n in ("c1", "c2", "base", "e1", "e2", "off"))
    a = [le(k(10**6), f), le(f, k(10**10)), le(d1, k(86400 * E9)), le(d2, k(3600 * E9)),
         le(d3, k(3600 * E9)), le(c1, k(2**62)), le(c2, k(2**62)), le(off, k(M - 1)),
         le(e1, k(EPS)), le(e2, k(EPS)), le(base, k(2**62))]
    if kind != "bv128":
        a += [x >= 0 for x in (d1, d2, d3, c1, c2, off, e1, e2, base)]
    t1, t2, t3 = d1, d1 + d2, d1 + d2 + d3
    h1 = wrap(c1 + div(f * t1, k(E9)))
    h2 = lambda t: wrap(c2 + div(f * t, k(E9)))  # noqa: E731
    g0 = wrap(h1 + off)
    a.append(le(g0, k(2**62)))
    mig = (t2 + base + e2) - (t1 + base + e1)
    if kind == "bv128":
        comp = z3.If(mig > 0, div(mig * f, k(E9)), k(0))  # signed compare on 128 bits
    else:
        comp = z3.If(mig > 0, div(mig * f, k(E9)), k(0))
    g3 = wrap(h2(t3) + wrap(g0 + comp - h2(t2)))
    exp = g0 + div((t3 - t1) * f, k(E9))
    tol = div(k(EPS) * f, k(E9)) + 3
    bad = z3.Or(g3 - exp > tol, exp - g3 > tol) if kind != "bv128" else z3.Or(
        z3.UGT(g3 - exp, tol) & z3.ULT(g3 - exp, k(2**127)),
        z3.UGT(exp - g3, tol) & z3.ULT(exp - g3, k(2**127)))
    return z3.And(*a, bad)


def domain_verdict(timeout: float) -> tuple[str, float]:
    """The same hop through the model itself (seed-corrected, one event deep, every event
    kind): the tool's own procedure, per check, exact first, then the linear abstraction."""
    from tbcheck.model.registry import builtin
    from tbcheck.proofs.bmc import check
    from tbcheck.proofs.envelope import Envelope
    from tbcheck.proofs.unroll import unroll

    t = time.perf_counter()
    u = unroll(builtin("seed-corrected"), Envelope(depth=1, same_frequency=True))
    v = check(u, "tracks-wall-clock")  # its default budget, in resource units (not seconds)
    return v.verdict, time.perf_counter() - t


def main() -> None:
    timeout = float(sys.argv[1]) if len(sys.argv) > 1 else 30.0
    print(f"{'encoding':<10} {'result':<8} {'seconds':>8}")
    for kind in ("bv128", "int-mod", "int-ite"):
        q = query(kind)
        s = z3.Solver()
        s.set("timeout", int(timeout * 1000))
        s.add(q)
        t = time.perf_counter()
        r = s.check()
        print(f"{kind:<10} {str(r):<8} {time.perf_counter() - t:8.3f}", flush=True)
    verdict, secs = domain_verdict(timeout)
    print(f"{'domain':<10} {verdict:<8} {secs:8.3f}")


if __name__ == "__main__":
    main()
