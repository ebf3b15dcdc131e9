"""Running ``tbcheck validate`` from tests, and editing copies of the reference traces."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from tbcheck.cli import main

DATA = Path(__file__).parents[1] / "data"
TRACES = {"pseries": DATA / "pseries.trace.jsonl", "mac99": DATA / "mac99.trace.jsonl"}


def cli(*argv: str) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of ``tbcheck *argv``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@lru_cache(maxsize=32)
def validate_json(*argv: str) -> tuple[int, dict[str, Any]]:
    """``tbcheck validate *argv --json``: exit status and the document (cached: it is pure)."""
    code, out, err = cli("validate", *argv, "--json")
    assert out, f"no output (exit {code}): {err}"
    return code, json.loads(out)


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write(path: Path, recs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    return path


def edit(src: Path, dst: Path, change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
         ) -> Path:
    return write(dst, change(records(src)))


def result(doc: dict[str, Any], prop: str) -> dict[str, Any]:
    (r,) = [r for r in doc["results"] if r["property"] == prop]
    return r


def marks(recs: list[dict[str, Any]], label: str, scenario: str | None = None
          ) -> list[dict[str, Any]]:
    return [r for r in recs if r["kind"] == "mark" and r["label"] == label
            and (scenario is None or r["scenario"] == scenario)]


def reads(recs: list[dict[str, Any]], scenario: str | None = None) -> list[dict[str, Any]]:
    return [r for r in recs if r["kind"] == "read"
            and (scenario is None or r["scenario"] == scenario)]
