"""Every benchmark in one go (`make bench`): the encoding comparison, the verdict matrix,
fuzzing against SMT on the historical bugs, random runs against
them, the induction, and the divisions' order facts. Results land in bench/results/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

for script, args in (("encoding.py", ["30"]), ("matrix.py", ["4", "20"]),
                     ("fuzz_vs_smt.py", []), ("hunt.py", []),
                     ("induction.py", ["200"]), ("floors.py", [])):
    print(f"== bench/{script}", flush=True)
    subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], check=True, cwd=ROOT)
