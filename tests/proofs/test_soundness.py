"""Soundness of the checks' placement, as a user meets it: a rule file with a violation at
exactly one place, written here as a user would, is found by ``tbcheck run`` (the concrete
engine) and by ``tbcheck prove`` (the solver) alike.

Each test names the place in the model where a check could be skipped, merged or done once an
instant (tbcheck/model/world.py), and puts the rule file's only violation there.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import z3

from tbcheck.cli import main
from tbcheck.loader import load_rules_file
from tbcheck.model.domain import U64, fresh, wrapping_add
from tbcheck.model.intervals import tightened
from tbcheck.model.registry import builtin
from tbcheck.proofs.envelope import Envelope
from tbcheck.proofs.unroll import Symbols, symbols, unroll

HEADER = """
from tbcheck import (FINISH_MIGRATE, PAUSED, S64, U64, Record, RuleSet, refuse, wrapping_add,
                     wrapping_sub)
"""


def _file(tmp_path: Path, body: str) -> str:
    path = tmp_path / "rules.py"
    path.write_text(HEADER + body)
    return str(path)


def _proved(path: str, prop: str, depth: int, capsys: pytest.CaptureFixture[str],
            *extra: str) -> dict:
    main(["prove", "--variant-file", path, "--property", prop, "--depth", str(depth),
          "--json", "--jobs", "1", "--random-runs", "0", "--fuzz-examples", "0",
          "--induction", "0", *extra])
    (r,) = json.loads(capsys.readouterr().out)["results"]
    return r  # type: ignore[no-any-return]


def _ran(path: str, events: str, capsys: pytest.CaptureFixture[str], *extra: str) -> list:
    main(["run", "--variant-file", path, events, "--json", *extra])
    return json.loads(capsys.readouterr().out)["violations"]  # type: ignore[no-any-return]


# ----------------------------------------------------------------- read_tb on every vCPU
# A frozen scheme whose resume leaves vCPU 1 one tick behind vCPU 0, and whose read computes
# TB_0 + (off_i - off_0) in checked uint64_t arithmetic: vCPU 0's read is always exact, vCPU
# 1's leaves uint64_t once the offsets differ (its offset is the smaller one).
VCPU1_OVERFLOWS = """
class Rules(RuleSet):
    name = "vcpu1-overflows"

    def setup(self, vm):
        self.tb = U64(0)

    def stop(self, vm, state):
        self.tb = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)

    def pre_save(self, vm):
        return Record(tb=self.tb)

    def post_load(self, vm, record):
        self.tb = record.tb

    def cont(self, vm):
        off = wrapping_sub(self.tb, vm.host.tb())
        vm.cpus[0].tb_offset = off
        vm.cpus[1].tb_offset = wrapping_sub(off, 1)

    def read_tb(self, vm, cpu):
        first = vm.cpus[0].tb_offset
        return wrapping_add(vm.host.tb(), first) + (cpu.tb_offset - first)
"""


def test_read_tb_obligations_of_vcpu_1_are_checked(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, VCPU1_OVERFLOWS)
    bad = [v for v in _ran(path, "run(1s) stop run(1s) cont run(1s)", capsys, "--tb0", "1000")
           if v["property"] == "no-overflow"]
    assert bad and all("vCPU 1" in v["explanation"] for v in bad), bad
    r = _proved(path, "no-overflow", 3, capsys)
    assert r["verdict"] == "violated" and r["counterexample"]["replayed"] is True


# ----------------------------------------------------------------- bounds of one envelope
WIDE = 1 << 80


def _own_bounds(sym: Symbols) -> dict[str, tuple[int, int]]:
    """What the interval evaluation makes of a few of ``sym``'s terms."""
    h = sym.params.hosts
    return {"skews": tightened((h[1].skew.v - h[0].skew.v), -WIDE, WIDE),
            "freq": tightened(h[1].freq.v + 0, -WIDE, WIDE),
            "run": tightened(h[0].freq.v * sym.steps[0].d.v, -WIDE, WIDE)}


ENVELOPES = {"default": Envelope(depth=1), "eps0": Envelope(depth=1, eps_ns=0),
             "fmax": Envelope(depth=1, fmax_hz=2 * 10**9, max_run_ns=10**9)}


@pytest.mark.parametrize("order", [list(ENVELOPES), list(reversed(ENVELOPES))])
def test_each_envelopes_bounds_are_its_own_whatever_was_built_before(order: list[str]) -> None:
    syms = {name: symbols(ENVELOPES[name]) for name in order}
    got = {name: _own_bounds(syms[name]) for name in order}
    for name in order:
        env = ENVELOPES[name]
        assert got[name]["skews"] == (-env.eps_ns, env.eps_ns), name
        assert got[name]["freq"] == (env.fmin_hz, env.fmax_hz), name
        assert got[name]["run"] == (0, env.fmax_hz * env.max_run_ns), name
    # and asked again after everything was built, in the other order: the same answers
    assert {name: _own_bounds(syms[name]) for name in reversed(order)} == got


