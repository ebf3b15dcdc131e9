"""The recorded-trace format: JSON Lines, one record a line, every record ``{"v": 1, "kind": ...}``.

A trace is what ``tbcheck record`` observed of a real QEMU guest's timebase and what
``tbcheck validate`` maps onto the model's events. The full description, with the meaning of every
field and how to rebuild the model's events from it, is docs/trace-format.md; this module is the
one place that writes and checks it, so that a recorder bug and a damaged file are caught alike.

Forward compatibility: a reader ignores fields it does not know; ``v`` is the format's major
version and a larger one than ``VERSION`` is refused with a clear message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from tbcheck.errors import UsageError

VERSION = 1

U64_MAX = (1 << 64) - 1

#: Fields each kind must carry (besides ``v`` and ``kind``), with the JSON types allowed.
#: ``None`` in a type tuple means the field may be null.
_INT = (int,)
_STR = (str,)
_WINDOW = {
    "rt_before_ns": _INT,
    "rt_after_ns": _INT,
    "mono_before_ns": _INT,
    "mono_after_ns": _INT,
}
REQUIRED: dict[str, dict[str, tuple[type | None, ...]]] = {
    "header": {
        "tool": _STR,
        "tool_version": _STR,
        "created_rt_ns": _INT,
        "qemu": (dict,),
        "machine_args": (list,),
        "vcpus": _INT,
        "tb_freq_hz": (int, None),
        "scenarios": (list,),
        "host": (dict,),
    },
    "scenario": {"name": _STR, "edge": _STR, "rt_ns": _INT, "mono_ns": _INT},
    "command": {"scenario": (str, None), "vm": _STR, "cmd": _STR, "ok": (bool,), **_WINDOW},
    "event": {
        "scenario": (str, None),
        "vm": _STR,
        "event": _STR,
        "qemu_rt_us": (int, None),
        "recv_rt_ns": _INT,
        "recv_mono_ns": _INT,
    },
    "read": {
        "scenario": _STR,
        "vm": _STR,
        "vcpu": _INT,
        "tb": _INT,
        "runstate": (str, None),
        "point": _STR,
        **_WINDOW,
    },
    "mark": {"scenario": _STR, "label": _STR, "vm": (str, None), **_WINDOW},
    "footer": {"status": _STR, "rt_ns": _INT, "mono_ns": _INT},
}
#: Fields a kind may carry (older traces lack them), with the JSON types allowed when present.
OPTIONAL: dict[str, dict[str, tuple[type | None, ...]]] = {
    "header": {
        "machine": (str, None),
        "tb_freq_source": (str, None),
        "tb_freq_error_hz": (int, None),  # how far the true frequency may be from tb_freq_hz
    },
}
KINDS = frozenset(REQUIRED)
FOOTER_STATUSES = frozenset({"complete", "interrupted", "failed"})
SCENARIO_EDGES = frozenset({"begin", "end"})

#: Mark labels this version writes (validate: a reader meets only these; others are ignored).
MARK_LABELS: dict[str, str] = {
    "vm-start": "a QEMU process started and its QMP connected (fields pid, argv, incoming)",
    "vm-quit": "a QEMU process ended (field exit_code)",
    "wait": "the recorder slept (field seconds): the guest's run(d) or a paused interval",
    "stop": "explicit stop (window = the QMP stop command)",
    "cont": "explicit cont (window = the QMP cont command)",
    "migrate-start": "migrate command sent (from, to, uri, transport, source_state, held)",
    "migrate-held": "source reached pre-switchover (pause-before-switchover)",
    "migrate-continue": "migrate-continue sent: the held switchover proceeds",
    "migrate-saved": "file migration: the stream is on disk, source in postmigrate",
    "migrate-load-start": "file migration: the destination starts reading the file",
    "migrate-done": "migration completed on both sides (from, to, dest_state)",
    "migrate-cancel": "migrate_cancel sent",
    "migrate-failed": "migration ended without completing (from, to, source_state)",
    "savevm": "HMP savevm (window = the command; field snapshot)",
    "loadvm": "HMP loadvm (window = the command; field snapshot)",
}


def clocks() -> tuple[int, int]:
    """(CLOCK_REALTIME, CLOCK_MONOTONIC) in ns, the two clocks every time in a trace uses."""
    return time.clock_gettime_ns(time.CLOCK_REALTIME), time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def _type_ok(value: Any, allowed: tuple[type | None, ...]) -> bool:
    if value is None:
        return None in allowed
    if isinstance(value, bool) and bool not in allowed:
        return False  # JSON true is not an integer here
    return any(t is not None and isinstance(value, t) for t in allowed)


def check_record(record: Any) -> str | None:
    """Why ``record`` is not a valid record on its own, or None; structure is checked later."""
    if not isinstance(record, dict):
        return "record is not a JSON object"
    if "v" not in record:
        return "missing format version field 'v'"
    v = record["v"]
    if not isinstance(v, int) or isinstance(v, bool) or v < 1:
        return f"bad format version {v!r} (expected a positive integer)"
    if v > VERSION:
        return (
            f"trace format version {v} is newer than this tbcheck reads (up to {VERSION}); "
            "upgrade tbcheck"
        )
    kind = record.get("kind")
    if kind not in KINDS:
        return f"unknown record kind {kind!r}" if "kind" in record else "missing field 'kind'"
    for name, allowed in REQUIRED[kind].items():
        if name not in record:
            return f"{kind} record: missing field {name!r}"
        if not _type_ok(record[name], allowed):
            return f"{kind} record: field {name!r} has the wrong type ({record[name]!r})"
    for name, allowed in OPTIONAL.get(kind, {}).items():
        if name in record and not _type_ok(record[name], allowed):
            return f"{kind} record: field {name!r} has the wrong type ({record[name]!r})"
    if "rt_before_ns" in REQUIRED[kind]:
        if record["rt_before_ns"] > record["rt_after_ns"]:
            return f"{kind} record: rt_before_ns > rt_after_ns"
        if record["mono_before_ns"] > record["mono_after_ns"]:
            return f"{kind} record: mono_before_ns > mono_after_ns"
    if kind == "read":
        if not 0 <= record["tb"] <= U64_MAX:
            return f"read record: tb {record['tb']} is not an unsigned 64-bit value"
        if record["vcpu"] < 0:
            return "read record: negative vcpu"
    if kind == "scenario" and record["edge"] not in SCENARIO_EDGES:
        return f"scenario record: edge {record['edge']!r} is not 'begin' or 'end'"
    if kind == "scenario" and record["edge"] == "end" and not isinstance(record.get("ok"), bool):
        return "scenario end record: missing or non-boolean field 'ok'"
    if kind == "footer" and record["status"] not in FOOTER_STATUSES:
        return f"footer record: unknown status {record['status']!r}"
    if kind == "header" and record["vcpus"] < 1:
        return "header record: vcpus must be at least 1"
    if kind == "header" and record["tb_freq_hz"] is not None and record["tb_freq_hz"] <= 0:
        return "header record: tb_freq_hz must be positive"
    if kind == "header" and record.get("tb_freq_error_hz") is not None:
        if record["tb_freq_error_hz"] < 0:
            return "header record: negative tb_freq_error_hz"
        if record["tb_freq_hz"] is None:
            return "header record: tb_freq_error_hz without a tb_freq_hz"
    return None


def write_record(fh: IO[str], record: dict[str, Any]) -> None:
    """Check ``record`` (``v`` is filled in) and append it as one line, flushed at once.

    Flushing each line means an interrupted recording leaves every completed record readable.
    """
    record = {"v": VERSION, **record}
    problem = check_record(record)
    if problem:
        raise ValueError(f"refusing to write an invalid trace record: {problem}")
    fh.write(json.dumps(record, separators=(",", ":"), sort_keys=False) + "\n")
    fh.flush()


class TraceWriter:
    """A trace file being recorded: knows the open scenario so every record is tagged with it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self._fh: IO[str] = self.path.open("w", encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write trace {self.path}: {exc.strerror}") from None
        self.scenario: str | None = None

    def write(self, kind: str, **fields: Any) -> None:
        write_record(self._fh, {"kind": kind, **fields})

    def begin(self, name: str) -> None:
        rt, mono = clocks()
        self.scenario = name
        self.write("scenario", name=name, edge="begin", rt_ns=rt, mono_ns=mono)

    def end(self, ok: bool, wall_s: float, error: str | None = None) -> None:
        rt, mono = clocks()
        name, self.scenario = self.scenario, None
        self.write(
            "scenario", name=name, edge="end", rt_ns=rt, mono_ns=mono, ok=ok, wall_s=wall_s,
            error=error,
        )

    def close(self, status: str, **fields: Any) -> None:
        rt, mono = clocks()
        self.write("footer", status=status, rt_ns=rt, mono_ns=mono, **fields)
        self._fh.close()


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        with path.open("r", encoding="utf-8") as fh:
            yield from enumerate(fh, start=1)
    except FileNotFoundError:
        raise UsageError(f"{path}: no such trace file") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not a UTF-8 text file ({exc.reason})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read trace: {exc.strerror}") from None


def read_trace(path: str | Path) -> list[dict[str, Any]]:
    """Read and check a whole trace; any defect is a UsageError naming the file and line.

    Checks each record's own shape (``check_record``) and the file's structure: the header comes
    first and only once, scenarios begin and end in pairs without nesting, reads and marks lie
    inside a scenario and name it, and a footer closes the file (its absence means truncation).
    """
    path = Path(path)
    records: list[dict[str, Any]] = []
    open_scenario: str | None = None
    begun: set[str] = set()
    footer_line = 0
    last = 0
    for lineno, line in _lines(path):
        last = lineno

        def fail(msg: str, n: int = lineno) -> UsageError:
            return UsageError(f"{path}:{n}: {msg}")

        if not line.strip():
            raise fail("empty line")
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            hint = " (truncated record?)" if not line.endswith("\n") else ""
            raise fail(f"malformed JSON: {exc.msg} at column {exc.colno}{hint}") from None
        problem = check_record(record)
        if problem:
            raise fail(problem)
        kind = record["kind"]
        if footer_line:
            raise fail(f"record after the footer (line {footer_line})")
        if lineno == 1 and kind != "header":
            raise fail(f"first record is {kind!r}, expected the header")
        if lineno > 1 and kind == "header":
            raise fail("a second header")
        if kind == "scenario":
            name = record["name"]
            if record["edge"] == "begin":
                if open_scenario is not None:
                    raise fail(f"scenario {name!r} begins inside scenario {open_scenario!r}")
                if name in begun:
                    raise fail(f"scenario {name!r} recorded twice")
                if name not in records[0]["scenarios"]:
                    raise fail(f"scenario {name!r} is not in the header's scenario list")
                open_scenario = name
                begun.add(name)
            else:
                if open_scenario != name:
                    raise fail(f"end of scenario {name!r}, but the open one is {open_scenario!r}")
                open_scenario = None
        elif kind in ("read", "mark"):
            if open_scenario is None:
                raise fail(f"{kind} record outside any scenario")
            if record["scenario"] != open_scenario:
                raise fail(
                    f"{kind} record names scenario {record['scenario']!r} inside {open_scenario!r}"
                )
        elif kind == "footer":
            if open_scenario is not None:
                raise fail(f"footer while scenario {open_scenario!r} is still open")
            footer_line = lineno
            if record["status"] == "complete":
                missing = [s for s in records[0]["scenarios"] if s not in begun]
                if missing:
                    raise fail(f"footer says complete but scenarios {missing} were not recorded")
        records.append(record)
    if not records:
        raise UsageError(f"{path}:1: empty trace file (no header)")
    if open_scenario is not None:
        raise UsageError(
            f"{path}:{last}: truncated trace: scenario {open_scenario!r} begun but never ended"
        )
    if not footer_line:
        raise UsageError(f"{path}:{last}: truncated trace: no footer record at the end")
    return records
