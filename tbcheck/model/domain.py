"""The number domain: C integer arithmetic that evaluates on Python ints or on z3 terms.

Every rule set, the world and every property compute through these types, so the concrete
engine (Python ints) and the symbolic engine (z3) run the very same code.

Encoding (measured in bench/encoding.py): z3 *integers* with an explicit wrap, not bit-vectors.
A value carries sound bounds ``lo..hi`` of its mathematical value; a wrap whose input is known to
lie within one period of the type is encoded as one ``If`` instead of ``mod``, and a wrap that
cannot happen is no term at all. That keeps the queries in linear arithmetic plus the products
the model really has (frequency times duration), which z3 solves in milliseconds where 64-bit
bit-vectors take seconds.

C semantics kept exactly:
- ``U64``/``S64``/``U32`` wrap modulo 2**64 (2**32); an operator that leaves its type records an
  overflow obligation (property ``no-overflow``); ``wrapping_add``/``wrapping_sub`` are the
  intended modular operations (``G = H + off``) and record nothing.
- ``/`` and ``%`` are C's: division truncates toward zero, the remainder takes the dividend's sign.
  Python's ``//`` is refused on these types so nobody gets floor division by accident.
- ``muldiv64`` is QEMU's: a 128-bit product divided by a ``uint32_t``.
- Comparisons give a ``Bool``; branching on a symbolic ``Bool`` with ``if`` raises
  ``SymbolicBranch``: rule sets write ``ite``/``max_``/``min_`` for data-dependent choices.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import z3

from tbcheck.model.intervals import ranged_name, tightened

Raw = int | z3.ArithRef
RawBool = bool | z3.BoolRef


class SymbolicBranch(TypeError):
    """A rule used ``if``/``and``/``or`` on a value only the solver knows."""


def is_sym(x: Any) -> bool:
    return isinstance(x, z3.ExprRef)


# --------------------------------------------------------------------------- obligations


@dataclass
class Obligation:
    """One arithmetic operation that may leave its declared C type; ``cond`` true means it did."""

    what: str
    cond: RawBool


class _Obligations:
    """Where checked operations report; the engines open a scope around each hook call."""

    def __init__(self) -> None:
        self.stack: list[list[Obligation]] = []

    def report(self, what: str, cond: RawBool) -> None:
        if cond is False or not self.stack:
            return
        if is_sym(cond) and z3.is_false(cond):
            return
        self.stack[-1].append(Obligation(what, cond))


OBLIGATIONS = _Obligations()


class collect_obligations:  # noqa: N801 (used as a function: ``with collect_obligations()``)
    """A scope whose checked operations report into the list it yields. A class rather than a
    ``contextlib`` generator: the world enters one around every hook call and every read."""

    __slots__ = ("found",)

    def __init__(self) -> None:
        self.found: list[Obligation] = []

    def __enter__(self) -> list[Obligation]:
        OBLIGATIONS.stack.append(self.found)
        return self.found

    def __exit__(self, *exc: object) -> None:
        OBLIGATIONS.stack.pop()


# --------------------------------------------------------------------------- z3 terms
# The symbolic engine builds millions of terms: these make exactly the ASTs z3's operators make
# (same constructor, same argument order) without their per-call coercion and sort checks, and
# make each numeral once. Every term lives in z3's main context.

_CTX = z3.main_ctx()
_REF = _CTX.ref()
_PAIR = z3.Ast * 2
_NUMERALS: dict[int, z3.ArithRef] = {}
_TRUE, _FALSE = z3.BoolVal(True), z3.BoolVal(False)
_TRUE_ID, _FALSE_ID = _TRUE.get_id(), _FALSE.get_id()


def _z(x: Raw) -> z3.ArithRef:
    """``x`` as a z3 integer term (``z3.IntVal`` for an int, made once)."""
    if isinstance(x, z3.ExprRef):
        return x
    t = _NUMERALS.get(x)
    if t is None:
        if len(_NUMERALS) > 100_000:
            _NUMERALS.clear()
        t = _NUMERALS[x] = z3.IntVal(x)
    return t


def _zb(x: RawBool) -> z3.BoolRef:
    if isinstance(x, z3.ExprRef):
        return x
    return _TRUE if x else _FALSE


def _nary(mk: Any, a: Raw, b: Raw) -> z3.ArithRef:
    return z3.ArithRef(mk(_REF, 2, _PAIR(_z(a).ast, _z(b).ast)), _CTX)


def _binary(mk: Any, a: Raw, b: Raw) -> z3.ArithRef:
    return z3.ArithRef(mk(_REF, _z(a).ast, _z(b).ast), _CTX)


def _rel(mk: Any, a: Raw, b: Raw) -> z3.BoolRef:
    return z3.BoolRef(mk(_REF, _z(a).ast, _z(b).ast), _CTX)


def _add(a: Raw, b: Raw) -> Raw:
    """``a + b`` (a z3 term when either is one)."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return _nary(z3.Z3_mk_add, a, b)