def test_a_narrower_range_built_later_does_not_drop_a_wider_ones_wrap() -> None:
    """The fuzzer's symbolic run gives a host's realtime clock a range up to 2**62, the
    unrolling 0..eps above a base, under the same names: an unknown built later with a narrower
    range must not narrow the bounds that decide where the earlier one's terms wrap."""
    wide, c_wide = fresh(U64, "leak_x", 0, 1 << 62)
    narrow, _ = fresh(U64, "leak_x", 0, 10)
    assert tightened(narrow.v + 0, -WIDE, WIDE) == (0, 10)
    assert tightened(wide.v + 0, -WIDE, WIDE) == (0, 1 << 62)
    y = wrapping_add(wide, U64((1 << 64) - (1 << 61)))  # wraps once x >= 2**61
    s = z3.Solver()
    s.add(c_wide, wide.v == 1 << 62)
    assert s.check() == z3.sat
    assert s.model().eval(y.reduced().v).as_long() == 1 << 61


def _found(path: str, prop: str, depth: int, events: str,
           capsys: pytest.CaptureFixture[str], *run_args: str) -> None:
    """Both engines find ``prop`` violated: ``tbcheck run`` on ``events``, and the solver
    (random runs, fuzzing and induction off) within ``depth``, its counterexample replayed."""
    ran = [v["property"] for v in _ran(path, events, capsys, *run_args)]
    assert prop in ran, ran
    r = _proved(path, prop, depth, capsys)
    assert r["verdict"] == "violated", r
    assert r["found_by"] == "solver" and r["counterexample"]["replayed"] is True


# ----------------------------------------------------------------- a run reuses the last read
# world._run starts a running guest's run from the read that ended the event before (the
# resume's): a scheme whose TB runs at twice the rate after a cont is caught in that run.
TWICE_AFTER_CONT = """
class Rules(RuleSet):
    name = "twice-after-cont"

    def setup(self, vm):
        self.tb, self.h, self.fast = U64(0), U64(0), False

    def read_tb(self, vm, cpu):
        if self.fast:
            d = wrapping_sub(vm.host.tb(), self.h)
            return wrapping_add(self.tb, wrapping_add(d, d))
        return wrapping_add(vm.host.tb(), cpu.tb_offset)

    def stop(self, vm, state):
        self.tb, self.fast = self.read_tb(vm, vm.cpus[0]), False
        vm.set_all_offsets(wrapping_sub(self.tb, vm.host.tb()))

    def pre_save(self, vm):
        return Record(tb=self.tb)

    def post_load(self, vm, record):
        self.tb = record.tb

    def cont(self, vm):
        self.h, self.fast = vm.host.tb(), True
"""


