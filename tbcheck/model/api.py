"""The hook API a rule set implements, and the view of the world its hooks get.

A rule set is a subclass of ``RuleSet``; QEMU calls its hooks at the same points as QEMU's own
code: the VM run-state change handler (``stop``/``cont``), the migration section's ``pre_save``
(which returns the stream ``Record``) and ``post_load`` (which consumes it). A snapshot
(``savevm``/``loadvm``) goes through ``pre_save``/``post_load`` as in QEMU. Everything the rule
keeps between hooks lives on ``self``: numbers (``U64``, ``S64`` ...) are data the solver may
choose; plain Python values (bools, strings) are control, which both engines know exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from tbcheck.model.domain import (
    OBLIGATIONS,
    S64,
    U64,
    U128,
    Bool,
    Num,
    align_up,
    any_,
    wrapping_add,
    wrapping_sub,
)

# QEMU's run states (qapi/run-state.json) that the model's events pass through.
RUNNING = "running"
PAUSED = "paused"
SAVE_VM = "save-vm"
RESTORE_VM = "restore-vm"
FINISH_MIGRATE = "finish-migrate"
INMIGRATE = "inmigrate"
POSTMIGRATE = "postmigrate"


#: x86 TSC scaling's ratio formats (fraction bits: the largest ratio KVM accepts, exclusive):
#: Intel VMX's 64-bit multiplier, AMD SVM's 8.32 MSR (Linux arch/x86/kvm/vmx/vmx.c
#: KVM_VMX_TSC_MULTIPLIER_MAX, arch/x86/kvm/svm/svm.c SVM_TSC_RATIO_MAX)
TSC_RATIO_MAX = {48: 2**64 - 1, 32: 2**40 - 1}


def counter_ticks(freq: Num, t: Num) -> Num:
    """Ticks a counter of ``freq`` Hz has counted ``t`` ns after true time 0: ``floor(f * t /
    1e9)`` in exact integers (a host counter is its value at 0 plus this)."""
    return (freq * t) / 10**9


class ScalingUndeclared(TypeError):
    """A rule set used the host's counter scaling without declaring ``scales = True``."""


class Host:
    """What QEMU on one host can read: its counter, its clocks, its counter's frequency, and
    whether its hardware can scale the counter for a guest (``can_scale``, ``frac_bits``)."""

    def __init__(self, index: int, freq: Num, counter0: Num, skew: Num, mono0: Num,
                 now: Any, can_scale: Bool | None = None, frac_bits: int = 48,
                 scaling_declared: bool = True) -> None:
        self.index = index
        self._freq, self._counter0, self._skew, self._mono0 = freq, counter0, skew, mono0
        self._now = now  # callable giving true time (Int ns)
        self._can_scale = Bool(False) if can_scale is None else can_scale
        self._declared = scaling_declared
        #: fraction bits of its ratio (48 Intel, 32 AMD): ``guest = (H * ratio) >> frac_bits``
        self.frac_bits = frac_bits
        #: the ratios the hardware takes are ``0 < ratio < max_ratio`` (KVM's set_tsc_khz)
        self.max_ratio = TSC_RATIO_MAX[frac_bits]

    @property
    def can_scale(self) -> Bool:
        """The host has counter scaling (x86: KVM_CAP_TSC_CONTROL): data, symbolic in proofs,
        for a rule set that declares ``scales = True`` (only then is it an unknown)."""
        if not self._declared:
            raise ScalingUndeclared("uses the host's counter scaling: declare scales = True")
        return self._can_scale

    @property
    def tb_freq(self) -> U64:
        """The host counter's frequency in Hz (QEMU: ``tb_env->tb_freq``, from the host)."""
        return self._freq.convert(U64)  # type: ignore[return-value]

    def tb(self) -> U64:
        """The host counter now: ``cpu_get_host_ticks()``, ``c_h + floor(f_h * t / 1e9)``."""
        ticks = counter_ticks(self._freq, self._now())  # the counter wraps mod 2**64
        return wrapping_add(self._counter0.convert(U64), ticks.convert(U64))  # type: ignore

    def realtime_ns(self) -> S64:
        """CLOCK_REALTIME in ns (QEMU's ``qemu_clock_get_ns(QEMU_CLOCK_HOST)``), an ``int64_t``."""
        return (self._now() + self._skew).convert(S64)  # type: ignore[return-value]

    def monotonic_ns(self) -> S64:
        """CLOCK_MONOTONIC in ns: runs at true rate from an offset no other host shares."""
        return (self._now() + self._mono0).convert(S64)  # type: ignore[return-value]


