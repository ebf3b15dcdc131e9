"""qemu-ppc-v3: QEMU commit 711dfb2423a8 "hw/ppc: Do not re-read the clock on pre_save if doing
savevm" (2020, QEMU 6.0).

As v2, with ``runstate_paused = PAUSED or SAVE_VM``. For a running guest's migration the time
from the implicit stop to ``pre_save`` is counted and the rest of the downtime (``pre_save`` to
the destination's continue) is not; no frequency is migrated or compared.
"""

from tbcheck import PAUSED, SAVE_VM
from tbcheck.model.rulesets.qemu_ppc_v2 import Rules as V2


class Rules(V2):
    name = "qemu-ppc-v3"
    summary = "v2, and savevm (state SAVE_VM) counts as paused"
    source = "QEMU 711dfb2423a8 hw/ppc: Do not re-read the clock on pre_save if doing savevm (2020)"
    # each outcome at every depth, as `tbcheck prove --depth D` gives it for D = 1..8 at
    # the default budgets (the forms: tbcheck/gate.py); README, "Reading a verdict", says why
    expected = {
        "monotonic": "violated from depth 3",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 3",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "violated from depth 4",
        "no-overflow": "proved for every depth",
    }

    def is_paused(self, state):
        return state in (PAUSED, SAVE_VM)
