# equivalent: the stop reads vCPU 1's offset (every vCPU holds the same)
"""seed-anchored: seed-corrected with the chain's anchor in the stream; all seven properties hold.

Source: the seed mail, Mark Cave-Ayland's reply to David Gibson on qemu-ppc/qemu-devel (July
2018) sketching a realtime-compensated timebase migration with a ``stoppedGuestTB`` field.
seed-corrected mends its units and clamps a negative migration time at 0; that clamp drops the
negative half of every round trip between two hosts whose clocks disagree, so the TB gains up
to eps per round trip (docs/tracks-wall-clock.md). Here the destination measures its migration
time from the chain's anchor instead of from the last stop:

- anchor: the TB and CLOCK_REALTIME at the chain's start (boot, or any resume whose stop was not
  a running migration's: an explicit cont, savevm's or loadvm's resume); it travels in the
  stream and survives any number of running hops;
- resume after a running migration: ``TB = anchorTB + (now - anchorCLK) * f / 1e9`` (128-bit
  product), the error is this host's clock against the anchor host's, within eps, whatever
  the hops before; never below the TB at stop (``max``: the guest never steps back);
- a destination started paused (``-S``, QEMU's ``autostart`` false) takes the anchored TB at
  its load as the TB at stop: the user's pause begins there, and its cont starts a new chain;
- everything else as seed-corrected: the TB is read once at stop (stoppedGuestTB), an explicit
  pause or a snapshot freezes it, a destination whose counter runs at another frequency
  refuses the migration (PowerPC has no TB scaling) and the source keeps running.
"""

from tbcheck import (
    FINISH_MIGRATE,
    S64,
    S128,
    U64,
    Record,
    RuleSet,
    assign,
    max_,
    refuse,
    to_s64,
    wrapping_add,
    wrapping_sub,
)


class Rules(RuleSet):
    name = "mutant-equiv-cpu1-offset"
    summary = "seed-corrected, migration time measured from the chain's anchor (in the stream)"
    source = "seed mail (Cave-Ayland to Gibson, qemu-ppc, July 2018), corrected and anchored"

    def setup(self, vm):
        self.stoppedGuestTB = U64(0)  # uint64_t, the TB at the last stop
        self.anchorTB = U64(0)  # uint64_t, the TB at the chain's start
        self.anchorCLK = S64(0)  # int64_t, CLOCK_REALTIME at the chain's start
        self.guestFreq = vm.host.tb_freq  # uint64_t Hz, learnt at boot, then from the stream
        self.counts = False  # did the last stop belong to a running guest's migration?

    def boot(self, vm, tb0):
        vm.set_all_offsets(wrapping_sub(tb0, vm.host.tb()))
        self.anchorTB, self.anchorCLK = tb0, vm.host.realtime_ns()

    def stop(self, vm, state):
        self.stoppedGuestTB = wrapping_add(vm.host.tb(), vm.cpus[1].tb_offset)
        self.counts = state == FINISH_MIGRATE

    def pre_save(self, vm):
        return Record(stoppedGuestTB=self.stoppedGuestTB, anchorTB=self.anchorTB,
                      anchorCLK=self.anchorCLK, guestFreq=self.guestFreq, counts=self.counts)

    def post_load(self, vm, record):
        self.stoppedGuestTB = record.stoppedGuestTB
        self.anchorTB, self.anchorCLK = record.anchorTB, record.anchorCLK
        self.guestFreq, self.counts = record.guestFreq, record.counts
        if self.counts and not vm.autostart:  # -S: the user's pause starts now, at the load
            self.stoppedGuestTB, self.counts = self.anchored(vm), False
        return refuse(vm.host.tb_freq != self.guestFreq, "destination TB frequency differs")

    def anchored(self, vm):
        """The TB now, from the chain's anchor; never below the TB at stop."""
        sinceAnchor = vm.host.realtime_ns() - self.anchorCLK  # int64_t ns since the chain began
        ticks = sinceAnchor.convert(S128) * to_s64(self.guestFreq) / 10**9
        # how far the anchored TB is ahead of the TB at stop; never step back
        ahead = to_s64(wrapping_sub(self.anchorTB, self.stoppedGuestTB)) + assign(
            S64, ticks, "anchorTBDiff")
        return wrapping_add(self.stoppedGuestTB, max_(S64(0), ahead))

    def cont(self, vm):
        if self.counts:
            guestTB = self.anchored(vm)
        else:  # a resume the guest sees as one (pause, snapshot, -S): a new chain starts here
            guestTB = self.stoppedGuestTB
            self.anchorTB, self.anchorCLK = guestTB, vm.host.realtime_ns()
        vm.set_all_offsets(wrapping_sub(guestTB, vm.host.tb()))
        self.counts = False
