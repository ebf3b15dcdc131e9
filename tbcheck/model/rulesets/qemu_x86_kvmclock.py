"""qemu-x86-kvmclock: QEMU's x86 kvmclock device (hw/i386/kvm/clock.c).

Stop: unless the clock is already saved (``clock_valid``), record ``runstate_paused = (state
== PAUSED)`` and read KVM_GET_CLOCK once. Continue: KVM_SET_CLOCK with the saved value.
``kvmclock_pre_save`` re-reads the clock unless ``runstate_paused`` (6053a86fe7bd "kvmclock:
reduce kvmclock difference on migration" added the re-read, a 2019 change skips it for a
paused guest). As PPC v2: a savevm (state SAVE_VM) re-reads, and nothing migrates the flag.
KVM starts a new VM's clock at 0. kvmclock counts ns; it is modelled on the host counter,
which is the same scheme at f = 1 GHz (the frequency verdict is the counter's, not kvmclock's).
"""

from tbcheck import PAUSED, U64, Record, RuleSet, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "qemu-x86-kvmclock"
    summary = "x86 kvmclock: read at stop, set at cont, pre_save re-reads unless PAUSED"
    source = "QEMU hw/i386/kvm/clock.c (6053a86fe7bd and the 2019 runstate_paused change)"
    # monotonic, frozen-when-stopped from depth 3: a guest migrated into a destination started
    # paused (-S) never ran the stop hook there, so a savevm or a second hop of it re-reads a
    # clock nobody set (migrate(1, paused) savevm cont); depth 2 proved
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
        self.clock = U64(0)  # uint64_t, KVM_GET_CLOCK's value
        self.clock_valid = False
        self.runstate_paused = False
        vm.set_all_offsets(wrapping_sub(U64(0), vm.host.tb()))  # a new VM's clock reads 0

    def kvm_update_clock(self, vm):
        self.clock = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)

    def stop(self, vm, state):
        if self.clock_valid:
            return
        self.runstate_paused = state == PAUSED
        self.kvm_update_clock(vm)
        self.clock_valid = True

    def cont(self, vm):
        self.clock_valid = False
        vm.set_all_offsets(wrapping_sub(self.clock, vm.host.tb()))  # KVM_SET_CLOCK

    def pre_save(self, vm):
        if not self.runstate_paused:
            self.kvm_update_clock(vm)
        return Record(clock=self.clock)

    def post_load(self, vm, record):
        self.clock = record.clock
