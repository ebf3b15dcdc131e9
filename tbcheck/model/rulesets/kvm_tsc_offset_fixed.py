"""kvm-tsc-offset-fixed: the KVM_VCPU_TSC_OFFSET procedure (kvm-tsc-offset-doc) with its units
corrected: the elapsed kvmclock time becomes TSC ticks as ``elapsed_ns * freq_kHz / 10**6``,
with a 128-bit product (QEMU's ``muldiv64``), since ns times kHz leaves 64 bits after hours at
GHz rates. Everything else as documented: the frequency is migrated in kHz and not used to
scale (a 2023 RFC notes the text ignores TSC scaling), the TSC runs while the VM is paused.
"""

from tbcheck import muldiv64
from tbcheck.model.rulesets.kvm_tsc_offset_doc import Rules as Doc


class Rules(Doc):
    name = "kvm-tsc-offset-fixed"
    summary = "the KVM_VCPU_TSC_OFFSET procedure with ns * kHz / 1e6 (128-bit product)"
    source = "Linux Documentation/virt/kvm/devices/vcpu.rst, KVM_VCPU_TSC_OFFSET, units fixed"
    # monotonic: the solver does not decide depth 3 within the default budget (two hops'
    # 128-bit conversions), no-overflow depth 6 (measured at depths 4, 5, 6 and 8); random
    # runs and fuzzing find no violation there
    expected = {
        "monotonic": "proved to depth 2",
        "frozen-when-stopped": "vacuous below depth 2, violated from depth 2",
        "tracks-wall-clock": "violated from depth 1",
        "guest-frequency": "violated from depth 1",
        "vcpus-agree": "proved for every depth",
        "snapshot-frozen": "violated from depth 1",
        "no-overflow": "proved to depth 5",
    }

    def ticks(self, elapsed_ns, freq_khz):
        return muldiv64(elapsed_ns, freq_khz, 10**6)
