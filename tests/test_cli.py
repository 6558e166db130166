"""The installed `propilot` command works without sourcing anything, and documents itself."""

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO

PROPILOT = Path(sys.executable).parent / "propilot"
# What a user's fresh shell does not have (the last one is set by the ROS wheels' start-up hook).
ROS_VARIABLES = ("AMENT_PREFIX_PATH", "PYTHONPATH", "LD_LIBRARY_PATH", "COLCON_PREFIX_PATH", "CMAKE_PREFIX_PATH",
                 "_ROS_WHEELS_BOOTSTRAP_COMPLETE")


def test_console_script_runs_with_no_ros_environment_set():
    env = {k: v for k, v in os.environ.items() if k not in ROS_VARIABLES}
    run = subprocess.run([str(PROPILOT), "params", "control"], capture_output=True, text=True, env=env,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert "`supervisor.*`" in run.stdout and "max_lat_accel_mps2" in run.stdout


def test_drive_help_names_the_exit_codes():
    run = subprocess.run([str(PROPILOT), "drive", "--help"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0
    assert "2 on invalid input" in run.stdout and "--mode" in run.stdout


def test_parameter_reference_is_up_to_date():
    run = subprocess.run([str(PROPILOT), "params"], capture_output=True, text=True, timeout=120)
    reference = (REPO / "docs" / "parameters.md").read_text()
    assert run.stdout.strip() in reference, "docs/parameters.md is stale: run `make docs`"
