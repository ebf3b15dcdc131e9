"""tbcheck's tb-writer firmware: the words are the instructions they say they are."""

from __future__ import annotations

import struct

import pytest

from tbcheck.errors import UsageError
from tbcheck.qemu import firmware


def _spr_field(spr: int) -> int:
    """The ISA's split SPR field: the low five bits first, then the high five."""
    return ((spr & 0x1F) << 5 | spr >> 5) << 11


def mtspr(spr: int, rs: int) -> int:
    return 31 << 26 | rs << 21 | _spr_field(spr) | 467 << 1


def mfspr(rt: int, spr: int) -> int:
    return 31 << 26 | rt << 21 | _spr_field(spr) | 339 << 1


def test_the_image_holds_the_program_at_the_entry() -> None:
    img = firmware.image("tb-writer", "powernv9")
    assert len(img) == 0x1000 and img[:firmware.ENTRY] == bytes(firmware.ENTRY)
    n = len(firmware.TB_WRITER)
    words = struct.unpack(f">{n}I", img[firmware.ENTRY:firmware.ENTRY + 4 * n])
    assert words == (mfspr(5, 1023), 11 << 26 | 5 << 16, 16 << 26 | 12 << 21 | 2 << 16 | 16,
                     14 << 26 | 4 << 21, mtspr(284, 4), mtspr(285, 5), 18 << 26)


@pytest.mark.parametrize(("name", "machine", "why"), [
    ("tb-writer", "pseries", "runs on powernv"), ("tb-writer", None, "not on ?"),
    ("bios", "powernv9", "unknown firmware")])
def test_a_firmware_where_it_cannot_run_is_refused(name: str, machine: str | None,
                                                   why: str) -> None:
    with pytest.raises(UsageError, match=why):
        firmware.image(name, machine)
