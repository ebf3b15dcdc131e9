"""The seven properties of docs/properties.md: each defined once, in ``predicates`` (what holds) and
``monitor`` (when it is checked), for the SMT engine, the fuzzer and the trace validator alike."""

from tbcheck.properties.registry import PROPERTIES, Property, property_names

__all__ = ["PROPERTIES", "Property", "property_names"]
