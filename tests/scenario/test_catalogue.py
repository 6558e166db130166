"""The whole scenario catalogue passes (lockstep, in parallel), as `propilot regress` runs it."""

import json
import subprocess
import sys

from tests.conftest import REPO

HEADLINE_METRICS = ("collisions", "min_ttc_s", "min_time_headway_s", "route_completion", "driving_score",
                    "critical_distance_margin_m", "max_lat_accel_mps2", "max_lat_jerk_mps3", "hands_off_share",
                    "proposals_made", "proposals_accepted", "proposals_expired", "proposals_rejected",
                    "refused_requests", "mean_approval_latency_s", "travel_time_s", "baseline_travel_time_s",
                    "travel_time_ratio")


def test_every_scenario_in_the_catalogue_passes(tmp_path):
    run = subprocess.run([sys.executable, "-m", "propilot.cli", "regress", "sim/scenarios", "--out", str(tmp_path),
                          "--jobs", "2", "--quiet"], capture_output=True, text=True, cwd=REPO, timeout=1200)
    summary = json.loads((tmp_path / "summary.json").read_text())
    failed = [e["name"] for e in summary["scenarios"] if not e["passed"]]
    assert run.returncode == 0 and not failed, run.stdout[-4000:] + run.stderr[-2000:]
    assert summary["total"] == len(list((REPO / "sim" / "scenarios").glob("*.yaml")))
    highway = [e for e in summary["scenarios"] if not e["name"].startswith("parking_")]
    for entry in highway:  # the headline metrics are in every result (None: the situation never arose)
        missing = set(HEADLINE_METRICS) - set(entry["metrics"])
        assert not missing, f"{entry['name']}: {sorted(missing)}"
        assert 0.0 <= entry["metrics"]["driving_score"] <= entry["metrics"]["route_completion"]
