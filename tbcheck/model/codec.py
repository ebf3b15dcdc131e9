"""An event as JSON: ``{"event": "migrate", "dst": 1, "p_save": 100, ...}``, one spelling.

Every JSON document tbcheck writes (``prove --json``, ``run --json``, ``fuzz --json``, a fuzz
reproduction script) encodes events here, and every reader decodes them here, so that a
counterexample copied from one command's output reads back as the same events in another.
Numbers are plain ints (a concrete event's); a symbolic one cannot be written.
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Any

from tbcheck.model.domain import Int, Num, value
from tbcheck.model.events import EVENT_TYPES, Event, is_default

#: The key naming the event. ``fuzz --json`` of 0.1.0 wrote ``"kind"``; that is still read.
KEY = "event"
_OLD_KEY = "kind"


def event_json(ev: Event) -> dict[str, Any]:
    """``ev`` as a JSON object: its kind under ``"event"``, then each parameter."""
    out: dict[str, Any] = {KEY: ev.kind}
    for f in fields(ev):  # type: ignore[arg-type]
        x = getattr(ev, f.name)
        if is_default(f, x):  # a flag at its default is left out: older readers read it
            continue
        out[f.name] = int(value(x)) if isinstance(x, Num) else x
    return out


def event_from_json(d: dict[str, Any]) -> Event:
    """The event ``event_json`` wrote; a ``ValueError`` names what is wrong with ``d``."""
    kind = d.get(KEY, d.get(_OLD_KEY))
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"not an event: {d!r} (\"{KEY}\" must be one of "
                         f"{', '.join(EVENT_TYPES)})")
    args: dict[str, Any] = {}
    for f in fields(cls):
        if f.name not in d and f.default is not MISSING:
            continue  # a flag left out: its default
        if f.name not in d:
            raise ValueError(f"{kind} event without its parameter {f.name!r}")
        x = d[f.name]
        if f.type in ("bool", bool) and not isinstance(x, bool):
            raise ValueError(f"{kind} event: {f.name} must be true or false, not {x!r}")
        args[f.name] = Int(int(x)) if f.type in ("Num", Num) else x
    return cls(**args)  # type: ignore[no-any-return]


def events_json(events: list[Event]) -> list[dict[str, Any]]:
    return [event_json(e) for e in events]


def events_from_json(ds: list[dict[str, Any]]) -> list[Event]:
    return [event_from_json(d) for d in ds]
