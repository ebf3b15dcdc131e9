"""The rebuilder: every mark label of the trace format has its handler, and the one place that
places a stop and a resume in time narrows the command's window by QEMU's own events."""

from __future__ import annotations

from typing import Any

from tbcheck.trace import MARK_LABELS
from tbcheck.validate.rebuild import MARK_HANDLERS, QMP_SLOP_NS, Rebuilder
from tbcheck.validate.records import RecordedScenario, Window

MS = 10**6


def _event(name: str, mono_ns: int) -> dict[str, Any]:
    """A QMP event received at ``mono_ns`` whose own timestamp says the same moment."""
    return {"kind": "event", "vm": "src", "event": name, "qemu_rt_us": mono_ns // 1000,
            "recv_rt_ns": mono_ns, "recv_mono_ns": mono_ns}


def _rebuilder(*events: dict[str, Any]) -> Rebuilder:
    sc = RecordedScenario("s", 1, True, None, 0)
    return Rebuilder(sc, [(i + 1, e) for i, e in enumerate(events)])


def test_every_mark_label_the_format_writes_has_a_handler() -> None:
    assert set(MARK_HANDLERS) == set(MARK_LABELS)


def test_a_stop_ends_by_qemus_stop_event_and_a_resume_begins_after_its_resume_event() -> None:
    b = _rebuilder(_event("STOP", 40 * MS), _event("RESUME", 70 * MS))
    stop, ev = b.stop_in("src", 10 * MS, 100 * MS)
    assert ev is not None and stop.win == Window(10 * MS, 40 * MS + QMP_SLOP_NS)
    assert stop.est == 40 * MS
    resume, ev = b.resume_in("src", stop.est, 100 * MS)
    assert ev is not None and resume.win == Window(70 * MS - QMP_SLOP_NS, 100 * MS)
    # looked for in one window, placed in another (a migration's destination resumes by the
    # time it reports completion)
    late, _ = b.resume_in("src", stop.est, 100 * MS, Window(20 * MS, 80 * MS))
    assert late.win == Window(70 * MS - QMP_SLOP_NS, 80 * MS)


def test_without_qemus_events_the_command_window_stands() -> None:
    b = _rebuilder()
    stop, ev = b.stop_in("src", 10 * MS, 30 * MS)
    assert ev is None and stop.win == Window(10 * MS, 30 * MS) and stop.est == 30 * MS
    resume, ev = b.resume_in("src", 10 * MS, 30 * MS)
    assert ev is None and resume.est == 20 * MS


def test_a_label_of_a_later_format_is_time_passing() -> None:
    b = _rebuilder({"kind": "mark", "label": "vm-start", "vm": "src", "mono_before_ns": 0,
                    "mono_after_ns": MS, "scenario": "s"},
                   {"kind": "mark", "label": "teleport", "vm": "src", "mono_before_ns": 2 * MS,
                    "mono_after_ns": 3 * MS, "scenario": "s"})
    b.build()
    assert b.sc.problem is None and [st.kind for st in b.sc.steps] == ["boot"]
