"""qemu-arm-no-adjvtime: QEMU's Arm KVM with ``kvm-no-adjvtime=on`` (docs/system/arm/
cpu-features.rst): the behaviour before QEMU 5.0's virtual time adjustment.

No run-state handler touches the counter: it runs while the VM is paused. Migration reads each
vCPU's virtual counter with the register list at ``pre_save`` and writes it on the destination
at ``post_load``, so the transfer's time is lost and the rest of the downtime is counted.
"""

from tbcheck.model.rulesets.qemu_arm_adjvtime import Rules as AdjVtime


class Rules(AdjVtime):
    name = "qemu-arm-no-adjvtime"
    summary = "Arm KVM, kvm-no-adjvtime=on: the counter runs while paused, migrated at pre_save"
    source = "QEMU target/arm/kvm.c with kvm-no-adjvtime=on (docs/system/arm/cpu-features.rst)"
    adjvtime = False
    expected = {
        "monotonic": "proved for every depth",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 2",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "violated from depth 1",
        "no-overflow": "proved for every depth",
    }
