"""The one JSON spelling of an event: every event reads back as itself; the old spelling reads."""

from __future__ import annotations

import json

import pytest

from tbcheck.model.codec import event_from_json, event_json, events_from_json, events_json
from tbcheck.model.domain import Int
from tbcheck.model.events import Cont, LoadVM, Migrate, MigrateFail, Read, Run, SaveVM, Stop

EVENTS = [Run(Int(10**9)), Stop(), Cont(), Read(1), Migrate(2, Int(1), Int(2), Int(3)),
          MigrateFail(Int(4), Int(5)), SaveVM("s1", Int(6)), LoadVM("s1", Int(7))]


def test_every_event_reads_back_as_itself() -> None:
    text = json.dumps(events_json(EVENTS))
    assert events_from_json(json.loads(text)) == EVENTS
    assert event_json(EVENTS[4]) == {"event": "migrate", "dst": 2, "p_save": 1,
                                     "p_transfer": 2, "p_resume": 3}


def test_the_old_fuzz_spelling_still_reads() -> None:
    assert event_from_json({"kind": "savevm", "name": "s2", "p_ram": 9}) == SaveVM("s2", Int(9))


@pytest.mark.parametrize(("bad", "says"), [
    ({"event": "teleport"}, "not an event"),
    ({"d": 5}, "not an event"),
    ({"event": "run"}, "without its parameter 'd'"),
])
def test_a_bad_event_names_what_is_wrong(bad: dict[str, object], says: str) -> None:
    with pytest.raises(ValueError, match=says):
        event_from_json(bad)
