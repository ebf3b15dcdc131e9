"""tbcheck.plot through `--plot`: the picture is written where asked, in the format its name
says, and holds the series, the bands, the events and the violation with its allowed range
(found by their ids in the SVG)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tbcheck.cli import main

pytest.importorskip("matplotlib")

V1_BUG = "run(1s) stop run(10s) migrate(1) cont run(1s)"  # the paused guest gains the 10 s
TRACE = Path(__file__).resolve().parents[1] / "data" / "pseries.trace.jsonl"


def _ids(svg: Path) -> set[str]:
    return {e.get("id", "") for e in ET.parse(svg).getroot().iter()} - {""}


def test_run_draws_each_vcpu_the_bands_events_and_the_violation(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svg = tmp_path / "v1.svg"
    assert main(["run", "--variant", "qemu-ppc-v1", V1_BUG, "--plot", str(svg)]) == 1
    ids = _ids(svg)
    assert {"series-vcpu0", "series-vcpu1", "violation", "tolerance", "miss"} <= ids
    assert {f"event-{i}" for i in range(1, 7)} <= ids
    hosts = {i.rsplit("-", 1)[1] for i in ids if i.startswith("host-band-")}
    assert hosts == {"h0", "h1"}  # booted on h0, migrated to h1
    states = {i.rsplit("-", 1)[1] for i in ids if i.startswith("state-band-")}
    assert {"running", "paused"} <= states
    assert "frozen-when-stopped violated at event 5" in svg.read_text()


def test_a_run_without_violation_has_no_violation_mark(tmp_path: Path) -> None:
    svg = tmp_path / "ok.svg"
    assert main(["run", "--variant", "qemu-ppc-v4", "run(1s) read(0) run(1s)", "--vcpus", "1",
                 "--plot", str(svg)]) == 0
    ids = _ids(svg)
    assert "series-vcpu0" in ids and "series-vcpu1" not in ids
    assert "violation" not in ids and "tolerance" not in ids


def test_png_by_its_extension(tmp_path: Path) -> None:
    png = tmp_path / "v1.png"
    main(["run", "--variant", "qemu-ppc-v1", V1_BUG, "--plot", str(png)])
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name, said", [("v1.pdf", "must end in .svg or .png"),
                                        ("no/such/dir/v1.svg", "is not a folder")])
def test_a_bad_target_is_refused_before_the_work(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, said: str) -> None:
    assert main(["run", "--variant", "qemu-ppc-v1", V1_BUG, "--plot",
                 str(tmp_path / name)]) == 2
    err = capsys.readouterr()
    assert err.out == "" and said in err.err and len(err.err.strip().splitlines()) == 1


def test_without_matplotlib_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    assert main(["run", "--variant", "qemu-ppc-v1", V1_BUG, "--plot",
                 str(tmp_path / "x.svg")]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'tbcheck[plot]'" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.svg").exists()


def test_prove_draws_the_counterexample(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    svg = tmp_path / "cx.svg"
    rc = main(["prove", "--variant", "qemu-ppc-v1", "--property", "frozen-when-stopped",
               "--depth", "3", "--jobs", "1", "--json", "--plot", str(svg)])
    assert rc == 0
    (r,) = json.loads(capsys.readouterr().out)["results"]
    ids = _ids(svg)
    assert {"series-vcpu0", "violation", "tolerance"} <= ids
    assert {f"event-{i}" for i in range(1, len(r["counterexample"]["events"]) + 1)} <= ids


def test_validate_draws_reads_windows_and_mismatches(tmp_path: Path) -> None:
    svg = tmp_path / "trace.svg"
    assert main(["validate", str(TRACE), "--plot", str(svg)]) == 1  # tracks-wall-clock fails
    ids = _ids(svg)
    assert {"reads-running-vcpu0", "reads-running-vcpu1", "reads-two-hops-vcpu0"} <= ids
    assert any(i.startswith("mismatch-migrate-running-") for i in ids)
    assert any(i.startswith("event-migrate-running-") for i in ids)
    assert any(i.startswith("host-band-") and i.endswith("-dst") for i in ids)
