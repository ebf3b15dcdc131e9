"""Walks over z3 terms that the proofs share: a term's applications and its unknowns."""

from __future__ import annotations

from collections.abc import Iterator

import z3


def each_app(t: z3.ExprRef) -> Iterator[z3.Ast]:
    """Every application in ``t``, each shared subterm once. (The walk reads the AST through
    z3's C API: a z3py object for every node costs more than the walk.)"""
    ref = t.ctx.ref()
    seen: set[int] = set()
    todo = [t.as_ast()]
    while todo:
        a = todo.pop()
        key = z3.Z3_get_ast_id(ref, a)
        if key in seen or z3.Z3_get_ast_kind(ref, a) != z3.Z3_APP_AST:
            continue
        seen.add(key)
        yield a
        todo.extend(z3.Z3_get_app_arg(ref, a, i) for i in range(z3.Z3_get_app_num_args(ref, a)))


def free_names(t: z3.ExprRef) -> frozenset[str]:
    """The names of the unknowns in ``t``."""
    ref = t.ctx.ref()
    return frozenset(
        z3.ExprRef(a, t.ctx).decl().name() for a in each_app(t)
        if z3.Z3_get_app_num_args(ref, a) == 0
        and z3.Z3_get_decl_kind(ref, z3.Z3_get_app_decl(ref, a)) == z3.Z3_OP_UNINTERPRETED)
