"""Message and node faults of the scenario format: validated with the known names, and what reaches the stack."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from propilot.core.map.hdmap import load_map
from propilot.core.settings import ConfigError
from propilot.sim.ego_sensors import EgoSensors, camera_calibration
from propilot.sim.scenario import Fault, load_scenario
from propilot.sim.vehicle import EgoState
from tests.conftest import DEMO_SCENARIO


def _with_faults(tmp_path: Path, faults: list) -> Path:
    data = yaml.safe_load(DEMO_SCENARIO.read_text())
    data["map"] = str(DEMO_SCENARIO.parent / data["map"])
    data["faults"] = faults
    path = tmp_path / "faults.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("fault, known", [
    ({"kind": "node_crash", "target": "planner", "start_s": 1, "end_s": 2}, "behaviour"),
    ({"kind": "nan_messages", "target": "front", "start_s": 1, "end_s": 2}, "gnss, imu"),
    ({"kind": "stale_messages", "start_s": 1, "end_s": 2}, "gnss, imu"),
])
def test_wrong_fault_target_is_refused_with_the_known_names(tmp_path, fault, known):
    with pytest.raises(ConfigError) as err:
        load_scenario(_with_faults(tmp_path, [fault]))
    assert err.value.field_name == "faults[0].target"
    assert known in err.value.reason


def test_message_faults_load(tmp_path):
    scenario = load_scenario(_with_faults(tmp_path, [
        {"kind": "node_crash", "target": "behaviour", "start_s": 1, "end_s": 2},
        {"kind": "stale_messages", "target": "imu", "start_s": 3, "end_s": 4}]))
    assert scenario.faulty_sensors(1.5, "node_crash") == frozenset({"behaviour"})
    assert scenario.faulty_sensors(2.5, "node_crash") == frozenset()


def _sense(faults: tuple[Fault, ...], seconds: float) -> list:
    """Every step's sensing of an ego driving straight at 25 m/s for `seconds`."""
    scenario = dataclasses.replace(load_scenario(DEMO_SCENARIO), faults=faults)
    hdmap = load_map(scenario.map_path)
    sensors = EgoSensors(scenario, hdmap, camera_calibration(scenario), np.random.SeedSequence(1))
    sensors.camera.capture = lambda *args, **kwargs: []  # images are not what these tests look at
    steps = []
    for k in range(int(round(seconds / 0.05))):
        t = k * 0.05
        steps.append((t, sensors.sense(t, EgoState(200.0 + 25.0 * t, -5.25, 0.0, 25.0), [])))
    return steps


def test_nan_messages_keep_their_stamp_and_lose_every_value():
    steps = _sense((Fault("nan_messages", 1.0, 2.0, "gnss"), Fault("nan_messages", 1.5, 2.0, "imu")), 2.5)
    fixes = [(t, f) for t, s in steps for f in s.gnss]
    during = [f for t, f in fixes if 1.0 <= t < 2.0]
    assert during and all(math.isnan(f.latitude_deg) and math.isnan(f.sigma_m) for f in during)
    assert all(math.isfinite(f.t_s) for f in during)
    assert all(math.isfinite(f.latitude_deg) for t, f in fixes if t < 1.0 or t >= 2.0)
    imu = [(t, m) for t, s in steps for m in s.imu]
    assert all(math.isnan(m.yaw_rate_rps) for t, m in imu if 1.5 <= t < 2.0)
    assert all(math.isfinite(m.yaw_rate_rps) for t, m in imu if t < 1.5)


def test_stale_messages_repeat_the_last_one_stamp_and_all():
    steps = _sense((Fault("stale_messages", 1.0, 2.0, "gnss"),), 2.5)
    before = [f for t, s in steps if t < 1.0 for f in s.gnss]
    during = [f for t, s in steps if 1.0 <= t < 2.0 for f in s.gnss]
    after = [f for t, s in steps if t >= 2.0 for f in s.gnss]
    assert during and all(f == before[-1] for f in during)
    assert after[0].t_s >= 2.0 and after[0].latitude_deg != before[-1].latitude_deg
