"""qemu-ppc-v2: QEMU commit d14f33976282 "migration: Do not re-read the clock on pre_save in case
of paused guest" (2019, QEMU 4.2).

As v1, but the stop handler records whether the new state is PAUSED (``runstate_paused``, a
local field, not migrated) and ``pre_save`` skips the re-read when it is. Remaining bug: savevm
stops the VM in state SAVE_VM, not PAUSED, so the time spent writing RAM leaks into the TB
(Red Hat bugzilla 1893787, "guest with 128G complains about stalled CPUs").
"""

from tbcheck import PAUSED, Record
from tbcheck.model.rulesets.qemu_ppc_v1 import Rules as V1


class Rules(V1):
    name = "qemu-ppc-v2"
    summary = "v1, but pre_save does not re-read the TB of a guest stopped in state PAUSED"
    source = "QEMU d14f33976282 migration: Do not re-read the clock on pre_save ... (2019)"
    # each outcome at every depth, as `tbcheck prove --depth D` gives it for D = 1..8 at
    # the default budgets (the forms: tbcheck/gate.py); README, "Reading a verdict", says why
    expected = {
        "monotonic": "violated from depth 3",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 3",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "violated from depth 1",
        "no-overflow": "proved for every depth",
    }

    def setup(self, vm):
        super().setup(vm)
        self.runstate_paused = False

    def is_paused(self, state):
        return state == PAUSED

    def stop(self, vm, state):
        self.runstate_paused = self.is_paused(state)
        self.timebase_save(vm)

    def pre_save(self, vm):
        if not self.runstate_paused:  # guest_timebase won't be overridden for a paused guest
            self.timebase_save(vm)
        return Record(guest_timebase=self.guest_timebase,
                      time_of_the_day_ns=self.time_of_the_day_ns)
