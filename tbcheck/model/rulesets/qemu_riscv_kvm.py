"""qemu-riscv-kvm: QEMU's RISC-V KVM timer (target/riscv/kvm/kvm-cpu.c, target/riscv/machine.c).

Stop: unless already saved (``kvm_timer_dirty``), read each vCPU's time (and compare, state,
frequency). Continue: write them back, and if the host's timer frequency differs from the one
read at the source only print "Dst Hosts timer frequency != Src Hosts". The ``cpu/kvmtimer``
subsection migrates the saved time; its ``post_load`` sets ``kvm_timer_dirty``, so the
destination restores it at continue. Guest-visibly the scheme of Arm's virtual time adjustment
(``tbcheck diff qemu-riscv-kvm qemu-arm-adjvtime`` compares them); the warning is not modelled
as it changes nothing the guest reads.
"""

from tbcheck import U64, Record, RuleSet, wrapping_add, wrapping_sub
from tbcheck.model.rulesets.qemu_arm_adjvtime import Rules as AdjVtime


class Rules(RuleSet):
    name = "qemu-riscv-kvm"
    summary = "RISC-V KVM: time saved at stop, restored at cont, frequency mismatch only warned"
    source = "QEMU target/riscv/kvm/kvm-cpu.c kvm_riscv_{get,put}_regs_timer; machine.c kvmtimer"
    # as Arm's, but its monotonic proof reaches depth 3 only (Arm's: 4, and 3 from depth 6)
    expected = {**AdjVtime.expected, "monotonic": "proved to depth 3"}

    def setup(self, vm):
        self.kvm_timer_time = [U64(0) for _ in vm.cpus]  # uint64_t each vCPU
        self.kvm_timer_dirty = False

    def stop(self, vm, state):
        if not self.kvm_timer_dirty:  # kvm_riscv_get_regs_timer
            self.kvm_timer_time = [wrapping_add(vm.host.tb(), c.tb_offset) for c in vm.cpus]
            self.kvm_timer_dirty = True

    def cont(self, vm):
        if self.kvm_timer_dirty:  # kvm_riscv_put_regs_timer
            for c, t in zip(vm.cpus, self.kvm_timer_time, strict=True):
                c.tb_offset = wrapping_sub(t, vm.host.tb())
            self.kvm_timer_dirty = False

    def pre_save(self, vm):
        return Record(kvm_timer_time=list(self.kvm_timer_time))

    def post_load(self, vm, record):
        self.kvm_timer_time = list(record.kvm_timer_time)
        self.kvm_timer_dirty = True  # cpu_kvmtimer_post_load
