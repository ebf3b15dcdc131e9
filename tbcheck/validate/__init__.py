"""``tbcheck validate``: check a recorded real-QEMU trace against the properties and,
optionally, against a rule set's predictions.

- ``events_from_trace``: rebuild each scenario's events, with time windows, from the trace;
- ``judge``: the properties on the real reads (the predicates of ``properties.predicates``,
  widened by each read's window);
- ``conformance``: replay the scenario in the concrete engine and compare every read;
- ``report``: text and JSON output.
"""