def _sub(a: Raw, b: Raw) -> Raw:
    if isinstance(a, int) and isinstance(b, int):
        return a - b
    return _nary(z3.Z3_mk_sub, a, b)


def _mul(a: Raw, b: Raw) -> Raw:
    if isinstance(a, int) and isinstance(b, int):
        return a * b
    return _nary(z3.Z3_mk_mul, a, b)


def _zdiv(a: Raw, b: Raw) -> z3.ArithRef:
    """z3's integer division ``a / b`` (at least one operand symbolic)."""
    return _binary(z3.Z3_mk_div, a, b)


def _zmod(a: Raw, b: Raw) -> z3.ArithRef:
    return _binary(z3.Z3_mk_mod, a, b)


def _neg(a: Raw) -> Raw:
    if isinstance(a, int):
        return -a
    return z3.ArithRef(z3.Z3_mk_unary_minus(_REF, a.ast), _CTX)


_CMP = {"<": z3.Z3_mk_lt, "<=": z3.Z3_mk_le, ">": z3.Z3_mk_gt, ">=": z3.Z3_mk_ge,
        "==": z3.Z3_mk_eq}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_PYCMP = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
          "==": operator.eq, "!=": operator.ne}


def _zcmp(op: str, a: Raw, b: Raw) -> RawBool:
    """``a op b`` as Python's operator makes it: on two ints a bool; with an int on the left,
    the term's reflected operator (``!=`` is z3's two-argument ``Distinct``)."""
    if not isinstance(a, z3.ExprRef):
        if not isinstance(b, z3.ExprRef):
            return _PYCMP[op](a, b)
        a, b, op = b, a, _FLIP[op]
    if op == "!=":
        return z3.BoolRef(z3.Z3_mk_distinct(_REF, 2, _PAIR(a.ast, _z(b).ast)), _CTX)
    return _rel(_CMP[op], a, b)


def _lt(a: Raw, b: Raw) -> RawBool:
    return _zcmp("<", a, b)


def _gt(a: Raw, b: Raw) -> RawBool:
    return _zcmp(">", a, b)


def _ge(a: Raw, b: Raw) -> RawBool:
    return _zcmp(">=", a, b)


def _zif(c: RawBool, a: Raw, b: Raw) -> z3.ArithRef:
    """``z3.If(c, a, b)`` on integers."""
    return z3.ArithRef(z3.Z3_mk_ite(_REF, _zb(c).ast, _z(a).ast, _z(b).ast), _CTX)


def z3_and(a: RawBool, b: RawBool) -> z3.BoolRef:
    """``z3.And(a, b)``."""
    return z3.BoolRef(z3.Z3_mk_and(_REF, 2, _PAIR(_zb(a).ast, _zb(b).ast)), _CTX)


def _zor(a: RawBool, b: RawBool) -> z3.BoolRef:
    return z3.BoolRef(z3.Z3_mk_or(_REF, 2, _PAIR(_zb(a).ast, _zb(b).ast)), _CTX)


def z3_not(a: RawBool) -> z3.BoolRef:
    return z3.BoolRef(z3.Z3_mk_not(_REF, _zb(a).ast), _CTX)


def _zbif(c: z3.BoolRef, a: RawBool, b: RawBool) -> z3.BoolRef:
    """``z3.If(c, a, b)`` on truth values."""
    return z3.BoolRef(z3.Z3_mk_ite(_REF, c.ast, _zb(a).ast, _zb(b).ast), _CTX)


def _literal(v: z3.BoolRef) -> RawBool:
    """``v`` itself, or True/False when it is z3's ``true``/``false`` (``z3.is_true`` ...)."""
    i = v.get_id()
    return True if i == _TRUE_ID else False if i == _FALSE_ID else v


# --------------------------------------------------------------------------- raw helpers


def _ite(c: RawBool, a: Raw, b: Raw) -> Raw:
    if isinstance(c, bool):
        return a if c else b
    if not is_sym(a) and not is_sym(b) and a == b:
        return a
    return _zif(c, a, b)


def _wrap(v: Raw, lo: int, hi: int, tmin: int, bits: int) -> tuple[Raw, int, int]:
    """Reduce ``v`` (bounds lo..hi) into [tmin, tmin + 2**bits); return value and new bounds."""
    m = 1 << bits
    tmax = tmin + m - 1
    if not is_sym(v):
        r = (v - tmin) % m + tmin
        return r, r, r
    if tmin <= lo and hi <= tmax:
        return v, lo, hi
    if tmin - m <= lo and hi <= tmax + m:
        if hi <= tmax:  # may only fall below the type
            return _zif(_lt(v, tmin), _add(v, m), v), tmin, tmax
        if lo >= tmin:  # may only rise above it
            return _zif(_gt(v, tmax), _sub(v, m), v), tmin, tmax
        return _zif(_lt(v, tmin), _add(v, m), _zif(_gt(v, tmax), _sub(v, m), v)), tmin, tmax
    return _add(_zmod(_sub(v, tmin), m), tmin), tmin, tmax


