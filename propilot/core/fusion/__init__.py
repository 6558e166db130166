"""Multi-sensor object tracking with lane assignment."""
