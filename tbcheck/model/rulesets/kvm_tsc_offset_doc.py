"""kvm-tsc-offset-doc: the migration procedure of Linux Documentation/virt/kvm/devices/vcpu.rst,
attribute KVM_VCPU_TSC_OFFSET, exactly as written.

Source: KVM_GET_CLOCK gives the guest's kvmclock ``guest_src`` (ns), the host's TSC ``tsc_src``
and CLOCK_REALTIME ``host_src`` at one instant; each vCPU's TSC offset ``ofs_src[i]``; the TSC
frequency ``freq`` in kHz (KVM_GET_TSC_KHZ). Destination: KVM_SET_CLOCK with the realtime flag
(KVM advances the clock by ``now_real - host_src`` when positive, never backwards), KVM_GET_CLOCK
gives ``tsc_dest`` and ``guest_dest``, and each offset is set to ``ofs_src[i] - (guest_src -
guest_dest) * freq + (tsc_src - tsc_dest)``: ns times kHz, 10**6 times too many ticks (in u64,
as ``ofs + (guest_dest - guest_src) * freq + ...``, the same modulo 2**64). Nothing
is done at stop or continue: the TSC runs while the VM is paused. Stated assumptions:
synchronised CLOCK_REALTIME and a short pause. The guest's TSC is modelled as the host counter.
"""

from tbcheck import S64, Record, RuleSet, max_, to_u64, wrapping_add, wrapping_sub


class Rules(RuleSet):
    name = "kvm-tsc-offset-doc"
    summary = "Linux's KVM_VCPU_TSC_OFFSET migration procedure as documented (ns * kHz)"
    source = "Linux Documentation/virt/kvm/devices/vcpu.rst, KVM_VCPU_TSC_OFFSET"
    expected = {
        "monotonic": "violated from depth 1",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 2",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "violated from depth 1",
        "no-overflow": "violated from depth 1",
    }

    def stop(self, vm, state):
        pass

    def cont(self, vm):
        pass

    def pre_save(self, vm):
        # guest_src, the kvmclock, is read with them; only guest_dest - guest_src matters
        return Record(tsc_src=vm.host.tb(), host_src=vm.host.realtime_ns(),
                      freq_khz=vm.host.tb_freq / 1000, ofs_src=[c.tb_offset for c in vm.cpus])

    def ticks(self, elapsed_ns, freq_khz):
        """The TSC ticks the procedure adds for ``elapsed_ns`` (a u64, as the text has it)."""
        return to_u64(elapsed_ns * freq_khz)  # ns * kHz

    def post_load(self, vm, r):
        # KVM_SET_CLOCK(KVM_CLOCK_REALTIME) advances the kvmclock by this much; KVM_GET_CLOCK
        # at the same instant reads guest_dest and tsc_dest: guest_dest - guest_src is it
        elapsed = to_u64(max_(S64(0), vm.host.realtime_ns() - r.host_src))
        tsc_dest = vm.host.tb()
        for c, ofs in zip(vm.cpus, r.ofs_src, strict=True):  # the same sum modulo 2**64,
            guest_tsc_src = wrapping_add(r.tsc_src, ofs)  # grouped as the guest's TSC
            c.tb_offset = wrapping_sub(wrapping_add(guest_tsc_src,
                                                    self.ticks(elapsed, r.freq_khz)), tsc_dest)
        return None
