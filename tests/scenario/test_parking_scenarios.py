"""Remote-parking scenarios end to end: every one passes in lockstep, a sample gives the same outcome
over DDS with the parking node as its own process, and a bad scenario file is named precisely."""

import json
import os
import subprocess
import sys

import pytest
import yaml

from propilot.sim.runner import run_scenario
from propilot.sim.scenario import load_scenario
from tests.conftest import REPO

SCENARIOS = sorted((REPO / "sim" / "scenarios").glob("parking_*.yaml"))
ROS_SAMPLE = ("parking_perpendicular_in", "parking_signal_lost")  # park-in and a fault
RESULT_KEYS = {"scenario", "purpose", "mode", "passed", "sim_time_s", "wall_time_s", "metrics", "expectations",
               "events"}


@pytest.fixture(scope="module")
def lockstep_results(tmp_path_factory):
    out = tmp_path_factory.mktemp("parking")
    return {path.stem: run_scenario(load_scenario(path), out / path.stem, "lockstep", progress=False)
            for path in SCENARIOS}


def test_the_catalogue_has_every_remote_parking_case():
    names = {p.stem for p in SCENARIOS}
    assert {"parking_perpendicular_in", "parking_perpendicular_out", "parking_parallel_in",
            "parking_pedestrian_behind", "parking_pole", "parking_fob_released", "parking_signal_lost",
            "parking_out_of_range", "parking_replayed_packet", "parking_forged_mac"} <= names


@pytest.mark.parametrize("name", [p.stem for p in SCENARIOS])
def test_each_parking_scenario_passes_without_motion_the_operator_did_not_command(lockstep_results, name):
    result = lockstep_results[name]
    assert RESULT_KEYS <= set(result)
    failed = [e for e in result["expectations"] if not e["passed"]]
    assert result["passed"], failed
    assert result["metrics"]["motion_without_valid_hold_s"] == 0.0
    assert result["metrics"]["collisions"] == 0


def test_the_car_stops_within_0_3_s_and_0_2_m_when_the_hold_lapses(lockstep_results):
    for name in ("parking_fob_released", "parking_signal_lost", "parking_out_of_range"):
        m = lockstep_results[name]["metrics"]
        assert 0.0 < m["max_stop_time_s"] <= 0.3 and 0.0 < m["max_stop_distance_m"] <= 0.2, name
        states = [e["detail"] for e in lockstep_results[name]["events"] if e["kind"] == "parking_state"]
        assert any(s.startswith("PAUSED") for s in states) and states[-1].startswith("COMPLETED"), (name, states)


def test_attacks_are_refused_with_their_reason_and_move_nothing(lockstep_results):
    for name, reason in (("parking_replayed_packet", "replayed"), ("parking_forged_mac", "forged_mac")):
        result = lockstep_results[name]
        refused = {e["detail"] for e in result["events"] if e["kind"] == "fob_rejected"}
        assert refused == {reason}, name
        attack = yaml.safe_load((REPO / "sim" / "scenarios" / f"{name}.yaml").read_text())["fob"]["attacks"][0]
        paused = [e for e in result["events"] if e["kind"] == "parking_state" and e["t_s"] <= attack["end_s"]]
        assert paused[-1]["detail"].startswith("PAUSED"), name  # still standing when the attack ends


def test_obstacles_are_caught_by_the_sonars(lockstep_results):
    pole, walker = lockstep_results["parking_pole"], lockstep_results["parking_pedestrian_behind"]
    assert pole["metrics"]["aborted"] == 1 and pole["metrics"]["min_clearance_m"] >= 0.3
    assert any(e["detail"] == "ABORTED: blocked_too_long" for e in pole["events"])
    assert walker["metrics"]["blocked_stops"] >= 1 and walker["metrics"]["completed"] == 1
    assert walker["metrics"]["min_clearance_m"] >= 0.3


@pytest.mark.ros
@pytest.mark.parametrize("name", ROS_SAMPLE)
def test_ros_mode_reaches_the_same_outcome_as_lockstep(lockstep_results, tmp_path, name):
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST",
               ROS_DOMAIN_ID=str(1 + (os.getpid() + 53 + ROS_SAMPLE.index(name)) % 100))
    run = subprocess.run([sys.executable, "-m", "propilot.cli", "drive", "--scenario",
                          str(REPO / "sim" / "scenarios" / f"{name}.yaml"), "--out", str(tmp_path), "--mode", "ros",
                          "--quiet"], capture_output=True, text=True, env=env, cwd=REPO, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    ros, lockstep = json.loads((tmp_path / "result.json").read_text()), lockstep_results[name]
    assert ros["mode"] == "ros" and ros["passed"]
    assert ros["metrics"] == lockstep["metrics"]
    assert ros["events"] == lockstep["events"]


def test_a_bad_parking_field_is_named_with_its_file(tmp_path):
    data = yaml.safe_load((REPO / "sim" / "scenarios" / "parking_perpendicular_in.yaml").read_text())
    data["map"] = str(REPO / "maps" / "parking" / "map.yaml")
    data["fob"]["attacks"] = [{"kind": "jamming", "start_s": 1.0, "end_s": 2.0}]
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    run = subprocess.run([sys.executable, "-m", "propilot.cli", "drive", "--scenario", str(bad), "--out",
                          str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert run.returncode == 2
    assert f"{bad}: fob.attacks[0].kind: unknown attack 'jamming'" in run.stderr


def test_the_hold_metric_catches_a_car_that_waits_too_long_to_stop(tmp_path):
    """The same lost signal with a hold timeout of 0.3 s: the car rolls on after the lapse, and the
    metric that the catalogue holds at 0 shows it."""
    data = yaml.safe_load((REPO / "sim" / "scenarios" / "parking_signal_lost.yaml").read_text())
    data["map"] = str(REPO / "maps" / "parking" / "map.yaml")
    data["settings"] = {"parking": {"hold": {"hold_timeout_s": 0.3}}}
    path = tmp_path / "slow_stop.yaml"
    path.write_text(yaml.safe_dump(data))
    result = run_scenario(load_scenario(path), tmp_path / "out", "lockstep", progress=False)
    assert result["metrics"]["motion_without_valid_hold_s"] > 0.0
    assert result["metrics"]["max_stop_time_s"] > 0.3
    assert not result["passed"]