def _cdiv(a: Raw, b: Raw, alo: int, blo: int) -> Raw:
    """C division (truncation toward zero). z3's integer division is Euclidean, Python's floors."""
    if not is_sym(a) and not is_sym(b):
        if b == 0:
            return 0
        q = abs(a) // abs(b)
        return q if (a >= 0) == (b > 0) else -q
    if blo > 0 and alo >= 0:
        return _zdiv(a, b)  # both non-negative: Euclidean = floor = truncation
    if blo > 0:
        return _zif(_ge(a, 0), _zdiv(a, b), _neg(_zdiv(_neg(a), b)))
    pos = _zif(_ge(a, 0), _zdiv(a, b), _neg(_zdiv(_neg(a), b)))
    neg = _zif(_ge(a, 0), _neg(_zdiv(a, _neg(b))), _zdiv(_neg(a), _neg(b)))
    return _zif(_gt(b, 0), pos, neg)


def _mul_bounds(alo: int, ahi: int, blo: int, bhi: int) -> tuple[int, int]:
    c = (alo * blo, alo * bhi, ahi * blo, ahi * bhi)
    return min(c), max(c)


# --------------------------------------------------------------------------- Bool


#: A symbolic value whose intended wrap (``wrapping_add``, a conversion) is not yet applied may
#: stray this far from its type's range; past it the wrap is applied at once. Lazy wraps keep
#: ``G = H + (G0 - H0)`` one term where eager ones would nest an ``If`` per operation.
LAZY_LIMIT = 1 << 68


class Bool:
    """A truth value of either engine. ``if b:`` works only when the value is concrete."""

    __slots__ = ("v",)

    def __init__(self, v: RawBool) -> None:
        self.v = _literal(v) if isinstance(v, z3.ExprRef) else v

    def __bool__(self) -> bool:
        if isinstance(self.v, bool):
            return self.v
        raise SymbolicBranch(
            "a rule branched with if/and/or on a value only the solver knows; "
            "write ite(cond, a, b), max_(a, b) or min_(a, b) instead"
        )

    @property
    def symbolic(self) -> bool:
        return not isinstance(self.v, bool)

    def __and__(self, o: Bool | bool) -> Bool:
        ov = o.v if type(o) is Bool else _braw(o)
        if self.v is False or ov is False:
            return _FALSE_B
        if self.v is True:
            return o if type(o) is Bool else Bool(ov)
        if ov is True:
            return self
        return Bool(z3_and(self.v, ov))

    __rand__ = __and__

    def __or__(self, o: Bool | bool) -> Bool:
        ov = o.v if type(o) is Bool else _braw(o)
        if self.v is True or ov is True:
            return _TRUE_B
        if self.v is False:
            return o if type(o) is Bool else Bool(ov)
        if ov is False:
            return self
        return Bool(_zor(self.v, ov))

    __ror__ = __or__

    def __invert__(self) -> Bool:
        if self.v is True:
            return _FALSE_B
        return _TRUE_B if self.v is False else Bool(z3_not(self.v))

    def __repr__(self) -> str:
        return f"Bool({self.v})"


#: The two concrete truth values, shared: a ``Bool`` is immutable, and the concrete engine makes
#: several for every event.
_TRUE_B, _FALSE_B = Bool(True), Bool(False)
_BOOLS = (_FALSE_B, _TRUE_B)


def _braw(o: Bool | bool) -> RawBool:
    return o.v if isinstance(o, Bool) else bool(o)


def all_(items: list[Bool]) -> Bool:
    out = _TRUE_B
    for b in items:
        out = out & b
    return out


def any_(items: list[Bool]) -> Bool:
    out = _FALSE_B
    for b in items:
        out = out | b
    return out


# --------------------------------------------------------------------------- integers


def _same_type_fast(op: str, pyop: Callable[[int, int], int]) -> Callable[[Num, Any], Num]:
    """``Num``'s operator ``op``, with the concrete engine's commonest case first: two plain
    ints of one type whose result fits it (the same value ``_binop`` makes, with fewer calls)."""

    def method(self: Num, o: Any) -> Num:
        a, t = self.v, type(self)
        if type(o) is t and type(a) is int:
            b = o.v
            if type(b) is int:
                r = pyop(a, b)
                if t._LO <= r <= t._HI:
                    return _concrete(t, r)
        return self._binop(o, op)

    return method


