"""Inputs the fuzzing found crashing a loader, now refused with file, field and reason.

Each was a crash (TypeError, OverflowError or a segmentation fault in Lanelet2) before.
"""

import pytest
import yaml

from propilot.core.fusion.rig import load_rig
from propilot.core.map.hdmap import MapError, load_map
from propilot.core.settings import ConfigError
from propilot.sim.scenario import load_scenario
from tests.fuzz.targets import _MAP_FOR_OSM, _MAP_YAMLS, _OSM_PATH, _RIGS, _SCENARIOS, load_param_file


def write(tmp_path, name, doc):
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc))
    return path


def test_a_lanelet_whose_boundary_reference_is_broken_is_refused_not_a_crash(tmp_path):
    """Lanelet2 keeps such a lanelet with an empty boundary, and its routing graph then segfaults."""
    osm = _OSM_PATH.read_text().replace('<member type="way" ref="1001000" role="left" />',
                                        '<member type="" ref="1001000" role="left" />', 1)
    osm_path = write(tmp_path, "broken.osm", osm)
    with pytest.raises(MapError) as info:
        load_map(write(tmp_path, "map.yaml", {**_MAP_FOR_OSM, "lanelet2": str(osm_path)}))
    assert any(p.element_id == 1001018 and "left boundary" in p.reason for p in info.value.problems)


def test_a_point_of_interest_named_by_a_mapping_is_refused(tmp_path):
    doc = {**_MAP_YAMLS[1], "points_of_interest": [{"name": {"a": 1}, "lanelet_id": 1, "x_m": 0, "y_m": 0}]}
    with pytest.raises(MapError) as info:
        load_map(write(tmp_path, "map.yaml", doc))
    assert "points_of_interest[0]" in str(info.value)


def test_keys_of_mixed_types_in_a_rig_are_refused_naming_the_key(tmp_path):
    doc = {**_RIGS[0], 1: "x"}
    with pytest.raises(ConfigError) as info:
        load_rig(write(tmp_path, "rig.yaml", doc))
    assert info.value.field_name == "1" and "unknown field" in info.value.reason


def test_a_sensor_kind_that_is_a_mapping_is_refused(tmp_path):
    doc = {**_RIGS[0], "sensors": [{**_RIGS[0]["sensors"][0], "kind": {"radar": 1}}]}
    with pytest.raises(ConfigError) as info:
        load_rig(write(tmp_path, "rig.yaml", doc))
    assert info.value.field_name == "sensors[0].kind"


def test_an_integer_too_large_for_a_float_is_refused(tmp_path):
    doc = {"control": {"ros__parameters": {"supervisor": {"max_jerk_mps3": 10**400}}}}
    with pytest.raises(ConfigError) as info:
        load_param_file(write(tmp_path, "control.param.yaml", yaml.safe_dump(doc)))
    assert info.value.field_name == "supervisor.max_jerk_mps3" and "too large" in info.value.reason
    scenario = {**_SCENARIOS[0], "duration_s": 10**400}
    with pytest.raises(ConfigError) as info:
        load_scenario(write(tmp_path, "scenario.yaml", scenario))
    assert info.value.field_name == "duration_s"


def test_a_setting_group_that_is_a_list_is_refused(tmp_path):
    doc = {"control": {"ros__parameters": {"supervisor": [["max_jerk_mps3", 1.0]]}}}
    with pytest.raises(ConfigError) as info:
        load_param_file(write(tmp_path, "control.param.yaml", doc))
    assert info.value.field_name == "supervisor" and "mapping" in info.value.reason


def test_an_empty_key_is_named_visibly(tmp_path):
    doc = {"control": {"ros__parameters": {"": {}}}}
    with pytest.raises(ConfigError) as info:
        load_param_file(write(tmp_path, "control.param.yaml", doc))
    assert info.value.field_name == "''"


def test_a_brake_time_that_is_not_finite_is_refused(tmp_path):
    scenario = {**_SCENARIOS[0], "driver": {**_SCENARIOS[0]["driver"], "brake_at_s": [float("nan")]}}
    with pytest.raises(ConfigError) as info:
        load_scenario(write(tmp_path, "scenario.yaml", scenario))
    assert info.value.field_name == "driver.brake_at_s[0]"
