"""`propilot drive` end to end: the command contract, both modes, and bad input.

These run the real CLI in a subprocess: SUMO traffic, the sensor models, the whole
stack (in lockstep, or as separate node processes over DDS on this machine).
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from mcap_ros2.reader import read_ros2_messages

from propilot.core.fusion.rig import load_rig
from propilot.core.types import SensorKind
from propilot.ros import topics
from tests.conftest import DEMO_SCENARIO, REPO

PROPILOT = [sys.executable, "-m", "propilot.cli"]
RESULT_KEYS = {"scenario", "mode", "passed", "sim_time_s", "wall_time_s", "metrics", "expectations", "events"}


def drive(scenario: Path, out: Path, mode: str = "lockstep", domain: int | None = None):
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    if domain is not None:
        env["ROS_DOMAIN_ID"] = str(domain)
    return subprocess.run([*PROPILOT, "drive", "--scenario", str(scenario), "--out", str(out), "--mode", mode,
                           "--quiet"], capture_output=True, text=True, env=env, cwd=REPO, timeout=600)


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    domain = 1 + (os.getpid() + 37) % 100
    runs = {mode: drive(DEMO_SCENARIO, out / mode, mode, domain) for mode in ("lockstep", "ros")}
    return out, runs


@pytest.mark.parametrize("mode", ["lockstep", "ros"])
def test_demo_passes_and_writes_the_contracted_result(demo_runs, mode):
    out, runs = demo_runs
    assert runs[mode].returncode == 0, runs[mode].stdout + runs[mode].stderr
    result = json.loads((out / mode / "result.json").read_text())
    assert RESULT_KEYS <= set(result)
    assert result["mode"] == mode and result["passed"] is True
    assert result["sim_time_s"] == pytest.approx(60.0)
    assert {"collisions", "min_ttc_s", "route_completion"} <= set(result["metrics"])
    for expectation in result["expectations"]:
        assert set(expectation) == {"name", "passed", "value", "threshold"}
    assert any(e["kind"] == "pilot_state" and e["detail"].startswith("ENGAGED") for e in result["events"])
    assert "PASSED" in runs[mode].stdout and str(out / mode) in runs[mode].stdout


@pytest.mark.parametrize("mode", ["lockstep", "ros"])
def test_recording_holds_odometry_objects_and_commands(demo_runs, mode):
    out, _ = demo_runs
    counts: dict[str, int] = {}
    for message in read_ros2_messages(str(out / mode / "run.mcap")):
        counts[message.channel.topic] = counts.get(message.channel.topic, 0) + 1
    steps = 1200
    for topic in (topics.ODOMETRY, topics.OBJECTS, topics.COMMAND, topics.VEHICLE_STATUS):
        assert counts.get(topic) == steps, topic
    assert counts[topics.GNSS_FIX] == steps // 2  # 10 Hz receiver, 20 Hz steps
    # every sensor of the rig: one frame per scan, delivered after its latency (the last ones still in flight)
    rig = load_rig(REPO / "sim" / "rigs" / "default.yaml")
    last_step_s = (steps - 1) * 0.05
    for sensor in rig.sensors:
        expected = math.floor((last_step_s - sensor.spec.latency_s) * sensor.spec.rate_hz + 1e-6) + 1
        assert counts.get(topics.detections_topic(sensor.kind, sensor.sensor_id)) == expected, sensor.sensor_id
        if sensor.kind == SensorKind.SONAR:
            assert counts.get(topics.range_topic(sensor.sensor_id)) == expected, sensor.sensor_id


# What must agree between the modes: the verdicts, the counts and the events a driver notices.
SAME_IN_BOTH = ("collisions", "lane_changes", "proposals_made", "proposals_accepted", "proposals_expired",
                "max_warning_level")
# Continuous figures: ROS mode carries stamps and covariances through messages (nanoseconds, square roots),
# so last-digit differences can grow over a minute of closed-loop driving; they stay small.
CLOSE_IN_BOTH = {"route_completion": 0.01, "mean_speed_mps": 0.02, "min_time_headway_s": 0.05,
                 "max_lat_accel_mps2": 0.1}


def test_both_modes_reach_the_same_outcome(demo_runs):
    out, _ = demo_runs
    lockstep, ros = (json.loads((out / m / "result.json").read_text()) for m in ("lockstep", "ros"))
    assert lockstep["passed"] == ros["passed"] is True
    assert [(e["name"], e["passed"]) for e in lockstep["expectations"]] == \
        [(e["name"], e["passed"]) for e in ros["expectations"]]
    for name in SAME_IN_BOTH:
        assert ros["metrics"][name] == lockstep["metrics"][name], name
    for name, rel in CLOSE_IN_BOTH.items():
        assert ros["metrics"][name] == pytest.approx(lockstep["metrics"][name], rel=rel), name
    kinds = [(e["kind"], e["detail"]) for e in lockstep["events"] if e["kind"] == "pilot_state"]
    assert kinds == [(e["kind"], e["detail"]) for e in ros["events"] if e["kind"] == "pilot_state"]


def test_a_wrong_field_exits_2_naming_file_and_field(tmp_path):
    data = yaml.safe_load(DEMO_SCENARIO.read_text())
    data["ego"]["speed_mps"] = "fast"
    data["map"] = str(DEMO_SCENARIO.parent / data["map"])
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    run = drive(bad, tmp_path / "out")
    assert run.returncode == 2
    assert f"{bad}: ego.speed_mps: expected a finite number" in run.stderr


def test_a_failed_expectation_exits_1(tmp_path):
    data = yaml.safe_load(DEMO_SCENARIO.read_text())
    data["map"] = str(DEMO_SCENARIO.parent / data["map"])
    data["duration_s"] = 10
    data["expectations"] = {"route_completion": {"min": 0.99}}  # 10 s cannot cover the route
    path = tmp_path / "short.yaml"
    path.write_text(yaml.safe_dump(data))
    run = drive(path, tmp_path / "out")
    assert run.returncode == 1, run.stdout + run.stderr
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["passed"] is False
    assert result["expectations"][0]["name"] == "route_completion" and not result["expectations"][0]["passed"]
