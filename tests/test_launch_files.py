"""The launch file is correct for a ROS 2 install, checked without the `launch` package.

Every node it starts is a console script of this package, and every parameter file it
names parses and holds exactly the parameters the node declares, with valid values.
"""

import ast
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import yaml

from propilot.stack import NODE_SETTINGS, StackSettings
from tests.conftest import REPO

LAUNCH_FILE = REPO / "launch" / "propilot.launch.py"
PARAMS_DIR = REPO / "launch" / "params"


def launch_nodes() -> dict:
    tree = ast.parse(LAUNCH_FILE.read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "NODES":
            return ast.literal_eval(node.value)
    raise AssertionError("launch file has no NODES table")


def console_scripts() -> set[str]:
    return {ep.name for ep in entry_points(group="console_scripts") if ep.value.startswith("propilot")}


def test_launch_file_compiles():
    compile(LAUNCH_FILE.read_text(), str(LAUNCH_FILE), "exec")


@pytest.mark.parametrize("name", list(launch_nodes()))
def test_every_launched_node_is_a_console_script(name):
    executable, _, _ = launch_nodes()[name]
    assert executable in console_scripts()


def test_simulator_bridge_is_a_console_script():
    assert "propilot_sim_bridge" in console_scripts()
    assert "propilot_sim_bridge" in LAUNCH_FILE.read_text()


@pytest.mark.parametrize("name", [n for n in launch_nodes() if n in NODE_SETTINGS])
def test_parameter_file_matches_the_declared_parameters(name):
    _, params_file, _ = launch_nodes()[name]
    data = yaml.safe_load((PARAMS_DIR / params_file).read_text())
    assert list(data) == [name], "one node per file, keyed by the node name"
    groups = data[name]["ros__parameters"]
    assert set(groups) == set(NODE_SETTINGS[name])
    for group, cls in NODE_SETTINGS[name].items():
        assert set(groups[group]) == set(cls.__dataclass_fields__), f"{params_file}: {group}"
    StackSettings.from_nodes({name: groups}, str(params_file))  # values valid


def test_parameter_files_say_where_each_limit_comes_from():
    text = (PARAMS_DIR / "control.param.yaml").read_text()
    line = next(line for line in text.splitlines() if "max_lat_accel_mps2" in line)
    assert "UN R79" in line and "m/s^2" in line


def test_recorder_parameter_file_names_its_output():
    data = yaml.safe_load((PARAMS_DIR / "recorder.param.yaml").read_text())
    assert Path(data["recorder"]["ros__parameters"]["output"]).suffix == ".mcap"
