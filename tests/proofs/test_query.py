"""``proofs.query.scoped``: a model the shared solver hands back is one of the question."""

from __future__ import annotations

import z3

from tbcheck.proofs.query import scoped


class _Stale(z3.Solver):
    """A solver whose models, once, are of something else (as z3's pushed questions gave)."""

    bogus = True

    def model(self) -> z3.ModelRef:
        if _Stale.bogus:
            _Stale.bogus = False
            other = z3.Solver()
            other.add(z3.Bool("a") == False)  # noqa: E712 - z3 terms
            other.check()
            return other.model()
        return super().model()


def test_a_model_that_does_not_satisfy_the_question_is_asked_again() -> None:
    a, b = z3.Bools("a b")
    s = _Stale()
    s.add(z3.Or(a, b))
    r, m = scoped(s, [a], 10**6)
    assert r == z3.sat and m is not None
    assert z3.is_true(m.eval(a, model_completion=True))
    assert len(s.assertions()) == 1  # the question was popped