#: ``Num.reduced`` results by (type, term id, bounds); values are immutable, so one is shared
_REDUCED: dict[tuple[type, int, int, int], tuple[z3.ExprRef, Num]] = {}


class Num:
    """An integer of a declared C type (subclasses) or a mathematical integer (``Int``).

    ``v`` is a Python int or a z3 integer term; ``lo``/``hi`` bound its value (exact when concrete).
    """

    __slots__ = ("v", "lo", "hi", "lazy")
    BITS: ClassVar[int | None] = None  # None: unbounded mathematical integer
    _MIN: ClassVar[int]  # the type's range and modulus (set below for each type; unused for Int)
    _MAX: ClassVar[int]
    _MOD: ClassVar[int]
    _LO: ClassVar[float]  # the range as a plain comparison tests it (infinite for ``Int``)
    _HI: ClassVar[float]
    SIGNED: ClassVar[bool] = True
    CTYPE: ClassVar[str] = "integer"

    def __init__(self, v: Raw, lo: int | None = None, hi: int | None = None,
                 lazy: bool = False) -> None:
        if type(v) is int:  # the concrete engine's path: a plain int, wrapped as C converts
            if self.BITS is not None and not self._MIN <= v <= self._MAX:
                v = (v - self._MIN) % self._MOD + self._MIN
            self.v = self.lo = self.hi = v
            self.lazy = False
            return
        if isinstance(v, bool):
            raise TypeError(f"{type(self).__name__} from a bool")
        if isinstance(v, Num):
            v = v.reduced().v
        if not is_sym(v):
            v = int(v)
            if self.BITS is not None and not self.tmin() <= v <= self.tmax():
                v = (v - self.tmin()) % (1 << self.BITS) + self.tmin()  # C conversion
            lo = hi = v
        else:
            lo = self.tmin() if lo is None else lo
            hi = self.tmax() if hi is None else hi
            if lo is None or hi is None:
                raise ValueError("a symbolic mathematical integer needs bounds")
        self.v, self.lo, self.hi = v, lo, hi
        self.lazy = lazy and is_sym(v)

    # ----- type facts
    @classmethod
    def tmin(cls) -> int | None:
        if cls.BITS is None:
            return None
        return -(1 << (cls.BITS - 1)) if cls.SIGNED else 0

    @classmethod
    def tmax(cls) -> int | None:
        if cls.BITS is None:
            return None
        return (1 << (cls.BITS - 1)) - 1 if cls.SIGNED else (1 << cls.BITS) - 1

    @classmethod
    def make(cls, v: Raw, lo: int, hi: int, what: str | None) -> Num:
        """Build a value of this type from a mathematical result, wrapping as C does.

        ``what`` names the operation for the overflow obligation; None means the wrap is intended.
        """
        if type(v) is int:  # concrete: wrap, and report the wrap unless it is intended
            if cls.BITS is not None and not cls._MIN <= v <= cls._MAX:
                if what is not None:
                    OBLIGATIONS.report(f"{what} leaves {cls.CTYPE} (value {v})", True)
                v = (v - cls._MIN) % cls._MOD + cls._MIN
            return _concrete(cls, v)
        if cls.BITS is None:
            return cls(v, lo, hi)
        tmin, tmax = cls.tmin(), cls.tmax()
        assert tmin is not None and tmax is not None
        if not is_sym(v):
            lo = hi = v  # a concrete result is its own bound (an operation's may be looser)
        if is_sym(v) and (lo < tmin or hi > tmax):  # before paying for a wrap, look closer
            lo, hi = tightened(v, lo, hi)
        if what is None and is_sym(v) and (lo < tmin or hi > tmax) and \
                max(-lo, hi) < LAZY_LIMIT:
            return cls(v, lo, hi, lazy=True)  # an intended wrap: reduce when a value is needed
        if what is not None and (lo < tmin or hi > tmax):
            if is_sym(v):
                sides = [_lt(v, tmin)] if lo < tmin else []
                sides += [_gt(v, tmax)] if hi > tmax else []
                cond = sides[0] if len(sides) == 1 else _zor(*sides)
                OBLIGATIONS.report(f"{what} leaves {cls.CTYPE}", cond)
            else:
                OBLIGATIONS.report(f"{what} leaves {cls.CTYPE} (value {v})", True)
        w, nlo, nhi = _wrap(v, lo, hi, tmin, cls.BITS)
        return cls(w, nlo, nhi)

    def reduced(self) -> Num:
        """The same value with its term inside the type's range (see ``LAZY_LIMIT``)."""
        if not self.lazy:
            return self
        k = (type(self), self.v.get_id(), self.lo, self.hi)
        hit = _REDUCED.get(k)
        if hit is None:
            tmin = self.tmin()
            assert tmin is not None and self.BITS is not None
            lo, hi = tightened(self.v, self.lo, self.hi)
            w, lo, hi = _wrap(self.v, lo, hi, tmin, self.BITS)
            if len(_REDUCED) > 200_000:
                _REDUCED.clear()
            hit = _REDUCED[k] = (self.v, type(self)(w, lo, hi))  # the term keeps its id alive
        return hit[1]

    @property
    def symbolic(self) -> bool:
        return is_sym(self.v)

    def __int__(self) -> int:
        if is_sym(self.v):
            raise SymbolicBranch("int() of a value only the solver knows")
        return int(self.v)

    __index__ = __int__

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.v})"

    def __bool__(self) -> bool:
        raise TypeError("a number is not a truth value here; compare it (x != 0)")

    def __hash__(self) -> int:  # values are used as data, never as dict keys
        raise TypeError(f"{type(self).__name__} is not hashable")

    # ----- coercion: a Python int literal takes the other operand's type (C's literal rule,
    # simplified); two C types meet as C's usual arithmetic conversions say.
    def _coerce(self, o: Any) -> tuple[type[Num], Num, Num]:
        if isinstance(o, bool):
            raise TypeError("arithmetic with a bool")
        if isinstance(o, int):
            return type(self), self, type(self)(o)
        if not isinstance(o, Num):
            return NotImplemented  # type: ignore[return-value]
        t = _common(type(self), type(o))
        return t, self.convert(t), o.convert(t)

    def convert(self, t: type[Num]) -> Num:
        """C conversion to type ``t`` (modular for integer types, as C does for unsigned)."""
        if t is type(self):
            return self
        v = self.v
        if type(v) is int:  # the concrete engine's path: ``make`` without its symbolic cases
            if not t._LO <= v <= t._HI:
                v = (v - t._MIN) % t._MOD + t._MIN
            return _concrete(t, v)
        x = self if t.BITS is not None and t.BITS == self.BITS else self.reduced()
        return t.make(x.v, x.lo, x.hi, None)

    # ----- arithmetic
    def _binop(self, o: Any, op: str, rev: bool = False) -> Num:
        p = _concrete_pair(self, o) if type(self.v) is int else None
        if p is not None:  # both concrete: plain ints, no bounds, no terms
            t, a, b = p
            if rev:
                a, b = b, a
            if op == "+":
                r = a + b
            elif op == "-":
                r = a - b
            elif op == "*":
                r = a * b
            elif b == 0:  # division by zero: the general path reports it
                r = None
            else:
                q = abs(a) // abs(b)  # C's division truncates toward zero
                q = q if (a >= 0) == (b > 0) else -q
                if op == "%":  # the remainder always fits; the quotient may not (MIN % -1)
                    r = None if not t._LO <= q <= t._HI else a - q * b
                    if r is not None:
                        return _concrete(t, r)
                else:
                    r = q
            if r is not None:
                if t._LO <= r <= t._HI:
                    return _concrete(t, r)
                return t.make(r, 0, 0, f"{t.CTYPE} {op}")  # wraps, and reports the overflow
        c = self._coerce(o)
        if c is NotImplemented:
            return NotImplemented
        t, a, b = c
        a, b = (b.reduced(), a.reduced()) if rev else (a.reduced(), b.reduced())
        if op == "+":
            return t.make(_add(a.v, b.v), a.lo + b.lo, a.hi + b.hi, f"{a.CTYPE} +")
        if op == "-":
            return t.make(_sub(a.v, b.v), a.lo - b.hi, a.hi - b.lo, f"{a.CTYPE} -")
        if op == "*":
            lo, hi = _mul_bounds(a.lo, a.hi, b.lo, b.hi)
            return t.make(_mul(a.v, b.v), lo, hi, f"{a.CTYPE} *")
        if op == "/":
            return _divide(t, a, b)
        if op == "%":
            _divide(t, a, b)  # for its reports: by zero, INT64_MIN / -1
            exact = _cdiv(a.v, b.v, a.lo, b.lo)  # the unwrapped quotient: |r| < |b|
            return t.make(_sub(a.v, _mul(exact, b.v)), *_rem_bounds(a, b), None)
        raise AssertionError(op)

    __add__ = _same_type_fast("+", operator.add)

    def __radd__(self, o: Any) -> Num:
        return self._binop(o, "+", True)

    __sub__ = _same_type_fast("-", operator.sub)

    def __rsub__(self, o: Any) -> Num:
        return self._binop(o, "-", True)

    __mul__ = _same_type_fast("*", operator.mul)

    def __rmul__(self, o: Any) -> Num:
        return self._binop(o, "*", True)

    def __truediv__(self, o: Any) -> Num:
        return self._binop(o, "/")

    def __rtruediv__(self, o: Any) -> Num:
        return self._binop(o, "/", True)

    def __mod__(self, o: Any) -> Num:
        return self._binop(o, "%")

    def __floordiv__(self, o: Any) -> Num:
        """Floor division by a positive constant, for mathematical ``Int`` values only (the
        properties' arithmetic); C types refuse it so no rule gets floor division by accident."""
        if self.BITS is not None or not isinstance(o, int) or o <= 0:
            raise TypeError("use / : these are C integers and / truncates as C does")
        if type(self.v) is int:
            return _concrete(Int, self.v // o)
        return Int(self.v // o if not is_sym(self.v) else _zdiv(self.v, o), self.lo // o,
                   self.hi // o)

    def __neg__(self) -> Num:
        x = self.reduced()
        return type(self).make(_neg(x.v), -x.hi, -x.lo, f"{self.CTYPE} unary -")

    def __rshift__(self, k: int) -> Num:
        """Shift right by a constant (C: logical for unsigned, arithmetic for signed here)."""
        if not isinstance(k, int) or not 0 <= k < 128:
            raise TypeError("shift by a constant between 0 and 127")
        d = 1 << k
        x = self.reduced()
        v = _zdiv(x.v, d) if is_sym(x.v) else x.v >> k  # floor for both engines
        if is_sym(x.v) and x.lo < 0:
            v = _zif(_ge(x.v, 0), _zdiv(x.v, d), _neg(_zdiv(_sub(_add(_neg(x.v), d), 1), d)))
        return type(self)(v, x.lo >> k, x.hi >> k)

    # ----- comparisons
    def _cmp(self, o: Any, op: str) -> Bool:
        a = self.v
        if type(a) is int:  # concrete: one type (the commonest) or a pair coerced as C does
            if type(o) is type(self) and type(o.v) is int:
                return _BOOLS[_COMPARE[op](a, o.v)]
            p = _concrete_pair(self, o)
            if p is not None:
                return _BOOLS[_COMPARE[op](p[1], p[2])]
        c = self._coerce(o)
        if c is NotImplemented:
            return NotImplemented
        _, a, b = c
        a, b = a.reduced(), b.reduced()
        x, y = a.v, b.v
        if not is_sym(x) and not is_sym(y):
            return Bool(_COMPARE[op](x, y))
        # decide from bounds when possible: smaller terms, same answer
        if op in ("<", ">=") and (a.hi < b.lo or a.lo >= b.hi):
            return Bool((a.hi < b.lo) == (op == "<"))
        if op in (">", "<=") and (a.lo > b.hi or a.hi <= b.lo):
            return Bool((a.lo > b.hi) == (op == ">"))
        return Bool(_zcmp(op, x, y))

    def __lt__(self, o: Any) -> Bool:
        return self._cmp(o, "<")

    def __le__(self, o: Any) -> Bool:
        return self._cmp(o, "<=")

    def __gt__(self, o: Any) -> Bool:
        return self._cmp(o, ">")

    def __ge__(self, o: Any) -> Bool:
        return self._cmp(o, ">=")

    def __eq__(self, o: Any) -> Bool:  # type: ignore[override]
        return self._cmp(o, "==")

    def __ne__(self, o: Any) -> Bool:  # type: ignore[override]
        return self._cmp(o, "!=")


def _rem_bounds(a: Num, b: Num) -> tuple[int, int]:
    """C's remainder has the dividend's sign and is smaller than the divisor in magnitude."""
    m = max(abs(b.lo), abs(b.hi), 1)
    lo = 0 if a.lo >= 0 else max(-(m - 1), a.lo)
    hi = 0 if a.hi <= 0 else min(m - 1, a.hi)
    return lo, hi


def _divide(t: type[Num], a: Num, b: Num) -> Num:
    if b.lo <= 0 <= b.hi and (b.symbolic or b.v == 0):
        cond = (b.v == 0) if b.symbolic else True
        OBLIGATIONS.report(f"{a.CTYPE} / by zero", cond)
    q = _cdiv(a.v, b.v, a.lo, b.lo)
    # bounds of a truncating quotient: |q| <= |a| / min|b|
    bmin = 1 if b.lo <= 0 <= b.hi else min(abs(b.lo), abs(b.hi))
    amax = max(abs(a.lo), abs(a.hi))
    lo = -(amax // bmin)
    hi = amax // bmin
    if a.lo >= 0 and b.lo > 0:
        lo, hi = a.lo // b.hi, a.hi // b.lo
    # INT64_MIN / -1 overflows; make() reports it
    return t.make(q, lo, hi, f"{a.CTYPE} /")


class Int(Num):
    """A mathematical integer (no C type): true time, expected values inside properties."""

    CTYPE = "integer"


class U64(Num):
    BITS, SIGNED, CTYPE = 64, False, "uint64_t"


class S64(Num):
    BITS, SIGNED, CTYPE = 64, True, "int64_t"


class U32(Num):
    BITS, SIGNED, CTYPE = 32, False, "uint32_t"


class U128(Num):
    BITS, SIGNED, CTYPE = 128, False, "unsigned __int128"


class S128(Num):
    BITS, SIGNED, CTYPE = 128, True, "__int128"


_RANK: dict[type[Num], int] = {U32: 1, S64: 2, U64: 3, S128: 4, U128: 5, Int: 6}


def _common(a: type[Num], b: type[Num]) -> type[Num]:
    """C's usual arithmetic conversions for the types we have (same width: unsigned wins)."""
    return a if _RANK[a] >= _RANK[b] else b


def _concrete(t: type[Num], v: int) -> Num:
    """A value of ``t`` from an int already within its range: the concrete engine's constructor
    (no checks, since every caller has wrapped ``v``)."""
    x = _new(t)
    x.v = x.lo = x.hi = v
    x.lazy = False
    return x


_new = object.__new__


def _concrete_pair(x: Num, o: Any) -> tuple[type[Num], int, int] | None:
    """The concrete engine's coercion (``Num._coerce`` on plain ints): the common type and both
    values converted to it, or None when ``o`` is symbolic or no number (the general path)."""
    ot = type(o)
    t = type(x)
    if ot is int:  # a literal takes the other operand's type
        return t, x.v, o if t._LO <= o <= t._HI else (o - t._MIN) % t._MOD + t._MIN
    rank = _RANK.get(ot)
    if rank is None or type(o.v) is not int:
        return None
    a, b = x.v, o.v
    if rank > _RANK[t]:
        t = ot
        if not t._LO <= a <= t._HI:
            a = (a - t._MIN) % t._MOD + t._MIN
    elif t is not ot and not t._LO <= b <= t._HI:
        b = (b - t._MIN) % t._MOD + t._MIN
    return t, a, b


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
    "==": operator.eq, "!=": operator.ne}
for _t in (Int, U64, S64, U32, U128, S128):  # each C type's range, computed once
    _t._MIN, _t._MAX = _t.tmin(), _t.tmax()  # type: ignore[assignment]
    _t._MOD = None if _t.BITS is None else 1 << _t.BITS  # type: ignore[assignment]
    # the range as the concrete paths test it: ``Int``'s is unbounded (an int compares exactly
    # with an infinite float)
    _t._LO = -math.inf if _t.BITS is None else _t._MIN  # type: ignore[assignment]
    _t._HI = math.inf if _t.BITS is None else _t._MAX  # type: ignore[assignment]


# --------------------------------------------------------------------------- operations


def ite(c: Bool | bool, a: Any, b: Any) -> Any:
    """``c ? a : b`` on numbers (same type after conversion) or on Bools."""
    cv = _braw(c)
    if isinstance(a, Bool) or isinstance(b, Bool):
        av, bv = _braw(a), _braw(b)
        if isinstance(cv, bool):
            return Bool(av if cv else bv)
        return Bool(_zbif(cv, av, bv))
    if isinstance(a, int) and isinstance(b, int):
        a, b = Int(a), Int(b)
    if isinstance(a, int) and isinstance(b, Num):
        a = type(b)(a)
    if isinstance(b, int) and isinstance(a, Num):
        b = type(a)(b)
    t = _common(type(a), type(b))
    a, b = a.convert(t), b.convert(t)
    if isinstance(cv, bool):
        return a if cv else b
    return t(_ite(cv, a.v, b.v), min(a.lo, b.lo), max(a.hi, b.hi), lazy=a.lazy or b.lazy)


def max_(a: Any, b: Any) -> Any:
    """C's MAX(a, b); its bounds are tighter than an ``ite``'s (never below either lower)."""
    r = ite(a >= b, a, b) if isinstance(a, Num) else ite(b <= a, a, b)
    if isinstance(r, Num) and r.symbolic and isinstance(a, Num) and isinstance(b, Num):
        a, b = a.convert(type(r)), b.convert(type(r))
        r = type(r)(r.v, max(a.lo, b.lo, r.lo), r.hi, lazy=r.lazy) if not r.lazy else r
    return r


def min_(a: Any, b: Any) -> Any:
    """C's MIN(a, b); never above either upper bound."""
    r = ite(a <= b, a, b) if isinstance(a, Num) else ite(b >= a, a, b)
    if isinstance(r, Num) and r.symbolic and isinstance(a, Num) and isinstance(b, Num):
        a, b = a.convert(type(r)), b.convert(type(r))
        r = type(r)(r.v, r.lo, min(a.hi, b.hi, r.hi), lazy=r.lazy) if not r.lazy else r
    return r


def clamp(x: Num, lo: Any, hi: Any) -> Num:
    return min_(max_(x, lo), hi)


def wrapping_add(a: Num, b: Num | int) -> Num:
    """Modular addition, intended (``G = H + off``): records no overflow."""
    p = _concrete_pair(a, b) if type(a.v) is int else None
    if p is not None:
        t, r = p[0], p[1] + p[2]
        return _concrete(t, r if t._LO <= r <= t._HI else (r - t._MIN) % t._MOD + t._MIN)
    t, x, y = a._coerce(b)
    return t.make(_add(x.v, y.v), x.lo + y.lo, x.hi + y.hi, None)


def wrapping_sub(a: Num, b: Num | int) -> Num:
    """Modular subtraction, intended (``off = G - H``): records no overflow."""
    p = _concrete_pair(a, b) if type(a.v) is int else None
    if p is not None:
        t, r = p[0], p[1] - p[2]
        return _concrete(t, r if t._LO <= r <= t._HI else (r - t._MIN) % t._MOD + t._MIN)
    t, x, y = a._coerce(b)
    return t.make(_sub(x.v, y.v), x.lo - y.hi, x.hi - y.lo, None)


def to_s64(x: Num) -> S64:
    """C cast to int64_t (two's complement reinterpretation)."""
    return x.convert(S64)  # type: ignore[return-value]


def to_u64(x: Num) -> U64:
    """C cast to uint64_t."""
    return x.convert(U64)  # type: ignore[return-value]


def to_u32(x: Num) -> U32:
    """C conversion to uint32_t, e.g. passing a frequency to a ``uint32_t`` parameter."""
    return x.convert(U32)  # type: ignore[return-value]


def muldiv64(a: Num, b: Num | int, c: Num | int) -> U64:
    """QEMU's ``uint64_t muldiv64(uint64_t a, uint32_t b, uint32_t c)``: ``a * b / c`` with a
    128-bit intermediate. ``b`` and ``c`` are passed as ``uint32_t``: a larger value is cut (and
    reported, since it left its declared type)."""
    a64 = (to_u64(a) if isinstance(a, Num) else U64(a)).reduced()
    b32 = _as_param(b, U32, "muldiv64 argument b")
    c32 = _as_param(c, U32, "muldiv64 argument c")
    prod = U128.make(_mul(a64.v, b32.v), *_mul_bounds(a64.lo, a64.hi, b32.lo, b32.hi), "128-bit *")
    q = prod / U128(c32.v, c32.lo, c32.hi) if c32.symbolic else prod / c32.v
    return U64.make(q.v, q.lo, q.hi, "muldiv64 result")  # type: ignore[return-value]


def _as_param(x: Num | int, t: type[Num], what: str) -> Num:
    """Pass ``x`` to a C parameter of type ``t``; a value that does not fit is reported."""
    x = Int(x) if isinstance(x, int) else x.reduced()
    return t.make(x.v, x.lo, x.hi, f"{what} (passed as {t.CTYPE})")


def align_up(x: Num, a: int) -> Num:
    """``ALIGN(x, a)`` for a power of two ``a``: ``(x + a - 1) & ~(a - 1)`` in x's type."""
    if a <= 0 or a & (a - 1):
        raise ValueError("align_up needs a power of two")
    y = wrapping_add(x, a - 1)
    r = y % a if not y.symbolic else type(y)(_zmod(y.v, a), 0, a - 1)
    return wrapping_sub(y, r)


def value(x: Num | Bool, model: z3.ModelRef | None = None) -> int | bool:
    """The concrete value of ``x``: itself when concrete, else its value in ``model``."""
    if isinstance(x, Bool):
        if isinstance(x.v, bool):
            return x.v
        assert model is not None
        return z3.is_true(model.eval(x.v, model_completion=True))
    x = x.reduced()
    if not is_sym(x.v):
        return int(x.v)
    assert model is not None
    return model.eval(x.v, model_completion=True).as_long()


def fresh(t: type[Num], name: str, lo: int, hi: int) -> tuple[Num, z3.BoolRef]:
    """A new symbolic value of type ``t`` ranging over ``lo..hi``, with its range constraint
    (returned, to assert). The range is part of the unknown's name (``model.intervals``): the
    bounds that simplify its terms are its own, whatever else the process has built."""
    v = z3.Int(ranged_name(name, lo, hi))
    return t(v, lo, hi), z3.And(v >= lo, v <= hi)


def assign(t: type[Num], x: Num | int, what: str) -> Num:
    """C assignment of ``x`` to a variable or field of type ``t`` (named ``what``): a value that
    does not fit is converted as C does and reported as leaving its declared type."""
    return _as_param(x, t, what)