def scaled_product(h: Num, ratio: Num, frac_bits: int) -> U128:
    """``(H * ratio) >> frac_bits`` before the hardware keeps its low 64 bits: a 128-bit
    product of two ``u64`` (below 2**128, so it never leaves its type), shifted."""
    return (h.convert(U128) * ratio.convert(U128)) >> frac_bits  # type: ignore[return-value]


def scale_counter(h: Num, ratio: Num, frac_bits: int) -> U64:
    """The hardware's scaled counter: ``scaled_product`` kept to its low 64 bits (Linux
    ``kvm_scale_tsc``: ``mul_u64_u64_shr``)."""
    return scaled_product(h, ratio, frac_bits).convert(U64)  # type: ignore[return-value]


@dataclass
class Cpu:
    """One vCPU's timebase register: the guest reads ``H + tb_offset``, or, once a rule set
    gave it a ratio on a host that scales, ``((H * tsc_ratio) >> frac_bits) + tb_offset``."""

    tb_offset: Num = field(default_factory=lambda: U64(0))
    tsc_ratio: Num | None = None  # u64; None: never set (the hardware's identity)


class VM:
    """The QEMU process a hook runs in: the host, the vCPUs, the current run state, and
    whether it starts the guest by itself once an incoming migration has loaded (QEMU's
    ``autostart``: False in a destination started with ``-S``, which stays paused until a
    ``cont`` and whose ``post_load`` is the last hook before that wait)."""

    def __init__(self, host: Host, cpus: list[Cpu], state: str, autostart: bool = True) -> None:
        self.host, self.cpus, self.state, self.autostart = host, cpus, state, autostart

    def set_all_offsets(self, off: Num) -> None:
        """Give every vCPU the same ``tb_offset`` (QEMU's CPU_FOREACH loop)."""
        for c in self.cpus:
            c.tb_offset = off.convert(U64)

    def set_all_ratios(self, ratio: Num) -> None:
        """Give every vCPU the counter-scaling ``ratio`` (KVM_SET_TSC_KHZ on each vCPU). The
        host must take that ratio (a host without scaling takes only the identity, ``1 <<
        frac_bits``, as KVM_SET_TSC_KHZ at the host's own rate): any other is the rule set's
        error, reported under no-overflow (the one hardware precondition the world has)."""
        r = ratio.convert(U64)
        h = self.host
        bad = any_([~h.can_scale & (r != 1 << h.frac_bits), r == 0, r >= h.max_ratio])
        OBLIGATIONS.report(f"a TSC ratio on host {h.index} (a host that scales takes 0 < ratio < "
                           f"{h.max_ratio}, one that does not only 1 << {h.frac_bits})", bad.v)
        for c in self.cpus:
            c.tsc_ratio = r

    def counter(self, cpu: Cpu) -> U64:
        """What ``cpu``'s offset is added to: the host counter, scaled if the vCPU has a
        ratio (a rule set that scales computes its offsets from this, not ``host.tb()``)."""
        if cpu.tsc_ratio is None:
            return self.host.tb()
        return scale_counter(self.host.tb(), cpu.tsc_ratio, self.host.frac_bits)


KVM_HV_TB_OFFSET_ALIGN = 1 << 24


def kvm_hv_tb_offset(off: Num) -> U64:
    """What KVM-HV makes of a TB offset QEMU sets: ``ALIGN(off, 1UL << 24)`` (Linux
    arch/powerpc/kvm/book3s_hv.c, KVM_REG_PPC_TB_OFFSET). QEMU reads the rounded value back
    (target/ppc/kvm.c, kvm_arch_get_registers), so the model keeps only the rounded one."""
    return align_up(off.convert(U64), KVM_HV_TB_OFFSET_ALIGN)  # type: ignore[return-value]


