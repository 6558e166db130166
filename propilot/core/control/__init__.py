"""Longitudinal and lateral control, and the independent command supervisor."""
