"""seed-scaled: seed-corrected, where a destination whose counter runs at another rate scales
it for the guest if its hardware can, and refuses the migration only if it cannot.

The answer to the seed mail's open question (hosts of different frequencies) on hardware with
counter scaling, as x86 KVM does it: the destination sets the guest's frequency
(``KVM_SET_TSC_KHZ``); KVM turns it into ``ratio = (1 << frac_bits) * guest / host``, refuses
a ratio of 0 or at its hardware's maximum, and the guest reads ``((H * ratio) >> frac_bits) +
offset`` (Linux arch/x86/kvm/x86.c ``set_tsc_khz``, ``kvm_scale_tsc``). QEMU fails the
incoming migration when the frequencies differ and the host cannot scale (target/i386/kvm/
kvm.c ``kvm_arch_set_tsc_khz``). Frequencies are in Hz here (KVM: kHz), the product 128-bit.
"""

from tbcheck import U64, U128, assign, ite, refuse
from tbcheck.model.rulesets.seed_corrected import Rules as Corrected  # the built-in


class Rules(Corrected):
    name = "seed-scaled"
    summary = "seed-corrected, scaling the counter where the host can, refusing where not"
    source = "seed mail's open question; Linux arch/x86/kvm/x86.c set_tsc_khz, kvm_scale_tsc"
    scales = True  # it uses the host's counter scaling: each host may or may not have it
    expected = {}  # a user's file: each cell is held to "proved", not to seed-corrected's outcomes

    def post_load(self, vm, record):
        refused = super().post_load(vm, record)  # takes the record; refuses if rates differ
        host = vm.host
        ratio = assign(U64, (U128(1 << host.frac_bits) * self.guestFreq) / host.tb_freq,
                       "ratio")
        cannot = ~host.can_scale | (ratio == 0) | (ratio >= host.max_ratio)
        # exactly 1 << frac_bits where the rates agree; where it refuses, no ratio is set
        vm.set_all_ratios(ite(cannot, U64(1 << host.frac_bits), ratio))
        return refuse(refused.when & cannot, "destination cannot scale to the guest's rate")
