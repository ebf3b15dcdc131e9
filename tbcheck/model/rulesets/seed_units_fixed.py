"""seed-units-fixed: the seed mail's scheme with one change: the migration time is turned into
ticks as ``migrationTime * recvHostTBFreq / 1e9`` (the mail divides ns by Hz). Nothing else
changed: no clamp of a negative migration time, the destination's frequency, no stoppedGuestTB.

The product is taken in 128 bits (``(__int128)migrationTime * freq``), as QEMU's muldiv64 does;
in plain int64_t it would overflow from about 0.92 s at 10 GHz (README, "Writing a rule set").
Source: seed mail (Cave-Ayland to Gibson, qemu-ppc, July 2018), scenario 2.
"""

from tbcheck import S64, S128, assign, to_s64, wrapping_add, wrapping_sub
from tbcheck.model.rulesets.seed_as_written import Rules as AsWritten


class Rules(AsWritten):
    name = "seed-units-fixed"
    summary = "the seed's scheme with ns * f / 1e9 for the migration time, nothing else changed"
    source = "seed mail (Cave-Ayland to Gibson, qemu-ppc, July 2018) with the unit error fixed"
    # the mail's assumptions i and ii: same TB frequency, synchronised clocks
    assume = {"tracks-wall-clock": {"same_frequency": True, "eps_ns": 0}}
    # each outcome at every depth, as `tbcheck prove --depth D` gives it for D = 1..8 at
    # the default budgets (the forms: tbcheck/gate.py); README, "Reading a verdict", says why
    expected = {
        "monotonic": "violated from depth 1",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 2",
        # per chain even under i and ii: each hop floors its ticks, and the lost ticks add up
        "tracks-wall-clock": "violated from depth 3",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "violated from depth 1",
        "no-overflow": "proved to depth 5; to depth 4 from depth 7",
    }

    def cont(self, vm):
        migrationTBDiff = S64(0)
        if self.running:
            migrationTime = vm.host.realtime_ns() - self.sendhostCLK
            recvHostTBFreq = to_s64(vm.host.tb_freq)
            ticks = migrationTime.convert(S128) * recvHostTBFreq / 10**9
            migrationTBDiff = assign(S64, ticks, "migrationTBDiff")
        recvTBDiff = wrapping_sub(wrapping_add(self.guestTB, migrationTBDiff), vm.host.tb())
        vm.set_all_offsets(recvTBDiff)
        self.running = False
