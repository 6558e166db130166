"""Sensor rig, multi-sensor object tracking and lane assignment (docs/fusion.md)."""
