"""My patch: the seed's scheme with the units fixed in plain int64_t arithmetic.

Source: seed mail (Cave-Ayland to Gibson, qemu-ppc, July 2018), scenario 2, with
``migrationTBDiff = migrationTime * recvHostTBFreq / NANOSECONDS_PER_SECOND``.
"""

from tbcheck import PAUSED, S64, U64, Record, RuleSet, to_s64, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "seed-units-fixed-int64"
    summary = "seed scheme, migration time in ticks computed in int64_t"
    source = "seed mail, scenario 2, units fixed in int64_t"

    def setup(self, vm):
        self.guestTB = U64(0)  # uint64_t
        self.sendhostCLK = S64(0)  # int64_t
        self.running = False

    def stop(self, vm, state):
        self.running = state != PAUSED
        self.guestTB = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)

    def pre_save(self, vm):
        if self.running:
            self.guestTB = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)
            self.sendhostCLK = vm.host.realtime_ns()
        return Record(guestTB=self.guestTB, sendhostCLK=self.sendhostCLK, running=self.running)

    def post_load(self, vm, record):
        self.guestTB, self.sendhostCLK = record.guestTB, record.sendhostCLK
        self.running = record.running

    def cont(self, vm):
        migrationTBDiff = S64(0)
        if self.running:
            migrationTime = vm.host.realtime_ns() - self.sendhostCLK  # int64_t
            migrationTBDiff = migrationTime * to_s64(vm.host.tb_freq) / 1000000000  # int64_t!
        vm.set_all_offsets(wrapping_sub(wrapping_add(self.guestTB, migrationTBDiff),
                                        vm.host.tb()))
        self.running = False
