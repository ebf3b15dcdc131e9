"""The README's synopsis lists every option of every command, as `--help` knows them."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from tbcheck.cli import COMMANDS, build_parser

README = Path(__file__).resolve().parents[2] / "README.md"


def _synopsis() -> dict[str, str]:
    """Each command's lines in the README's "Command line" block."""
    text = README.read_text()
    block = text.split("## Command line", 1)[1].split("```", 2)[1]
    out: dict[str, str] = {}
    name = ""
    for line in block.splitlines():
        m = re.match(r"tbcheck (-*\w+)", line)
        if m:
            name = m.group(1)
        if name:
            out[name] = out.get(name, "") + " " + line
    return out


def _options(command: str) -> set[str]:
    sub = next(a for a in build_parser()._actions
               if isinstance(a, argparse._SubParsersAction)).choices[command]
    return {s for a in sub._actions if a.help != argparse.SUPPRESS
            for s in a.option_strings if s not in ("-h", "--help")}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_option_is_in_the_synopsis(command: str) -> None:
    said = set(re.findall(r"--[a-z0-9-]+", _synopsis()[command]))
    assert said == _options(command)


def test_the_version_is_in_the_synopsis() -> None:
    assert "--version" in _synopsis()["--version"]
