"""A counterexample's numbers are made plain while its violation persists."""

from __future__ import annotations

from tbcheck.model.registry import builtin
from tbcheck.proofs.counterexample import _numbers, _plainer, first_violation, simplify
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.hunt import hunt

ENV = Envelope(depth=8)


def test_plainer_values_stay_in_range_plainest_first() -> None:
    assert _plainer(2414290676368, 0) == [0, 2000000000000, 2400000000000]
    assert _plainer(1821872, 10**6) == [1000000, 1800000]  # 0 is below the lowest frequency
    assert _plainer(7, 0, (9,)) == [9, 0]  # a preferred value may be higher
    assert _plainer(9, 0, (9,)) == []  # and one already preferred stays
    assert _plainer(0, 0) == []


def test_a_hunted_counterexample_has_plain_numbers() -> None:
    rules = builtin("qemu-ppc-v3")
    raw, _ = hunt(rules, "snapshot-frozen", ENV, seed=1)
    assert raw is not None
    # hunt simplifies what it finds: most numbers left are 0 or one or two digits, zeros after
    assert first_violation(rules, ENV, raw.draw, raw.events, "snapshot-frozen")
    plain = [x for x, _, _ in _numbers(raw, ENV)]
    round_ = [x for x in plain if x == 0 or str(x).rstrip("0") in {str(x)[:1], str(x)[:2]}]
    assert len(round_) >= len(plain) * 3 // 4, plain  # most numbers are 0 or one/two digits


def test_simplify_lowers_a_raw_counterexample() -> None:
    from tbcheck.proofs.counterexample import Violation
    from tbcheck.proofs.samples import walks

    rules = builtin("qemu-ppc-v1")
    for walk, _ in walks(rules, ENV, 200, ENV.depth, 0):
        bad = [c for _, c in walk.path.checks if c.prop == "monotonic" and not c.ok.v]
        walk.path.checks.clear()
        if bad:
            raw = first_violation(rules, ENV, walk.draw, list(walk.events), "monotonic")
            break
    assert isinstance(raw, Violation)
    out = simplify(rules, ENV, raw, "monotonic")
    assert first_violation(rules, ENV, out.draw, out.events, "monotonic")
    before = [x for x, _, _ in _numbers(raw, ENV)]
    after = [x for x, _, _ in _numbers(out, ENV)]
    assert sum(after) < sum(before)