def test_the_run_after_a_resume_starts_from_the_resumes_read(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _found(_file(tmp_path, TWICE_AFTER_CONT), "guest-frequency", 2, "stop cont run(1s)", capsys)


# ----------------------------------------------------------------- a paused guest's hooks
# A paused guest's migration notifies no stop handler (world._implicit_stop), nor does its
# savevm; a scheme whose pre_save, when it was not told of the stop, records the live TB
# (still running under the offsets) breaks the pause across a migration, or a snapshot of the
# pause (world._savevm's reference for a paused guest). ``told`` says when pre_save trusts
# the TB its stop handler kept.
PAUSED_PRE_SAVE = """
class Rules(RuleSet):
    name = "paused-pre-save"

    def setup(self, vm):
        self.tb, self.seen = U64(0), None

    def stop(self, vm, state):
        self.tb, self.seen = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset), state

    def pre_save(self, vm):
        live = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)
        return Record(tb=self.tb if TOLD else live)

    def post_load(self, vm, record):
        self.tb = record.tb

    def cont(self, vm):
        vm.set_all_offsets(wrapping_sub(self.tb, vm.host.tb()))
"""


def test_a_paused_guests_migration_is_checked_at_the_resume(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, PAUSED_PRE_SAVE.replace("TOLD", "self.seen == vm.state"))
    _found(path, "frozen-when-stopped", 3, "stop run(10s) migrate(1) cont", capsys)


def test_a_paused_guests_snapshot_stands_for_the_pause(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, PAUSED_PRE_SAVE.replace("TOLD", "self.seen == vm.state != PAUSED"))
    _found(path, "snapshot-frozen", 4, "stop run(10s) savevm(s1) loadvm(s1) cont", capsys)


def test_hooks_of_a_paused_guests_migration_owe_no_overflow(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _file(tmp_path, PAUSED_PRE_SAVE.replace("TOLD", "True").replace(
        "        live = ", "        if self.seen != vm.state:  # a paused source\n"
                           "            U64(1) - vm.host.tb_freq\n        live = "))
    _found(path, "no-overflow", 2, "stop migrate(1) cont", capsys)


# ----------------------------------------------------------------- refused migrations, loadvm
# seed-corrected refuses a destination whose counter runs at another frequency, and then the
# source resumes (world._migrate forks on the refusal). Here that resume, and only it, jumps a
# second ahead and computes outside uint64_t: the refused path's hooks and checks are found.
REFUSED_RESUME = """
from tbcheck.model.rulesets.seed_corrected import Rules as SeedCorrected


class Rules(SeedCorrected):
    name = "refused-resume-jumps"
    expected = {}

    def setup(self, vm):
        super().setup(vm)
        self.leaving = False

    def pre_save(self, vm):
        self.leaving = vm.state == FINISH_MIGRATE
        return super().pre_save(vm)

    def cont(self, vm):
        super().cont(vm)
        if self.leaving:  # only a source whose migration was refused gets here
            U64(1) - vm.host.tb_freq
            vm.set_all_offsets(wrapping_add(vm.cpus[0].tb_offset, vm.host.tb_freq))
        self.leaving = False
"""

OTHER_FREQ = ("--freq", "512000000,256000000,512000000")


@pytest.mark.parametrize("prop", ["tracks-wall-clock", "no-overflow"])
def test_a_refused_migrations_resume_is_checked(prop: str, tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _found(_file(tmp_path, REFUSED_RESUME), prop, 1, "run(1s) migrate(1) run(1s)", capsys,
           *OTHER_FREQ)


# A loadvm refused (a snapshot older than 1000 s) after post_load applied the snapshot's
# record: the guest goes on from where it was, but with the snapshot's TB. The read after the
# failed loadvm is still on the old branch, so monotonic sees the TB go back.
REFUSED_LOADVM = """
from tbcheck import INMIGRATE
from tbcheck.model.rulesets.seed_corrected import Rules as SeedCorrected


class Rules(SeedCorrected):
    name = "refused-loadvm-applies-the-record"
    expected = {}

    def post_load(self, vm, record):
        refused = super().post_load(vm, record)
        if vm.state == INMIGRATE:
            return refused
        return refuse(vm.host.realtime_ns() - record.stopCLK > 1000 * 10**9, "snapshot too old")
"""


def test_a_refused_loadvm_stays_on_the_branch_it_failed_on(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _found(_file(tmp_path, REFUSED_LOADVM), "monotonic", 2,
           "run(1s) savevm(s1) run(2000s) loadvm(s1) run(1s)", capsys)


# ----------------------------------------------------------------- every hook, even __init__
CONSTRUCTOR_OVERFLOWS = """
class Rules(RuleSet):
    name = "constructor-overflows"

    def __init__(self):
        self.scale = U64(1) - 2  # checked: leaves uint64_t in the constructor

    def stop(self, vm, state):
        pass

    def pre_save(self, vm):
        return Record()

    def post_load(self, vm, record):
        pass

    def cont(self, vm):
        pass
"""


def test_a_rule_sets_constructor_owes_no_overflow(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    _found(_file(tmp_path, CONSTRUCTOR_OVERFLOWS), "no-overflow", 1, "run(1s)", capsys)


# ----------------------------------------------------------------- a check false by constants
# The solver's passes skip a check only when its violation is the literal false (its ``ok``
# held by construction); one whose ``ok`` is false by construction is asked like any other.
BOOTS_APART = CONSTRUCTOR_OVERFLOWS.replace("""    def __init__(self):
        self.scale = U64(1) - 2  # checked: leaves uint64_t in the constructor
""", """    def boot(self, vm, tb0):
        super().boot(vm, tb0)
        vm.cpus[1].tb_offset = wrapping_add(vm.cpus[0].tb_offset, 1)
""")


def test_a_check_false_by_construction_is_asked(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    _found(_file(tmp_path, BOOTS_APART), "vcpus-agree", 1, "run(1s)", capsys)


# ----------------------------------------------------------------- one site for equal checks
def test_a_vcpus_check_is_one_site_only_when_its_terms_are_another_vcpus(tmp_path: Path) -> None:
    """proofs.unroll asks a check once when one path emitted the very same terms twice (every
    vCPU of qemu-tcg does the same arithmetic); a vCPU whose arithmetic differs keeps its own."""
    def read_sites(rules: type) -> dict[int, int]:
        u = unroll(rules, Envelope(depth=2))
        got: dict[int, int] = {}
        for s in u.sites["no-overflow"]:
            if "read_tb" in s.check.what and not z3.is_false(s.violated):
                got[s.check.vcpu] = got.get(s.check.vcpu, 0) + 1
        return got

    same = read_sites(builtin("qemu-tcg"))
    assert same.get(0) and not same.get(1)
    own = read_sites(load_rules_file(_file(tmp_path, VCPU1_OVERFLOWS)))
    assert own.get(1)
