"""Bounded model checking of the one model with z3, with honest verdicts."""
