"""Fuzz and property tests: hypothesis profiles ("ci": few examples, the default; "bench": many)."""

import os

from hypothesis import settings

import tests.fuzz.targets  # noqa: F401 - registers the profiles

settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
