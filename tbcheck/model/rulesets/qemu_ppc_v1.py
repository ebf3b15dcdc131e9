"""qemu-ppc-v1: QEMU commit 42043e4f1241 "spapr: clock should count only if vm is running" (2017).

A run-state handler saves the guest TB at every stop and sets every offset from it at every
continue (source or destination); ``pre_save`` re-reads the TB unconditionally, to count the
time from the implicit stop to ``pre_save`` of a running migration. Bug: stop, wait, migrate,
cont adds the whole wait, since the re-read happens while the guest is paused.
Runs under KVM-HV: the kernel rounds a TB offset up to a multiple of 2**24.
"""

from tbcheck import S64, U64, Record, RuleSet, kvm_hv_tb_offset, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "qemu-ppc-v1"
    summary = "save the TB at stop, restore at cont, but pre_save always re-reads it"
    source = "QEMU 42043e4f1241 spapr: clock should count only if vm is running (2017)"
    offset_granularity = 1 << 24
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

    def setup(self, vm):  # struct PPCTimebase starts zeroed in every QEMU process
        self.guest_timebase = U64(0)  # uint64_t
        self.time_of_the_day_ns = S64(0)  # int64_t, not used on load

    def timebase_save(self, vm):
        self.time_of_the_day_ns = vm.host.realtime_ns()
        self.guest_timebase = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)

    def timebase_load(self, vm):
        tb_off_adj = wrapping_sub(self.guest_timebase, vm.host.tb())  # int64_t in C
        vm.set_all_offsets(kvm_hv_tb_offset(tb_off_adj))

    def stop(self, vm, state):
        self.timebase_save(vm)

    def cont(self, vm):
        self.timebase_load(vm)

    def pre_save(self, vm):
        self.timebase_save(vm)
        return Record(guest_timebase=self.guest_timebase,
                      time_of_the_day_ns=self.time_of_the_day_ns)

    def post_load(self, vm, record):
        self.guest_timebase = record.guest_timebase
        self.time_of_the_day_ns = record.time_of_the_day_ns
