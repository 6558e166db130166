"""Test session set-up: ROS environment, DDS kept on this machine, a domain of our own."""

import os

# Before anything imports rclpy: localhost-only discovery and a domain id distinct per run.
os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from propilot.rosenv import setup_ros_environment  # noqa: E402

setup_ros_environment()

REPO = Path(__file__).resolve().parents[1]
HIGHWAY_MAP = REPO / "maps" / "highway_small" / "map.yaml"
DEMO_SCENARIO = REPO / "sim" / "scenarios" / "follow_slower_traffic.yaml"


@pytest.fixture(scope="session")
def hdmap():
    from propilot.core.map.hdmap import load_map

    return load_map(HIGHWAY_MAP)
