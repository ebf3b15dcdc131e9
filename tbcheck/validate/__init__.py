"""``tbcheck validate``: check a recorded real-QEMU trace against the properties and,
optionally, against a rule set's predictions.

- ``records``: the validator's data: scenarios of steps and reads, each placed in a window;
- ``rebuild``: rebuild each scenario's events, with time windows, from the trace;
- ``judge``: the properties on the real reads (the predicates of ``properties.predicates``,
  widened by each read's window);
- ``conformance``: replay the scenario in the concrete engine and compare every read;
- ``mismatch``: a read outside what was allowed, as every report shows it;
- ``report``: text and JSON output.
"""
