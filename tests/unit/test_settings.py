"""Settings specs: bad values are refused with the field and the reason; docs come from the spec."""

import pytest

from propilot.core.control.supervisor import SupervisorSettings
from propilot.core.hmi.engagement import HmiSettings
from propilot.core.settings import ConfigError, from_mapping, markdown_table
from propilot.stack import StackSettings


def test_defaults_are_valid():
    StackSettings.defaults()


def test_value_above_regulatory_maximum_is_refused_with_field_and_reason():
    with pytest.raises(ConfigError) as err:
        from_mapping(SupervisorSettings, {"max_lat_accel_mps2": 4.0}, "control.yaml", prefix="supervisor.")
    assert err.value.field_name == "supervisor.max_lat_accel_mps2"
    assert "above the maximum 3.0" in str(err.value)
    assert str(err.value).startswith("control.yaml:")


def test_unknown_setting_is_refused():
    with pytest.raises(ConfigError, match="max_accel_mps: unknown setting"):
        from_mapping(SupervisorSettings, {"max_accel_mps": 1.0}, "x.yaml")


def test_wrong_type_is_refused():
    with pytest.raises(ConfigError, match="expected a number"):
        from_mapping(SupervisorSettings, {"max_accel_mps2": "fast"}, "x.yaml")


def test_time_gap_below_iso_15622_minimum_is_refused():
    with pytest.raises(ConfigError, match="time_gap_short_s: 0.5 s is below the minimum 0.8 s"):
        from_mapping(HmiSettings, {"time_gap_short_s": 0.5}, "hmi.yaml")


def test_cross_field_check_names_the_field():
    with pytest.raises(ConfigError, match="time_gap_medium_s: time gaps must be ordered"):
        from_mapping(HmiSettings, {"time_gap_medium_s": 2.5}, "hmi.yaml")


def test_node_file_with_unknown_group_is_refused():
    with pytest.raises(ConfigError, match="control: acceleration: unknown setting group"):
        StackSettings.from_nodes({"control": {"acceleration": {}}}, "scenario.yaml")


def test_parameter_table_lists_unit_and_source():
    table = markdown_table(SupervisorSettings)
    assert "| `max_lat_accel_mps2` | m/s^2 | float | 3.0 | [0.5, 3.0] |" in table
    assert "UN R79" in table
