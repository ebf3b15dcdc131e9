"""What each property demands of two (or more) TB values: pure functions of the number domain.

The same functions judge the symbolic engine's terms, the concrete engine's ints and a real
QEMU's recorded reads; ``err`` widens a comparison by the uncertainty of a recorded read
(a read is a point somewhere inside its QMP round trip; the model's reads have ``err = 0``).

Each comparison predicate has a ``*_range`` sibling giving the interval the later value must lie
in; the predicate is defined through it, so a report that shows "allowed lo..hi" shows exactly
the bounds the verdict used (``None`` as an upper bound: unbounded).
"""

from __future__ import annotations

from tbcheck.model.domain import Bool, Int, Num, all_

NS_PER_S = 10**9

Range = tuple[Int, Int | None]


def as_int(x: Num | int) -> Int:
    """A value as a mathematical integer (u64 TB values compare as unsigned)."""
    t = type(x)
    if t is Int:  # most arguments already are: the concrete engine's commonest case
        return x
    if t is int:
        c = _SMALL.get(x)  # the literal tolerances (0 ticks of error, the slack) made once
        return c if c is not None else Int(x)
    return Int(x) if isinstance(x, int) else x.convert(Int)  # type: ignore[return-value]


_SMALL = {i: Int(i) for i in range(-4, 5)}


def ticks(ns: Num | int, freq: Num | int) -> Int:
    """Ticks of a ``freq`` Hz counter in ``ns`` nanoseconds (floor, exact integers)."""
    return (as_int(ns) * as_int(freq)) // NS_PER_S  # type: ignore[return-value]


def within_range(expected: Num | int, below: Num | int, above: Num | int) -> Range:
    """``[expected - below, expected + above]``, in exact integers."""
    e = as_int(expected)
    return e - as_int(below), e + as_int(above)


def inside(actual: Num | int, allowed: Range) -> Bool:
    """``actual`` lies in ``allowed`` (an upper bound ``None`` is no bound)."""
    a, (lo, hi) = as_int(actual), allowed
    return a >= lo if hi is None else (a >= lo) & (a <= hi)


def never_decreases_range(prev: Num | int, err: Num | int = 0) -> Range:
    return as_int(prev) - as_int(err), None


def never_decreases(prev: Num, cur: Num, err: Num | int = 0) -> Bool:
    """monotonic: a later read is not below an earlier one."""
    return inside(cur, never_decreases_range(prev, err))


def frozen_range(at_stop: Num | int, granularity: int, err: Num | int = 0) -> Range:
    return within_range(at_stop, err, as_int(err) + max(granularity - 1, 0))


def frozen(at_stop: Num, at_resume: Num, granularity: int, err: Num | int = 0) -> Bool:
    """frozen-when-stopped / snapshot-frozen: the resume value is the stop value; an offset
    rounded up to ``granularity`` may add up to ``granularity - 1`` ticks."""
    return inside(at_resume, frozen_range(at_stop, granularity, err))


def carried(tbs: list[Num], t_a: Num | int, t_b: Num | int, f_g: Num | int) -> list[Int]:
    """Each TB read at ``t_a`` carried to ``t_b`` at ``f_g``: what is due of it then (a list,
    since every vCPU read at one instant is carried by the same ticks)."""
    elapsed = ticks(as_int(t_b) - as_int(t_a), f_g)
    return [as_int(tb) + elapsed for tb in tbs]


def tracks_tolerance(f_g: Num | int, eps_ns: int, slack: int, err: Num | int = 0) -> Int:
    """How far below (and, with granularity, above) the carried TB tracks-wall-clock allows:
    eps * f_g plus rounding. A constant of a run's tolerances, so the monitor makes it once."""
    return ticks(eps_ns, f_g) + slack + as_int(err)


def tracks_around(expected: Int, tol: Int, granularity: int) -> Range:
    """tracks-wall-clock's interval around the TB due (``carried``), given its tolerance."""
    return within_range(expected, tol, tol + max(granularity - 1, 0))


def tracks_range(tb_start: Num | int, t_start: Num | int, t: Num | int, f_g: Num | int,
                 eps_ns: int, slack: int, granularity: int, err: Num | int = 0) -> Range:
    start = as_int(tb_start)
    return tracks_around(carried([start], t_start, t, f_g)[0],
                         tracks_tolerance(f_g, eps_ns, slack, err), granularity)


def tracks(tb_start: Num, t_start: Num, tb: Num, t: Num, f_g: Num | int, eps_ns: int,
           slack: int, granularity: int, err: Num | int = 0) -> Bool:
    """tracks-wall-clock, per chain: a read at ``t`` is the chain's start TB plus the true time
    since the start at ``f_g``, within eps * f_g plus rounding. The tolerance is one, for the
    whole chain: errors of single hops may not add up. An offset rounded up to ``granularity``
    may put the TB up to ``granularity - 1`` ticks ahead, once: the rounding of one offset, not
    one per hop (a rule that rounds from the rounded TB again gains it on every hop)."""
    return inside(tb, tracks_range(tb_start, t_start, t, f_g, eps_ns, slack, granularity, err))


def keeps_rate_range(tb_a: Num | int, t_a: Num | int, t_b: Num | int, f_g: Num | int,
                     slack: int, err: Num | int = 0) -> Range:
    return keeps_rate_around(carried([as_int(tb_a)], t_a, t_b, f_g)[0], slack, err)


def keeps_rate_around(expected: Int, slack: int, err: Num | int = 0) -> Range:
    """guest-frequency's interval around the TB due (``carried``)."""
    return within_range(expected, slack + as_int(err), slack + as_int(err))


def scaling_rounding(f_g: Num | int, f_h: Num | int, host_ticks: Num | int, frac_bits: int
                     ) -> Int:
    """How far a counter scaled as ``(H * ratio) >> frac_bits`` may stray from ``f_g`` over a
    run in which the host counter advanced ``host_ticks``: a host tick is worth up to
    ``ceil(f_g / f_h)`` guest ticks, and a ratio rounded down to ``frac_bits`` loses less than
    one guest tick every ``2**frac_bits`` host ticks."""
    g, h = as_int(f_g), as_int(f_h)  # positive: / truncates as floor does
    return (g + h - 1) / h + (as_int(host_ticks) + (2**frac_bits - 1)) // 2**frac_bits  # type: ignore[return-value]


def keeps_rate(tb_a: Num, t_a: Num, tb_b: Num, t_b: Num, f_g: Num | int, slack: int,
               err: Num | int = 0) -> Bool:
    """guest-frequency: between two reads while running, the TB advanced elapsed * f_g."""
    return inside(tb_b, keeps_rate_range(tb_a, t_a, t_b, f_g, slack, err))


def agree_range(first: Num | int, err: Num | int = 0) -> Range:
    return within_range(first, err, err)


def agree(tbs: list[Num], err: Num | int = 0) -> Bool:
    """vcpus-agree: every vCPU read the same TB at one instant."""
    return all_([inside(x, agree_range(tbs[0], err)) for x in tbs[1:]])
