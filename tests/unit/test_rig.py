"""The sensor rig file: the car's 24 sensors load, and a wrong rig is refused naming file, field and reason."""

import math

import pytest
import yaml

from propilot.core.fusion.rig import load_rig, rig_from_mapping
from propilot.core.settings import ConfigError
from propilot.core.types import SensorKind
from propilot.core.vehicle import EGO
from tests.conftest import REPO

DEFAULT_RIG = REPO / "sim" / "rigs" / "default.yaml"


def test_the_default_rig_has_7_cameras_5_radars_and_12_sonars_on_the_car():
    rig = load_rig(DEFAULT_RIG)

    assert (rig.count(SensorKind.CAMERA), rig.count(SensorKind.RADAR), rig.count(SensorKind.SONAR)) == (7, 5, 12)
    for sensor in rig.sensors:  # every mount lies on the car's body (base_link = rear axle)
        assert -EGO.rear_overhang_m - 0.01 <= sensor.mount.x_m <= EGO.front_from_base_m + 0.01, sensor.sensor_id
        assert abs(sensor.mount.y_m) <= EGO.width_m / 2.0 + 0.1, sensor.sensor_id
    sonars = [s for s in rig.sensors if s.kind == SensorKind.SONAR]
    assert sum(s.mount.x_m > 0 for s in sonars) == 6  # 6 in the front bumper, 6 in the rear


def test_the_rear_is_covered_beyond_the_r79_rear_range():
    rig = load_rig(DEFAULT_RIG)
    # a car 80 m behind in either neighbouring lane (3.5 m to the side) is in view of a radar and a camera
    for y_m in (3.5, -3.5):
        seeing = {s.kind for s in rig.sensors if s.in_view(-80.0, y_m)}
        assert {SensorKind.RADAR, SensorKind.CAMERA} <= seeing


def test_in_view_checks_the_field_of_view_and_the_range():
    rig = load_rig(DEFAULT_RIG)
    front = rig.sensor("front")

    assert front.in_view(100.0, 0.0) and not front.in_view(250.0, 0.0)  # 200 m range
    assert not front.in_view(20.0, 10.0)  # 25 deg off the boresight, the beam is +-20 deg
    assert not front.in_view(-20.0, 0.0)
    assert front.half_fov_rad == pytest.approx(math.radians(20.0))


def base_rig() -> dict:
    return yaml.safe_load(DEFAULT_RIG.read_text())


def bad(path_in_rig, value):
    data = base_rig()
    node = data
    for key in path_in_rig[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path_in_rig[-1]]
    else:
        node[path_in_rig[-1]] = value
    return data


DELETE = object()


@pytest.mark.parametrize(("change", "field", "reason"), [
    ((["sensors", 0, "kind"], "lidar"), "sensors[0].kind", "expected one of camera, radar, sonar"),
    ((["sensors", 1, "id"], "front"), "sensors[1].id", "already used by sensors[0]"),
    ((["sensors", 0, "id"], "Front Radar"), "sensors[0].id", "lower-case letters"),
    ((["sensors", 0, "mount"], DELETE), "sensors[0].mount", "missing"),
    ((["sensors", 0, "mount", "yaw_deg"], 270), "sensors[0].mount.yaw_deg", "above the maximum"),
    ((["sensors", 0, "fov_deg"], 400), "sensors[0].fov_deg", "above the maximum"),
    ((["sensors", 0, "detection_probability"], 1.2), "sensors[0].detection_probability", "above the maximum"),
    ((["sensors", 0, "min_range_m"], 300), "sensors[0].min_range_m", "not below max_range_m"),
    ((["sensors", 0, "range_sigma_m"], "small"), "sensors[0].range_sigma_m", "expected a number"),
    ((["sensors", 0, "beam"], 3), "sensors[0].beam", "unknown field"),
    ((["sensors", 5, "range_rate_sigma_mps"], 0.1), "sensors[5].range_rate_sigma_mps", "unknown field"),  # camera
    ((["defaults", "lidar"], {}), "defaults.lidar", "unknown sensor kind"),
    ((["defaults", "sonar", "rate_hz"], 0), "defaults.sonar.rate_hz", "below the minimum"),
    ((["sensors"], []), "sensors", "non-empty list"),
])
def test_a_wrong_rig_is_refused_naming_the_field(tmp_path, change, field, reason):
    path = tmp_path / "rig.yaml"
    path.write_text(yaml.safe_dump(bad(*change)))

    with pytest.raises(ConfigError) as error:
        load_rig(path)

    assert error.value.origin == str(path)
    assert error.value.field_name == field
    assert reason in error.value.reason


def test_a_rig_that_is_not_yaml_is_refused(tmp_path):
    path = tmp_path / "rig.yaml"
    path.write_text("sensors: [id: front")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_rig(path)


def test_defaults_of_a_kind_apply_unless_the_sensor_sets_its_own():
    data = {"sensors": [{"id": "a", "kind": "sonar", "mount": {}}, {"id": "b", "kind": "sonar", "mount": {},
                                                                       "max_range_m": 5.0}],
            "defaults": {"sonar": {"max_range_m": 4.0}}}
    rig = rig_from_mapping(data, "inline")
    assert [s.spec.max_range_m for s in rig.sensors] == [4.0, 5.0]
