"""Ego pose and lane-level position from GNSS, vehicle speed and yaw rate."""
