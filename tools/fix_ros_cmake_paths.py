"""Point the ROS 2 wheels' CMake export files at this venv.

In: a venv with the ROS 2 wheels from PyPI. Out: the same venv, where
`$VIRTUAL_ENV/share/**/*.cmake` names the venv's Python include dir and numpy
include dir instead of the paths of the container the wheels were built in.
Idempotent: a second run finds nothing to rewrite.
"""

import sys
import sysconfig
from pathlib import Path

import numpy

BUILD_CONTAINER_PYTHON = "/opt/python/cp311-cp311/include/python3.11"
BUILD_CONTAINER_NUMPY = "/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"


def main() -> int:
    venv = Path(sys.prefix)
    replacements = {
        BUILD_CONTAINER_NUMPY: numpy.get_include(),
        BUILD_CONTAINER_PYTHON: sysconfig.get_paths()["include"],
    }
    changed = 0
    for path in (venv / "share").rglob("*.cmake"):
        text = path.read_text()
        new = text
        for old, real in replacements.items():
            new = new.replace(old, real)
        if new != text:
            path.write_text(new)
            changed += 1
    print(f"fix_ros_cmake_paths: rewrote {changed} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
