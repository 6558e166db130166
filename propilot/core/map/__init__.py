"""Lanelet2 HD map: loading with validation, lane matching, lane geometry (hdmap.py, checks.py),
lane-level routes with lane-change windows and events (route.py), route-drive zones (zones.py)."""
