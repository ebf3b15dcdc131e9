"""The event syntax of `tbcheck run`: what ``unparse`` writes, ``parse`` reads back."""

from __future__ import annotations

import pytest

from tbcheck.errors import UsageError
from tbcheck.eventspec import parse, run_command, unparse
from tbcheck.model.codec import events_json
from tbcheck.model.domain import Int, value
from tbcheck.model.events import (
    Cont,
    LoadVM,
    Migrate,
    MigrateFail,
    Read,
    Run,
    SaveVM,
    Stop,
    Write,
)


def _plain(evs: list) -> list:
    return [(type(e).__name__, *[value(x) if hasattr(x, "symbolic") else x
                                 for x in vars(e).values()]) for e in evs]


EVENTS = [Run(Int(10**9)), Stop(), Run(Int(5)), Migrate(2, Int(1), Int(2), Int(3)), Cont(),
          MigrateFail(Int(7), Int(0)), SaveVM("s2", Int(99)), LoadVM("s2", Int(12345678901234)),
          Read(1), Run(Int(0)), Migrate(1, Int(4), Int(5), Int(6), paused=True), Cont(),
          Write(1, Int(2**62 - 1))]


def test_unparse_is_read_back_by_parse() -> None:
    text = unparse(EVENTS)
    assert _plain(parse(text)) == _plain(EVENTS)
    assert unparse(events_json(EVENTS)) == text  # the JSON form writes the same line


def test_a_destination_started_paused_is_a_flag_of_migrate() -> None:
    (ev,) = parse("migrate(2, paused, save=1ms, transfer=2ms)")
    assert ev == Migrate(2, Int(10**6), Int(2 * 10**6), Int(0), paused=True)
    assert parse("migrate(2, 5, paused)")[0] == Migrate(2, Int(5), Int(0), Int(0), paused=True)
    assert parse("migrate(2)")[0].paused is False
    assert unparse([ev]) == "migrate(2, paused, save=1000000, transfer=2000000, resume=0)"
    assert "paused" not in unparse(parse("migrate(2)"))  # left off at its default
    assert "paused" not in events_json(parse("migrate(2)"))[0]


def test_a_guest_write_names_its_vcpu_and_tb() -> None:
    assert parse("write(1, 5000)") == parse("write(1, tb=5000)") == [Write(1, Int(5000))]
    assert unparse(parse("write(0, 7)")) == "write(0, tb=7)"
    with pytest.raises(UsageError, match="the TB it writes"):
        parse("write(1)")


def test_the_run_command_names_every_constant() -> None:
    params = {"hosts": [{"freq_hz": 10**6, "counter0": 5, "realtime0_ns": 7,
                         "monotonic0_ns": 9},
                        {"freq_hz": 2 * 10**6, "counter0": 6, "realtime0_ns": 8,
                         "monotonic0_ns": 10}],
              "tb0": 3, "ncpus": 4}
    cmd = run_command(params, EVENTS[:2], variant_file="my rules.py", eps_ns=0, slack=5)
    assert cmd.startswith("tbcheck run --variant-file 'my rules.py' --freq 1000000,2000000 ")
    for part in ("--counter0 5,6", "--realtime0 7,8", "--mono0 9,10",
                 "--tb0 3", "--vcpus 4", "--eps 0", "--slack 5", "'run(1000000000) stop'"):
        assert part in cmd


def test_bad_events_are_refused() -> None:
    with pytest.raises(UsageError):
        parse("migrate(1, bogus=3)")
