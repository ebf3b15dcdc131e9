"""A user's rule file loads like a built-in one; every mistake is one line naming the file."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tbcheck.errors import UsageError
from tbcheck.loader import load_builtin, load_rules_file

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "seed_units_fixed_int64.py"

GOOD_HEAD = "from tbcheck import RuleSet, Record, U64, wrapping_add, wrapping_sub\n"
GOOD_BODY = '''
class Rules(RuleSet):
    name = "mine"
    def setup(self, vm):
        self.g = U64(0)
    def stop(self, vm, state):
        self.g = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)
    def cont(self, vm):
        vm.set_all_offsets(wrapping_sub(self.g, vm.host.tb()))
    def pre_save(self, vm):
        return Record(g=self.g)
    def post_load(self, vm, record):
        self.g = record.g
'''


def write(tmp_path: Path, text: str) -> str:
    p = tmp_path / "rules.py"
    p.write_text(text)
    return str(p)


def test_example_file_loads() -> None:
    cls = load_rules_file(str(EXAMPLE))
    assert cls.name == "seed-units-fixed-int64"


def test_good_file_loads(tmp_path: Path) -> None:
    assert load_rules_file(write(tmp_path, GOOD_HEAD + GOOD_BODY)).name == "mine"


@pytest.mark.parametrize("mutation, message", [
    (lambda s: s.replace("def cont(self, vm):", "def cont(self, vm:"), "syntax error"),
    (lambda s: s.replace("    def cont(self, vm):\n        vm.set_all_offsets("
                         "wrapping_sub(self.g, vm.host.tb()))\n", ""), "lacks hook cont()"),
    (lambda s: s.replace("return Record(g=self.g)", "return 42"),
     "pre_save returned int, expected a Record"),
    (lambda s: s.replace("def stop(self, vm, state):", "def stop(self, vm):"),
     "stop() takes 1 argument"),
    (lambda s: s.replace("self.g = record.g", "self.g = record.nope"), "AttributeError"),
    (lambda s: s.replace("self.g = wrapping_add(vm.host.tb(), vm.cpus[0].tb_offset)",
                         "self.g = vm.host.tb() if vm.host.tb() > 5 else U64(0)"),
     "write ite"),
    (lambda s: s.replace("class Rules(RuleSet)", "class Rules(object)"), "no subclass"),
    (lambda s: s.replace('name = "mine"', 'name = "mine"\n    expected = {"monotonic": '
                         '"proved"}'), "cannot read the declaration 'proved'"),
    (lambda s: s.replace('name = "mine"', 'name = "mine"\n    expected = {"monotone": '
                         '"proved for every depth"}'), "unknown property 'monotone'"),
    (lambda s: s.replace('name = "mine"', 'name = "mine"\n    assume = {"monotonic": '
                         '{"epsilon": 0}}'), "unknown envelope setting(s) epsilon"),
])
def test_mistakes_are_one_line_errors(tmp_path: Path, mutation, message: str) -> None:
    path = write(tmp_path, mutation(GOOD_HEAD + GOOD_BODY))
    with pytest.raises(UsageError) as exc:
        load_rules_file(path)
    text = str(exc.value)
    assert message in text and path in text and "\n" not in text


def test_missing_file_and_unknown_builtin() -> None:
    with pytest.raises(UsageError, match="no such rule file"):
        load_rules_file("/nonexistent/rules.py")
    with pytest.raises(UsageError, match="unknown rule set"):
        load_builtin("qemu-ppc-v9")


def test_cli_reports_a_broken_file_in_one_line_with_status_2(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_HEAD + GOOD_BODY.replace("return Record(g=self.g)", "return 1"))
    proc = subprocess.run([sys.executable, "-m", "tbcheck.cli", "prove", "--variant-file", path],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "pre_save returned int" in proc.stderr
