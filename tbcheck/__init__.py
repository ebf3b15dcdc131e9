"""tbcheck: a model and property checker for guest-timebase migration.

A rule file imports its whole vocabulary from here: the hook API (``RuleSet``, ``Record``,
``refuse``, run-state names), the C integer types and operations of the number domain.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tbcheck")
except PackageNotFoundError:  # a checkout used without installing it
    __version__ = "0+unknown"

from tbcheck.model.api import (
    FINISH_MIGRATE,
    INMIGRATE,
    KVM_HV_TB_OFFSET_ALIGN,
    PAUSED,
    POSTMIGRATE,
    RESTORE_VM,
    RUNNING,
    SAVE_VM,
    TSC_RATIO_MAX,
    VM,
    Cpu,
    Host,
    Record,
    Refusal,
    RuleSet,
    kvm_hv_tb_offset,
    refuse,
    scale_counter,
)
from tbcheck.model.domain import (
    S64,
    S128,
    U32,
    U64,
    U128,
    Bool,
    Int,
    align_up,
    assign,
    clamp,
    ite,
    max_,
    min_,
    muldiv64,
    to_s64,
    to_u32,
    to_u64,
    wrapping_add,
    wrapping_sub,
)

__all__ = [
    "FINISH_MIGRATE", "INMIGRATE", "KVM_HV_TB_OFFSET_ALIGN", "PAUSED", "POSTMIGRATE",
    "RESTORE_VM", "RUNNING", "SAVE_VM", "TSC_RATIO_MAX", "VM", "Cpu", "Host", "Record",
    "Refusal", "RuleSet", "kvm_hv_tb_offset", "refuse", "scale_counter", "S64", "S128", "U32",
    "U64", "U128", "Bool", "Int", "align_up", "assign", "clamp", "ite", "max_", "min_",
    "muldiv64", "to_s64", "to_u32", "to_u64", "wrapping_add", "wrapping_sub",
]