class Record:
    """The migration stream record: named fields, each a number or a plain Python value."""

    def __init__(self, **fields: Any) -> None:
        for k, v in fields.items():
            setattr(self, k, v)

    def fields(self) -> dict[str, Any]:
        return dict(vars(self))

    def __repr__(self) -> str:
        return "Record(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


@dataclass
class Refusal:
    """What ``post_load`` returns to fail the incoming migration when ``when`` holds.

    The source keeps (or resumes) running, as QEMU does when the destination fails to load.
    """

    when: Bool
    reason: str


def refuse(when: Bool | bool, reason: str) -> Refusal:
    return Refusal(when if isinstance(when, Bool) else Bool(bool(when)), reason)


class RuleSet:
    """Base class of every rule set. Required hooks: ``stop``, ``cont``, ``pre_save``,
    ``post_load``. Optional: ``setup`` (any new QEMU process), ``boot`` (first start only),
    ``read_tb`` (how the guest's TB is computed, for rule sets that derive it otherwise)."""

    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    source: ClassVar[str] = ""
    #: KVM-HV rounds a TB offset up to a multiple of 2**24: declare it to have the properties
    #: that compare TB values accept that much.
    offset_granularity: ClassVar[int] = 0
    #: a built-in rule set's outcome of each property at every depth, measured at the default
    #: budgets; ``tbcheck prove`` derives from it what is due at the depth asked:
    #: ``"violated from depth K"`` (a counterexample of K events, none shorter: asked less than
    #: K the cell is proved), ``"proved to depth K"`` (the proof reaches depth K whatever more
    #: is asked: ``proved@K`` beyond it) or ``"proved for every depth"``, a proof's form
    #: optionally followed by ``"; to depth R from depth D"`` (asked D or more, it reaches R:
    #: a deeper question leaves the proof less of the budget). A user's file is held to
    #: "proved to the depth asked" whatever it declares here.
    expected: ClassVar[dict[str, str]] = {}
    #: the rule set uses the host's counter scaling (``vm.host.can_scale``,
    #: ``vm.set_all_ratios``): only then is each host's scaling an unknown of its proofs
    scales: ClassVar[bool] = False
    #: assumptions a built-in's declared outcome needs, as envelope settings:
    #: {property: {"eps_ns": 0}}; each weakens the verdict and is shown beside it
    assume: ClassVar[dict[str, dict[str, Any]]] = {}

    #: the machine lets the guest write its TB (``mttbl``/``mttbu``): the world then offers the
    #: event ``write(I, TB)``. Not on sPAPR under KVM, where the hypervisor owns the TB.
    guest_writes_tb: ClassVar[bool] = False

    REQUIRED_HOOKS: ClassVar[tuple[str, ...]] = ("stop", "cont", "pre_save", "post_load")

    def setup(self, vm: VM) -> None:
        """A new QEMU process for this VM starts (boot or incoming migration)."""

    def boot(self, vm: VM, tb0: U64) -> None:
        """The guest boots with its TB at ``tb0``: by default every offset is ``tb0 - H``."""
        vm.set_all_offsets(wrapping_sub(tb0, vm.host.tb()))

    def read_tb(self, vm: VM, cpu: Cpu) -> U64:
        """The TB the guest reads on ``cpu``: ``H + tb_offset`` (QEMU's ``cpu_ppc_get_tb``), or
        the scaled counter plus the offset where the rule set set a ratio."""
        return wrapping_add(vm.counter(cpu), cpu.tb_offset)  # type: ignore[return-value]

    def write_tb(self, vm: VM, cpu: Cpu, value: U64) -> None:
        """The guest writes ``value`` to ``cpu``'s TB (only where ``guest_writes_tb``): by
        default its offset becomes what makes ``read_tb`` give ``value`` now (QEMU's
        ``cpu_ppc_store_tbl``: ``tb_offset = value - TB without offset``)."""
        cpu.tb_offset = wrapping_add(cpu.tb_offset, wrapping_sub(value, self.read_tb(vm, cpu)))

    def stop(self, vm: VM, state: str) -> None:
        raise NotImplementedError

    def cont(self, vm: VM) -> None:
        raise NotImplementedError

    def pre_save(self, vm: VM) -> Record:
        raise NotImplementedError

    def post_load(self, vm: VM, record: Record) -> Refusal | None:
        raise NotImplementedError
