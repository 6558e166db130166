"""Scenario files: the demo loads; every kind of mistake is refused naming file, field and reason."""

from pathlib import Path

import pytest
import yaml

from propilot.core.settings import ConfigError
from propilot.sim.scenario import load_scenario
from tests.conftest import DEMO_SCENARIO


def write_variant(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(DEMO_SCENARIO.read_text())
    change(data)
    data["map"] = str(DEMO_SCENARIO.parent / data["map"])
    path = tmp_path / "variant.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_demo_scenario_loads():
    scenario = load_scenario(DEMO_SCENARIO)
    assert scenario.duration_s == 60
    assert scenario.map_path.is_file()
    assert scenario.vehicles[0].vehicle_id == "slow_lead"


@pytest.mark.parametrize("change, field, reason", [
    (lambda d: d["ego"].update(speed_mps="fast"), "ego.speed_mps", "expected a finite number"),
    (lambda d: d["ego"].pop("lane"), "ego.lane", "missing"),
    (lambda d: d.update(duration="60"), "duration", "unknown field"),
    (lambda d: d["traffic"]["vehicles"][0].update(speed_mps=-3), "traffic.vehicles[0].speed_mps", "below the minimum"),
    (lambda d: d["expectations"].update(happiness={"min": 1}), "expectations.happiness", "unknown metric"),
    (lambda d: d["route"].update(destination_station_m=10), "route.destination_station_m", "ahead of"),
    (lambda d: d.update(map="nowhere/map.yaml"), "map", "no such file"),
    (lambda d: d["driver"].update(eyes_on_road="yes"), "driver.eyes_on_road", "expected true or false"),
])
def test_wrong_field_is_named_with_the_reason(tmp_path, change, field, reason):
    path = write_variant(tmp_path, change)
    with pytest.raises(ConfigError) as err:
        load_scenario(path)
    assert err.value.field_name == field
    assert reason in err.value.reason
    assert str(path) in str(err.value)


def test_file_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("ego: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenario(path)


def test_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="cannot read"):
        load_scenario(tmp_path / "absent.yaml")
