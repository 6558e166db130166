"""Make the ROS 2 environment usable from a plain venv, without sourcing anything.

In: the process environment. Out: AMENT_PREFIX_PATH, the propilot_msgs Python path
and its shared libraries set up so `import rclpy` and `import propilot_msgs` work,
and DDS discovery confined to this machine unless the user chose otherwise.
On a colcon workspace that is already sourced this finds propilot_msgs and does
nothing else.
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# Where `make setup` installs the interface package (override for other layouts).
MSGS_PREFIX = Path(os.environ.get("PROPILOT_MSGS_PREFIX", REPO_ROOT / "install"))
# Load order matters: each library needs the ones before it.
_MSGS_LIBRARIES = (
    "rosidl_generator_c",
    "rosidl_typesupport_c",
    "rosidl_typesupport_introspection_c",
    "rosidl_typesupport_fastrtps_c",
    "rosidl_generator_py",
)
_done = False


def _prepend_path(name: str, value: str) -> None:
    parts = [p for p in os.environ.get(name, "").split(os.pathsep) if p]
    if value not in parts:
        os.environ[name] = os.pathsep.join([value, *parts])


def setup_ros_environment() -> None:
    """Idempotent; call before importing rclpy or propilot_msgs."""
    global _done
    if _done:
        return
    _done = True
    # Never send DDS discovery off this machine unless asked to.
    os.environ.setdefault("ROS_AUTOMATIC_DISCOVERY_RANGE", "LOCALHOST")
    _prepend_path("AMENT_PREFIX_PATH", sys.prefix)
    site = MSGS_PREFIX / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    if not site.is_dir():
        return  # a sourced ROS 2 workspace provides propilot_msgs
    _prepend_path("AMENT_PREFIX_PATH", str(MSGS_PREFIX))
    _prepend_path("LD_LIBRARY_PATH", str(MSGS_PREFIX / "lib"))  # for child processes
    if str(site) not in sys.path:
        sys.path.insert(0, str(site))
    # LD_LIBRARY_PATH is read only at process start; preload the libraries instead.
    for name in _MSGS_LIBRARIES:
        library = MSGS_PREFIX / "lib" / f"libpropilot_msgs__{name}.so"
        if library.exists():
            ctypes.CDLL(str(library), mode=ctypes.RTLD_GLOBAL)
