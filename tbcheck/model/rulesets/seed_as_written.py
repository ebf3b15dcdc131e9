"""seed-as-written: the scheme of the seed mail (Mark's reply to David Gibson, 27/07/18), with
its formulas taken literally (the seed mail: Mark Cave-Ayland to David Gibson,
qemu-ppc, 27 July 2018).

Sender, when the guest is stopped: ``guestTB = sendHostTB + sendHostTBDiff``. Running guest, at
save: the same, plus ``sendhostCLK = qemu_clock_get_ns(QEMU_CLOCK_REALTIME)``. Receiver, when the
guest moves to running: ``migrationTime = recvhostCLK - sendhostCLK``,
``migrationTBDiff = migrationTime / recvHostTBFreq`` (ns / Hz: not ticks),
``recvTBDiff = guestTB + migrationTBDiff - recvHostTB``; for a stopped guest migrationTime is 0.
The stream carries the VM's running state (QEMU's global_state section) to tell them apart.
C types: TB values uint64_t as in QEMU, clocks int64_t (qemu_clock_get_ns), and the frequency
int64_t, so that the signed arithmetic the mail implies holds (the mail names no types).
"""

from tbcheck import PAUSED, S64, U64, Record, RuleSet, to_s64, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "seed-as-written"
    summary = "the seed mail's scheme, formulas literally (migrationTime / recvHostTBFreq)"
    source = "seed mail: Mark Cave-Ayland, reply to David Gibson on qemu-ppc, 27 July 2018"
    # each outcome at every depth, as `tbcheck prove --depth D` gives it for D = 1..8 at
    # the default budgets (the forms: tbcheck/gate.py); README, "Reading a verdict", says why
    expected = {
        "monotonic": "violated from depth 1",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 2",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "violated from depth 1",
        "no-overflow": "proved for every depth",
    }

    def setup(self, vm):
        self.guestTB = U64(0)
        self.sendhostCLK = S64(0)
        self.running = False  # was the guest running when it stopped (scenario 2)?

    def stop(self, vm, state):
        self.running = state != PAUSED
        self.guestTB = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)

    def pre_save(self, vm):
        if self.running:  # scenario 2, sender
            self.guestTB = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)
            self.sendhostCLK = vm.host.realtime_ns()
        return Record(guestTB=self.guestTB, sendhostCLK=self.sendhostCLK, running=self.running)

    def post_load(self, vm, record):
        self.guestTB, self.sendhostCLK = record.guestTB, record.sendhostCLK
        self.running = record.running

    def cont(self, vm):
        migrationTBDiff = S64(0)  # scenario 1: migrationTime is 0
        if self.running:  # scenario 2, receiver
            recvhostCLK = vm.host.realtime_ns()
            migrationTime = recvhostCLK - self.sendhostCLK
            recvHostTBFreq = to_s64(vm.host.tb_freq)
            migrationTBDiff = migrationTime / recvHostTBFreq
        recvTBDiff = wrapping_sub(wrapping_add(self.guestTB, migrationTBDiff), vm.host.tb())
        vm.set_all_offsets(recvTBDiff)
        self.running = False
