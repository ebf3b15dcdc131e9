"""The trace format: what the recorder writes reads back unchanged, and every defect in a file is
a one-line UsageError that names the file and the line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tbcheck.errors import UsageError
from tbcheck.trace import VERSION, TraceWriter, read_trace, write_record

DATA = Path(__file__).parent / "data"
WIN = {"rt_before_ns": 10, "rt_after_ns": 20, "mono_before_ns": 1, "mono_after_ns": 2}


def header(**over: Any) -> dict[str, Any]:
    rec = {
        "v": VERSION,
        "kind": "header",
        "tool": "tbcheck",
        "tool_version": "0.1.0",
        "created_rt_ns": 5,
        "qemu": {"binary": "qemu-system-ppc64", "version": "7.2.22"},
        "machine_args": ["-M", "pseries"],
        "vcpus": 2,
        "tb_freq_hz": 512_000_000,
        "scenarios": ["stop-cont"],
        "host": {"arch": "x86_64"},
    }
    rec.update(over)
    return rec


def valid_records() -> list[dict[str, Any]]:
    """A small complete trace: header, one scenario with every record kind, footer."""
    s = "stop-cont"
    return [
        header(),
        {"v": 1, "kind": "scenario", "name": s, "edge": "begin", "rt_ns": 1, "mono_ns": 1},
        {"v": 1, "kind": "read", "scenario": s, "vm": "src", "vcpu": 0, "tb": 1000,
         "runstate": "running", "point": "before-stop", **WIN},
        {"v": 1, "kind": "command", "scenario": s, "vm": "src", "cmd": "stop", "ok": True, **WIN},
        {"v": 1, "kind": "event", "scenario": s, "vm": "src", "event": "STOP",
         "qemu_rt_us": 15, "recv_rt_ns": 16, "recv_mono_ns": 2},
        {"v": 1, "kind": "mark", "scenario": s, "label": "stop", "vm": "src", **WIN},
        {"v": 1, "kind": "read", "scenario": s, "vm": "src", "vcpu": 1, "tb": (1 << 64) - 1,
         "runstate": None, "point": "paused-after-stop", **WIN},
        {"v": 1, "kind": "scenario", "name": s, "edge": "end", "rt_ns": 3, "mono_ns": 3,
         "ok": True, "wall_s": 0.5},
        {"v": 1, "kind": "footer", "status": "complete", "rt_ns": 4, "mono_ns": 4},
    ]


def write_lines(path: Path, records: list[Any], tail: str = "") -> Path:
    text = "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records)
    path.write_text(text + tail)
    return path


def expect_error(path: Path, line: int, *fragments: str) -> str:
    with pytest.raises(UsageError) as info:
        read_trace(path)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(f"{path}:{line}: "), msg
    for frag in fragments:
        assert frag in msg, msg
    return msg


def test_writer_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    w = TraceWriter(path)
    h = header()
    del h["v"], h["kind"]
    w.write("header", **h)
    w.begin("stop-cont")
    w.write("read", scenario=w.scenario, vm="src", vcpu=0, tb=42, runstate="running",
            point="p", extra_field=[1, 2], **WIN)
    w.write("mark", scenario=w.scenario, label="stop", vm="src", **WIN, **{"from": "src"})
    w.end(True, 1.25)
    w.write("event", scenario=None, vm="src", event="SHUTDOWN", data={}, qemu_rt_us=None,
            recv_rt_ns=9, recv_mono_ns=9)
    w.close("complete", wall_s=1.3)
    recs = read_trace(path)
    assert [r["kind"] for r in recs] == ["header", "scenario", "read", "mark", "scenario",
                                         "event", "footer"]
    assert all(r["v"] == VERSION for r in recs)
    assert recs[2]["tb"] == 42 and recs[2]["extra_field"] == [1, 2]
    assert recs[3]["from"] == "src"
    assert recs[4]["edge"] == "end" and recs[4]["wall_s"] == 1.25
    assert recs[-1]["wall_s"] == 1.3


def test_valid_and_unknown_fields_ignored(tmp_path: Path) -> None:
    recs = valid_records()
    recs[2]["added_by_a_later_version"] = {"x": 1}
    got = read_trace(write_lines(tmp_path / "t.jsonl", recs))
    assert got == recs


@pytest.mark.parametrize("fields", [
    {},  # a trace of an older version: no source, no error
    {"tb_freq_source": "command line", "tb_freq_error_hz": None},
    {"tb_freq_hz": 16_600_000, "tb_freq_error_hz": 2_954,
     "tb_freq_source": "measured: TB rate against CLOCK_MONOTONIC over 3 s gave 16597220 to "
                       "16602954 Hz; taken: the only multiple of 100000 Hz inside"},
    {"tb_freq_hz": None, "tb_freq_source": None, "tb_freq_error_hz": None},
])
def test_header_frequency_fields(tmp_path: Path, fields: dict[str, Any]) -> None:
    recs = _replace(0, **fields)
    assert read_trace(write_lines(tmp_path / "t.jsonl", recs)) == recs


def test_write_record_refuses_invalid(tmp_path: Path) -> None:
    with (tmp_path / "t.jsonl").open("w") as fh:
        with pytest.raises(ValueError, match="missing field 'tb'"):
            write_record(fh, {"kind": "read", "scenario": "s", "vm": "src", "vcpu": 0,
                              "runstate": None, "point": "p", **WIN})
        with pytest.raises(ValueError, match="unknown record kind"):
            write_record(fh, {"kind": "nonsense"})
    assert (tmp_path / "t.jsonl").read_text() == ""


def _replace(i: int, **changes: Any) -> list[Any]:
    recs: list[Any] = valid_records()
    for k, v in changes.items():
        if v is _DROP:
            del recs[i][k]
        else:
            recs[i][k] = v
    return recs


_DROP = object()

# (case name, records, line the error must name, fragment of the message)
RECORD_CASES = [
    ("missing v", _replace(2, v=_DROP), 3, "'v'"),
    ("newer major version", _replace(2, v=VERSION + 1), 3, "newer"),
    ("version as string", _replace(2, v="1"), 3, "bad format version"),
    ("version as bool", _replace(0, v=True), 1, "bad format version"),
    ("version zero", _replace(4, v=0), 5, "bad format version"),
    ("unknown kind", _replace(3, kind="teleport"), 4, "unknown record kind 'teleport'"),
    ("missing kind", _replace(3, kind=_DROP), 4, "missing field 'kind'"),
    ("read without tb", _replace(2, tb=_DROP), 3, "missing field 'tb'"),
    ("read without window", _replace(6, rt_after_ns=_DROP), 7, "rt_after_ns"),
    ("tb as string", _replace(2, tb="1000"), 3, "wrong type"),
    ("tb as float", _replace(2, tb=1000.0), 3, "wrong type"),
    ("tb as bool", _replace(2, tb=True), 3, "wrong type"),
    ("negative tb", _replace(2, tb=-1), 3, "unsigned 64-bit"),
    ("tb beyond 64 bits", _replace(2, tb=1 << 64), 3, "unsigned 64-bit"),
    ("reversed rt window", _replace(2, rt_before_ns=30), 3, "rt_before_ns > rt_after_ns"),
    ("reversed mono window", _replace(5, mono_after_ns=0), 6, "mono_before_ns"),
    ("negative vcpu", _replace(6, vcpu=-1), 7, "negative vcpu"),
    ("mark without label", _replace(5, label=_DROP), 6, "'label'"),
    ("event without receive time", _replace(4, recv_rt_ns=_DROP), 5, "recv_rt_ns"),
    ("command without ok", _replace(3, ok=_DROP), 4, "'ok'"),
    ("header without vcpus", _replace(0, vcpus=_DROP), 1, "'vcpus'"),
    ("header zero vcpus", _replace(0, vcpus=0), 1, "vcpus"),
    ("zero tb_freq_hz", _replace(0, tb_freq_hz=0), 1, "tb_freq_hz must be positive"),
    ("frequency error as string", _replace(0, tb_freq_error_hz="3 kHz"), 1, "wrong type"),
    ("frequency error as float", _replace(0, tb_freq_error_hz=2.5), 1, "wrong type"),
    ("negative frequency error", _replace(0, tb_freq_error_hz=-1), 1, "negative"),
    ("frequency error without a frequency", _replace(0, tb_freq_hz=None, tb_freq_error_hz=9),
     1, "without a tb_freq_hz"),
    ("frequency source not a string", _replace(0, tb_freq_source=7), 1, "wrong type"),
    ("bad scenario edge", _replace(7, edge="middle"), 8, "edge"),
    ("scenario end without ok", _replace(7, ok=_DROP), 8, "'ok'"),
    ("bad footer status", _replace(8, status="meh"), 9, "status"),
    ("first record not header", valid_records()[1:], 1, "expected the header"),
    ("second header", [*valid_records()[:2], header(), *valid_records()[2:]], 3,
     "second header"),
    ("scenario not in header", _replace(0, scenarios=["running"]), 2, "not in the header"),
    ("record after footer", [*valid_records(), valid_records()[2]], 10, "after the footer"),
    ("read outside scenario", [*valid_records()[:1], valid_records()[2]], 2,
     "outside any scenario"),
    ("read naming another scenario", _replace(2, scenario="running"), 3, "names scenario"),
    ("mismatched end", _replace(7, name="running"), 8, "open one is"),
    ("not an object", [*valid_records()[:3], [1, 2], *valid_records()[3:]], 4,
     "not a JSON object"),
]


@pytest.mark.parametrize("records,line,fragment",
                         [c[1:] for c in RECORD_CASES], ids=[c[0] for c in RECORD_CASES])
def test_malformed_record(tmp_path: Path, records: list[Any], line: int, fragment: str) -> None:
    expect_error(write_lines(tmp_path / "bad.jsonl", records), line, fragment)


def test_malformed_json(tmp_path: Path) -> None:
    recs: list[Any] = valid_records()
    recs.insert(3, '{"v": 1, "kind": "read", "tb": 12,,}')
    expect_error(write_lines(tmp_path / "t.jsonl", recs), 4, "malformed JSON")


def test_empty_line(tmp_path: Path) -> None:
    recs: list[Any] = valid_records()
    recs.insert(2, "")
    expect_error(write_lines(tmp_path / "t.jsonl", recs), 3, "empty line")


def test_truncated_mid_record(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in valid_records()[:3]]
    path = tmp_path / "t.jsonl"
    path.write_text("\n".join(lines)[:-7])  # the last record is cut off, no newline
    expect_error(path, 3, "malformed JSON", "truncated")


def test_scenario_never_ended(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", valid_records()[:7])
    expect_error(path, 7, "truncated", "'stop-cont' begun but never ended")


def test_footer_missing(tmp_path: Path) -> None:
    path = write_lines(tmp_path / "t.jsonl", valid_records()[:-1])
    expect_error(path, 8, "truncated", "no footer")


def test_footer_inside_scenario(tmp_path: Path) -> None:
    recs = valid_records()
    recs = [*recs[:3], recs[-1]]
    expect_error(write_lines(tmp_path / "t.jsonl", recs), 4, "still open")


def test_nested_scenario(tmp_path: Path) -> None:
    recs = valid_records()
    recs[0]["scenarios"] = ["stop-cont", "running"]
    inner = dict(recs[1], name="running")
    recs.insert(2, inner)
    expect_error(write_lines(tmp_path / "t.jsonl", recs), 3, "inside scenario 'stop-cont'")


def test_complete_footer_but_scenario_missing(tmp_path: Path) -> None:
    recs = valid_records()
    recs[0]["scenarios"] = ["stop-cont", "running"]
    expect_error(write_lines(tmp_path / "t.jsonl", recs), 9, "complete", "running")


def test_interrupted_footer_may_lack_scenarios(tmp_path: Path) -> None:
    recs = valid_records()
    recs[0]["scenarios"] = ["stop-cont", "running"]
    recs[-1]["status"] = "interrupted"
    assert read_trace(write_lines(tmp_path / "t.jsonl", recs))[-1]["status"] == "interrupted"


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("")
    expect_error(path, 1, "empty trace")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such trace file"):
        read_trace(tmp_path / "nope.jsonl")


def test_binary_file(tmp_path: Path) -> None:
    path = tmp_path / "bin.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(UsageError, match="UTF-8"):
        read_trace(path)


@pytest.mark.parametrize("name", ["pseries", "mac99"])
def test_reference_traces_read(name: str) -> None:
    """The committed recordings of real QEMU are valid, complete traces."""
    path = DATA / f"{name}.trace.jsonl"
    if not path.exists():
        pytest.skip(f"{path} not recorded yet")
    recs = read_trace(path)
    head = recs[0]
    assert head["machine"] == name and recs[-1]["status"] == "complete"
    ends = [r for r in recs if r["kind"] == "scenario" and r["edge"] == "end"]
    assert [r["name"] for r in ends] == head["scenarios"]
    assert all(r["ok"] for r in ends)
    vcpus = {r["vcpu"] for r in recs if r["kind"] == "read"}
    assert vcpus == set(range(head["vcpus"]))
