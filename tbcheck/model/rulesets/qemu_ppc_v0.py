"""qemu-ppc-v0: QEMU sPAPR timebase as first written (hw/ppc/ppc.c, about 2014).

No VM run-state handler is registered, so the TB keeps running while the guest is paused.
``timebase_post_load`` meant to add the downtime (capped at 1 s) but adds ``MIN(0, dur_tb)``,
which is always 0 since ``dur_tb`` is unsigned: the compensation is dead code.
Runs under KVM-HV: the kernel rounds a TB offset up to a multiple of 2**24.
"""

from tbcheck import (
    S64,
    U64,
    Record,
    RuleSet,
    kvm_hv_tb_offset,
    max_,
    min_,
    muldiv64,
    wrapping_add,
    wrapping_sub,
)


class Rules(RuleSet):
    name = "qemu-ppc-v0"
    summary = "original sPAPR timebase: runs while paused, downtime compensation is dead code"
    source = "QEMU hw/ppc/ppc.c timebase_pre_save/timebase_post_load, about 2014 (pre-42043e4f1241)"
    offset_granularity = 1 << 24
    # each outcome at every depth, as `tbcheck prove --depth D` gives it for D = 1..8 at
    # the default budgets (the forms: tbcheck/gate.py); README, "Reading a verdict", says why.
    # monotonic: with destinations started paused the induction finds no invariant, in the
    # full matrix as alone; the bounded proof stalls at depth 4, no counterexample found
    expected = {
        "monotonic": "proved to depth 3",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 2",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "violated from depth 1",
        "no-overflow": "violated from depth 1",
    }

    def stop(self, vm, state):
        pass  # no vm state change handler in this revision

    def cont(self, vm):
        pass

    def pre_save(self, vm):
        guest_timebase = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)  # uint64_t
        time_of_the_day_ns = vm.host.realtime_ns()  # int64_t, QEMU_CLOCK_HOST
        return Record(guest_timebase=guest_timebase, time_of_the_day_ns=time_of_the_day_ns)

    def post_load(self, vm, record):
        ns_diff = max_(S64(0), vm.host.realtime_ns() - record.time_of_the_day_ns)  # int64_t
        migration_duration_ns = min_(S64(10**9), ns_diff)  # NANOSECONDS_PER_SECOND
        migration_duration_tb = muldiv64(migration_duration_ns, vm.host.tb_freq, 10**9)
        guest_tb = wrapping_add(record.guest_timebase, min_(U64(0), migration_duration_tb))
        vm.set_all_offsets(kvm_hv_tb_offset(wrapping_sub(guest_tb, vm.host.tb())))
