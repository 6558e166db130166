"""ProPilot: an open highway route pilot on ROS 2."""

__version__ = "0.1.0"
