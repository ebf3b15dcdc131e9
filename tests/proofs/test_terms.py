"""The term walks visit each shared subterm once and name exactly a term's unknowns."""

from __future__ import annotations

import z3

from tbcheck.proofs.terms import each_app, free_names


def test_a_shared_subterm_is_visited_once() -> None:
    x, y = z3.Ints("tw_x tw_y")
    shared = (x * y) / 1000
    apps = [z3.ExprRef(a).sexpr() for a in each_app(shared + shared * 2 <= shared)]
    assert apps.count(shared.sexpr()) == 1
    assert apps.count("tw_x") == 1 and "1000" not in apps  # numerals are not applications


def test_free_names_are_the_unknowns_only() -> None:
    x, y = z3.Ints("tw_x tw_y")
    b = z3.Bool("tw_b")
    assert free_names(z3.If(b, x + 1, y / 7) > 3) == {"tw_b", "tw_x", "tw_y"}
    assert free_names(z3.IntVal(5) > 3) == frozenset()
