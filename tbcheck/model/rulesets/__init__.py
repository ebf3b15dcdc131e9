"""The built-in rule sets, one file each, each citing its source in its docstring."""
