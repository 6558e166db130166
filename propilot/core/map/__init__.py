"""Lanelet2 HD map: loading with validation, lane matching, lane geometry."""
