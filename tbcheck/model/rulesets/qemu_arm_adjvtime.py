"""qemu-arm-adjvtime: QEMU's Arm KVM virtual time adjustment (target/arm/kvm.c, QEMU 5.0,
"target/arm: kvm: Implement virtual time adjustment"; the default, ``kvm-no-adjvtime=off``).

Stop: unless already saved (``kvm_vtime_dirty``), read each vCPU's virtual counter
(KVM_REG_ARM_TIMER_CNT) into ``kvm_vtime``. Continue: write it back. ``kvm_arm_cpu_pre_save``
puts the saved value in the migrated register list; ``kvm_arm_cpu_post_load`` writes the list
to KVM and takes the migrated counter as the value to restore at the next continue. So the
counter freezes while the VM is stopped, for any reason, and a migration's downtime is not
counted. No frequency is migrated or compared.
"""

from tbcheck import U64, Record, RuleSet, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "qemu-arm-adjvtime"
    summary = "Arm KVM: the virtual counter saved at stop, restored at cont, migrated as saved"
    source = "QEMU target/arm/kvm.c kvm_arm_vm_state_change, kvm_arm_cpu_pre_save/post_load"
    adjvtime = True
    # monotonic: with destinations started paused the induction finds no invariant; the
    # bounded proof reaches depth 4 (asked 4 or 5; asked 8, depth 3: the search's share of the
    # budget on the deeper steps leaves it less), and no counterexample is found to depth 8
    expected = {
        "monotonic": "proved to depth 4; to depth 3 from depth 6",
        "frozen-when-stopped": "vacuous below depth 2, proved for every depth",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "proved for every depth",
        "no-overflow": "proved for every depth",
    }

    def setup(self, vm):
        self.kvm_vtime = [U64(0) for _ in vm.cpus]  # uint64_t each vCPU
        self.kvm_vtime_dirty = False

    def counters(self, vm):
        return [wrapping_add(vm.host.tb(), c.tb_offset) for c in vm.cpus]

    def put_counters(self, vm, values):
        for c, v in zip(vm.cpus, values, strict=True):
            c.tb_offset = wrapping_sub(v, vm.host.tb())  # KVM_SET_ONE_REG TIMER_CNT

    def stop(self, vm, state):
        if self.adjvtime and not self.kvm_vtime_dirty:
            self.kvm_vtime = self.counters(vm)
            self.kvm_vtime_dirty = True

    def cont(self, vm):
        if self.adjvtime and self.kvm_vtime_dirty:
            self.put_counters(vm, self.kvm_vtime)
            self.kvm_vtime_dirty = False

    def pre_save(self, vm):
        cnt = self.counters(vm)  # write_kvmstate_to_list
        if self.kvm_vtime_dirty:
            cnt = list(self.kvm_vtime)
        return Record(timer_cnt=cnt)

    def post_load(self, vm, record):
        self.put_counters(vm, record.timer_cnt)  # write_list_to_kvmstate
        if self.adjvtime:
            self.kvm_vtime = list(record.timer_cnt)
            self.kvm_vtime_dirty = True
