"""`propilot regress`: parallel runs, summary, JUnit, HTML report with plots, exit codes."""

import json
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import yaml

from tests.conftest import DEMO_SCENARIO, REPO


def short_variant(folder: Path, name: str, **changes) -> None:
    data = yaml.safe_load(DEMO_SCENARIO.read_text())
    data["map"] = str(DEMO_SCENARIO.parent / data["map"])
    data.update(duration_s=8, expectations={"collisions": {"max": 0}})
    data.update(changes)
    (folder / f"{name}.yaml").write_text(yaml.safe_dump(data))


def regress(folder: Path, out: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "propilot.cli", "regress", str(folder), "--out", str(out),
                           "--jobs", "2", "--quiet", *extra], capture_output=True, text=True, cwd=REPO, timeout=600)


def test_regression_writes_summary_junit_and_a_report_with_plots(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    short_variant(folder, "good", expectations={"collisions": {"max": 0}})
    short_variant(folder, "impossible", expectations={"route_completion": {"min": 0.99}})
    run = regress(folder, tmp_path / "out")
    assert run.returncode == 1, run.stdout + run.stderr
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (summary["total"], summary["passed"], summary["failed"]) == (2, 1, 1)
    assert {e["name"]: e["passed"] for e in summary["scenarios"]} == {"good": True, "impossible": False}
    assert all("collisions" in e["metrics"] for e in summary["scenarios"])

    suite = ElementTree.parse(tmp_path / "out" / "junit.xml").getroot()
    assert suite.get("tests") == "2" and suite.get("failures") == "1"
    failure = suite.find("testcase[@name='impossible']/failure")
    assert failure is not None and "route_completion" in failure.get("message")

    report = (tmp_path / "out" / "report.html").read_text()
    for name in ("good", "impossible"):
        assert f"{name}/birdseye.png" in report and (tmp_path / "out" / name / "birdseye.png").stat().st_size > 5000
        assert (tmp_path / "out" / name / "timeseries.png").stat().st_size > 5000


def test_filter_and_invalid_files(tmp_path):
    folder = tmp_path / "scenarios"
    folder.mkdir()
    short_variant(folder, "alpha")
    short_variant(folder, "beta")
    (folder / "broken.yaml").write_text("purpose: x\nmap: nowhere.yaml\n")
    only = regress(folder, tmp_path / "only", "--filter", "alp*")
    assert only.returncode == 0, only.stdout + only.stderr
    assert json.loads((tmp_path / "only" / "summary.json").read_text())["total"] == 1
    broken = regress(folder, tmp_path / "all", "--filter", "broken")
    assert broken.returncode == 2
    assert "broken.yaml: map: no such file" in broken.stdout
