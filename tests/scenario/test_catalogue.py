"""The whole scenario catalogue passes (lockstep, in parallel), as `propilot regress` runs it."""

import json
import subprocess
import sys

from tests.conftest import REPO


def test_every_scenario_in_the_catalogue_passes(tmp_path):
    run = subprocess.run([sys.executable, "-m", "propilot.cli", "regress", "sim/scenarios", "--out", str(tmp_path),
                          "--jobs", "2", "--quiet"], capture_output=True, text=True, cwd=REPO, timeout=1200)
    summary = json.loads((tmp_path / "summary.json").read_text())
    failed = [e["name"] for e in summary["scenarios"] if not e["passed"]]
    assert run.returncode == 0 and not failed, run.stdout[-4000:] + run.stderr[-2000:]
    assert summary["total"] == len(list((REPO / "sim" / "scenarios").glob("*.yaml")))
