"""qemu-ppc-v4: QEMU commit 9db680f8fd48 "target/ppc: Fix timebase reset with record-replay"
(2023).

As v3; in record-replay mode ``time_of_the_day_ns`` is written as 0 (it is not used on load in
any case). Modelled outside record-replay, as a normal migration runs: ``tbcheck diff`` shows it
behaves as v3 for every event sequence.
"""

from tbcheck import S64
from tbcheck.model.rulesets.qemu_ppc_v3 import Rules as V3


class Rules(V3):
    name = "qemu-ppc-v4"
    summary = "v3, with time_of_the_day_ns = 0 under record-replay (unused on load)"
    source = "QEMU 9db680f8fd48 target/ppc: Fix timebase reset with record-replay (2023)"
    replay_mode = False  # REPLAY_MODE_NONE
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

    def timebase_save(self, vm):
        super().timebase_save(vm)
        if self.replay_mode:  # simpler for record-replay to avoid this event
            self.time_of_the_day_ns = S64(0)
