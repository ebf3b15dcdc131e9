"""The built-in rule sets by name, in the order docs/properties.md's table lists them."""

from __future__ import annotations

import importlib

from tbcheck.model.api import RuleSet

BUILTIN_MODULES: dict[str, str] = {
    "seed-as-written": "tbcheck.model.rulesets.seed_as_written",
    "seed-units-fixed": "tbcheck.model.rulesets.seed_units_fixed",
    "seed-corrected": "tbcheck.model.rulesets.seed_corrected",
    "seed-anchored": "tbcheck.model.rulesets.seed_anchored",
    "qemu-ppc-v0": "tbcheck.model.rulesets.qemu_ppc_v0",
    "qemu-ppc-v1": "tbcheck.model.rulesets.qemu_ppc_v1",
    "qemu-ppc-v2": "tbcheck.model.rulesets.qemu_ppc_v2",
    "qemu-ppc-v3": "tbcheck.model.rulesets.qemu_ppc_v3",
    "qemu-ppc-v4": "tbcheck.model.rulesets.qemu_ppc_v4",
    "qemu-ppc-fix": "tbcheck.model.rulesets.qemu_ppc_fix",
    "qemu-tcg": "tbcheck.model.rulesets.qemu_tcg",
    # the peers: other architectures' and Linux's schemes (docs/peers.md)
    "qemu-x86-kvmclock": "tbcheck.model.rulesets.qemu_x86_kvmclock",
    "qemu-arm-adjvtime": "tbcheck.model.rulesets.qemu_arm_adjvtime",
    "qemu-arm-no-adjvtime": "tbcheck.model.rulesets.qemu_arm_no_adjvtime",
    "qemu-riscv-kvm": "tbcheck.model.rulesets.qemu_riscv_kvm",
    "kvm-tsc-offset-doc": "tbcheck.model.rulesets.kvm_tsc_offset_doc",
    "kvm-tsc-offset-fixed": "tbcheck.model.rulesets.kvm_tsc_offset_fixed",
}


def builtin(name: str) -> type[RuleSet]:
    return importlib.import_module(BUILTIN_MODULES[name]).Rules


def builtins() -> dict[str, type[RuleSet]]:
    return {name: builtin(name) for name in BUILTIN_MODULES}
