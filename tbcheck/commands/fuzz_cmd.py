"""Placeholder until the subcommand lands."""

import argparse

from tbcheck.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    pass


def run(args: argparse.Namespace) -> int:
    raise UsageError("this subcommand is not built yet")
