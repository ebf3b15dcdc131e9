"""qemu-tcg: QEMU PowerPC under TCG (observed on QEMU 7.2 through QMP, docs/validate.md).

The TB derives from QEMU's virtual clock: ``cpu_ppc_get_tb`` returns
``muldiv64(vmclk, tb_env->tb_freq, NANOSECONDS_PER_SECOND) + tb_offset`` (target/ppc, hw/ppc/ppc.c),
with ``tb_freq`` the machine's nominal frequency, a ``uint32_t``. The virtual clock stops with
the VM (``cpu_disable_ticks``), resumes from the same value (``cpu_enable_ticks``) and travels in
the migration stream (section "timer", ``cpu_clock_offset``); the sPAPR "timebase" section is
written but not used, its handlers being registered for KVM only. Downtime is never counted.
A guest's write of its TB (``cpu_ppc_store_tbl``/``tbu``) lands in that vCPU's ``tb_offset``,
which no migration section carries and no snapshot keeps: it is lost at the next migration.
"""

from tbcheck import S64, Record, RuleSet, muldiv64, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "qemu-tcg"
    summary = "TB from QEMU's virtual clock, which stops with the VM and is migrated"
    source = "QEMU 7.2 TCG: cpu_ppc_get_tb, cpu_enable_ticks/cpu_disable_ticks, vmstate 'timer'"
    # each outcome at every depth, as `tbcheck prove --depth D` gives it for D = 1..8 at
    # the default budgets (the forms: tbcheck/gate.py); README, "Reading a verdict", says why
    expected = {
        "monotonic": "violated from depth 2",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 4",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "violated from depth 2",
        "snapshot-frozen": "violated from depth 3",
        "no-overflow": "violated from depth 1",
    }

    guest_writes_tb = True  # under TCG (mac99, the firmware) the guest may write its TB

    def setup(self, vm):
        self.tb_freq = vm.host.tb_freq  # the machine's nominal TB frequency, fixed at boot
        self.cpu_clock_offset = S64(0)  # int64_t: frozen clock, or offset from CLOCK_MONOTONIC
        self.ticks_enabled = False

    def boot(self, vm, tb0):
        self.cont(vm)  # the virtual clock, and the TB with it, start at 0 with the VM; tb0
        # is not used: under TCG there is no host counter to offset from

    def vm_clock(self, vm):
        if self.ticks_enabled:
            return self.cpu_clock_offset + vm.host.monotonic_ns()
        return self.cpu_clock_offset

    def read_tb(self, vm, cpu):
        return wrapping_add(muldiv64(self.vm_clock(vm), self.tb_freq, 10**9), cpu.tb_offset)

    def write_tb(self, vm, cpu, value):  # cpu_ppc_store_tbl/tbu: this vCPU's tb_offset only
        cpu.tb_offset = wrapping_sub(value, muldiv64(self.vm_clock(vm), self.tb_freq, 10**9))

    def stop(self, vm, state):  # cpu_disable_ticks
        self.cpu_clock_offset = self.vm_clock(vm)
        self.ticks_enabled = False

    def cont(self, vm):  # cpu_enable_ticks
        self.cpu_clock_offset = self.cpu_clock_offset - vm.host.monotonic_ns()
        self.ticks_enabled = True

    def pre_save(self, vm):
        # tb_freq is the machine type's, the same in every process (carried here for that);
        # tb_offset is not migrated under TCG (a patch adding it was rejected)
        return Record(cpu_clock_offset=self.cpu_clock_offset, tb_freq=self.tb_freq)

    def post_load(self, vm, record):
        self.cpu_clock_offset, self.tb_freq = record.cpu_clock_offset, record.tb_freq


