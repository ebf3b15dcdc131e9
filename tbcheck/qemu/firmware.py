"""A firmware of our own, for a guest that writes its TB: recorded traces of that case.

QEMU's PowerPC guests mostly leave the TB alone, so nothing records what happens to a TB the
guest wrote. This image replaces a powernv machine's firmware (skiboot) with seven
instructions: every hardware thread enters at 0x10 in hypervisor real mode, as skiboot's
entry does; vCPU 0 (``PIR`` 0) leaves its TB alone, and every other vCPU writes its TB to
``PIR << 32`` (``mttbl``/``mttbu``, which QEMU's TCG turns into that vCPU's own
``tb_offset``); then each spins. Only powernv runs it: its threads start at 0x10 of the image
with the hypervisor's right to write the TB (an sPAPR guest has no such right).
"""

from __future__ import annotations

import struct

from tbcheck.errors import UsageError

ENTRY = 0x10  # where a powernv thread starts, relative to the image's load address

#: (instruction word, what it is): big-endian PowerPC, assembled by hand
TB_WRITER: tuple[tuple[int, str], ...] = (
    (0x7CBFFAA6, "mfspr r5, PIR (1023)"),
    (0x2C050000, "cmpwi r5, 0"),
    (0x41820010, "beq +16 (vCPU 0: to the spin)"),
    (0x38800000, "li r4, 0"),
    (0x7C9C43A6, "mtspr TBL (284), r4: mttbl"),
    (0x7CBD43A6, "mtspr TBU (285), r5: mttbu"),
    (0x48000000, "b . (spin)"),
)
NAMES = ("tb-writer",)
MACHINES = ("powernv", "powernv8", "powernv9", "powernv10")


def image(name: str, machine: str | None) -> bytes:
    """The firmware ``name`` as the bytes QEMU's ``-bios`` loads, for ``machine``."""
    if name not in NAMES:
        raise UsageError(f"--firmware: unknown firmware {name!r} (choose from: "
                         f"{', '.join(NAMES)})")
    if machine not in MACHINES:
        raise UsageError(f"--firmware {name} runs on {', '.join(MACHINES)} only (its threads "
                         f"start at 0x{ENTRY:x} in hypervisor mode), not on {machine or '?'}")
    code = b"".join(struct.pack(">I", word) for word, _ in TB_WRITER)
    return bytes(ENTRY) + code + bytes(0x1000 - ENTRY - len(code))
